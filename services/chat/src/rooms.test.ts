import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Bus } from '@ap/bus';
import { AppError, isAppError } from '@ap/protocol';
import type { Caller } from '@ap/protocol';
import type { Collection } from 'mongodb';
import { createRoomDirectory, isMember, roomView, supportRoom as fromDocument } from './rooms.ts';
import type { RoomMembers, SupportRoomDoc } from './rooms.ts';

const assessmentRoom: RoomMembers = { kind: 'assessment', room_id: 'asm_a1', assessment_id: 'a1', candidate_id: 'c1', test_id: 'tx' };
const supportRoom = (tests?: string[]): RoomMembers => ({
  kind: 'support',
  room_id: 'sup_1',
  members: ['r1', 'c1'],
  topic: 'Support',
  opened_by: 'r1',
  created_at: new Date(0),
  ...(tests === undefined ? {} : { tests }),
});
const candidate = (tests?: string[], id = 'c1'): Caller =>
  tests === undefined ? { user_id: id, role: 'candidate' } : { user_id: id, role: 'candidate', tests };

describe('room membership follows the token', () => {
  test('an assessment room: its candidate with a token for its test, and staff who may see the test', () => {
    assert.equal(isMember(candidate(['tx']), assessmentRoom), true);
    assert.equal(isMember(candidate(['ty', 'tx']), assessmentRoom), true);
    // The same person with a token for another test, or a token without tests, is not a member.
    assert.equal(isMember(candidate(['ty']), assessmentRoom), false);
    assert.equal(isMember(candidate([]), assessmentRoom), false);
    assert.equal(isMember(candidate(), assessmentRoom), false);
    assert.equal(isMember(candidate(['tx'], 'c2'), assessmentRoom), false);
    assert.equal(isMember({ user_id: 'p1', role: 'proctor', tests: ['tx'] }, assessmentRoom), true);
    assert.equal(isMember({ user_id: 'p1', role: 'proctor', tests: ['ty'] }, assessmentRoom), false);
    assert.equal(isMember({ user_id: 'adm', role: 'admin' }, assessmentRoom), true);
  });

  test("a support room: its members (the candidate with a token for one of the room's tests) and admins", () => {
    const room = supportRoom(['tx']);
    assert.equal(isMember(candidate(['tx']), room), true);
    assert.equal(isMember(candidate(['ty']), room), false);
    assert.equal(isMember(candidate(), room), false);
    assert.equal(isMember({ user_id: 'r1', role: 'recruiter', tests: ['tx'] }, room), true);
    assert.equal(isMember({ user_id: 'r2', role: 'recruiter', tests: ['tx'] }, room), false);
    assert.equal(isMember({ user_id: 'adm', role: 'admin' }, room), true);
    // Rooms stored before tests were recorded, or with none recorded, keep their members.
    assert.equal(isMember(candidate(['ty']), supportRoom()), true);
    assert.equal(isMember(candidate(['ty']), supportRoom([])), true);
    assert.equal(isMember(candidate(['ty'], 'c2'), supportRoom()), false);
    // Staff among the members take part whatever their tests.
    assert.equal(isMember({ user_id: 'r1', role: 'recruiter', tests: ['ty'] }, room), true);
  });
});

describe('rooms as members see them', () => {
  test('an assessment room shows its id and kind only; a support room its members, topic, opener and creation time', () => {
    assert.deepEqual(roomView(assessmentRoom), { room_id: 'asm_a1', kind: 'assessment' });
    assert.deepEqual(roomView(supportRoom(['tx'])), {
      room_id: 'sup_1',
      kind: 'support',
      members: ['r1', 'c1'],
      topic: 'Support',
      opened_by: 'r1',
      created_at: '1970-01-01T00:00:00.000Z',
    });
  });

  test('a stored support room keeps its tests, and has none when none were stored', () => {
    const doc: SupportRoomDoc = {
      _id: 'sup_9',
      members: ['r1', 'c1'],
      topic: 'T',
      opened_by: 'r1',
      created_at: new Date(5),
      tests: ['tx'],
    };
    assert.deepEqual(fromDocument(doc), {
      kind: 'support',
      room_id: 'sup_9',
      members: ['r1', 'c1'],
      topic: 'T',
      opened_by: 'r1',
      created_at: new Date(5),
      tests: ['tx'],
    });
    const { tests: _, ...without } = doc;
    assert.equal('tests' in fromDocument(without), false);
  });
});

/**
 * A room directory over a stand-in assessment service (answers `assessmentDescribe` from
 * `assessments`, counting the calls and keeping their options) and a stand-in support room
 * collection, with a clock the test moves.
 */
function directory(options: { cacheTtlMs?: number; maxCachedRooms?: number } = {}) {
  const assessments: Record<string, { candidate_id: string; test_id: string }> = {
    a1: { candidate_id: 'c1', test_id: 'tx' },
    a2: { candidate_id: 'c2', test_id: 'tx' },
    a3: { candidate_id: 'c3', test_id: 'tx' },
  };
  const described: { assessment_id: string; user_id: string; options: unknown }[] = [];
  const supportReads: string[] = [];
  // While held, describe requests wait here until released.
  let held: (() => void)[] | undefined;
  const bus = {
    async request(name: string, req: { caller: Caller; assessment_id: string }, opts: unknown) {
      assert.equal(name, 'assessmentDescribe');
      described.push({ assessment_id: req.assessment_id, user_id: req.caller.user_id, options: opts });
      const waiting = held;
      if (waiting === undefined) await Promise.resolve();
      else await new Promise<void>((r) => waiting.push(r));
      const found = assessments[req.assessment_id];
      if (found === undefined) throw new AppError('NOT_FOUND', `no assessment ${req.assessment_id}`);
      return { assessment_id: req.assessment_id, ...found, status: 'in_progress' };
    },
  } as unknown as Bus;
  const rooms = new Map<string, SupportRoomDoc>([
    ['sup_1', { _id: 'sup_1', members: ['r1', 'c1'], topic: 'Help', opened_by: 'r1', created_at: new Date(0), tests: ['tx'] }],
  ]);
  const supportRooms = {
    findOne: (filter: { _id: string }) => {
      supportReads.push(filter._id);
      return Promise.resolve(rooms.get(filter._id) ?? null);
    },
  } as unknown as Collection<SupportRoomDoc>;
  let nowMs = 1_000_000;
  const dir = createRoomDirectory({ bus, clock: () => new Date(nowMs), supportRooms, ...options });
  return {
    dir,
    described,
    supportReads,
    advance: (ms: number) => void (nowMs += ms),
    /** Holds describe requests until `release()`. */
    hold: () => void (held = []),
    release: () => {
      const waiting = held ?? [];
      held = undefined;
      for (const r of waiting) r();
    },
  };
}

const proctorX: Caller = { user_id: 'p1', role: 'proctor', tests: ['tx'] };

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    assert.ok(isAppError(err), String(err));
    return { code: err.code, message: err.message };
  }
  assert.fail('the room was authorized');
}

describe('the room directory', () => {
  test("asks the assessment service for an assessment room's candidate and test, with the request id when there is one", async () => {
    const d = directory();
    assert.deepEqual(await d.dir.authorize(candidate(['tx']), 'asm_a1', { requestId: 'req-1' }), assessmentRoom);
    assert.deepEqual(d.described, [{ assessment_id: 'a1', user_id: 'c1', options: { requestId: 'req-1' } }]);
    d.advance(10 * 60_000);
    await d.dir.authorize(proctorX, 'asm_a1');
    assert.deepEqual(d.described[1], { assessment_id: 'a1', user_id: 'p1', options: {} });
  });

  test('refuses a caller who is not a member, and rooms that do not exist', async () => {
    const d = directory();
    assert.deepEqual(await refusal(d.dir.authorize(candidate(['tx'], 'c2'), 'asm_a1')), {
      code: 'FORBIDDEN',
      message: 'not a member of room asm_a1',
    });
    for (const room of ['lobby', 'asm_', 'sup_none'])
      assert.deepEqual(await refusal(d.dir.authorize(proctorX, room)), { code: 'NOT_FOUND', message: `no room ${room}` }, room);
    assert.equal((await refusal(d.dir.authorize(proctorX, 'asm_a9'))).code, 'NOT_FOUND');
    // Neither the room without an assessment id nor another kind of room was asked about.
    assert.deepEqual(
      d.described.map((c) => c.assessment_id),
      ['a1', 'a9'],
    );
  });

  test('keeps a room for five minutes by default, then asks again', async () => {
    const d = directory();
    await d.dir.authorize(proctorX, 'asm_a1');
    d.advance(5 * 60_000 - 1);
    await d.dir.authorize(proctorX, 'asm_a1');
    assert.equal(d.described.length, 1);
    d.advance(1);
    await d.dir.authorize(proctorX, 'asm_a1');
    assert.equal(d.described.length, 2);
    await d.dir.authorize(proctorX, 'asm_a1');
    assert.equal(d.described.length, 2);
  });

  test('keeps a room for the time it is given; an answer that failed is not kept', async () => {
    const d = directory({ cacheTtlMs: 1000 });
    await d.dir.authorize(proctorX, 'asm_a1');
    d.advance(999);
    await d.dir.authorize(proctorX, 'asm_a1');
    assert.equal(d.described.length, 1);
    d.advance(1);
    await d.dir.authorize(proctorX, 'asm_a1');
    assert.equal(d.described.length, 2);
    for (let i = 0; i < 2; i++) await refusal(d.dir.authorize(proctorX, 'asm_a9'));
    assert.equal(d.described.filter((c) => c.assessment_id === 'a9').length, 2);
  });

  test('keeps at most the rooms it is allowed, forgetting the oldest first', async () => {
    const d = directory({ maxCachedRooms: 2 });
    for (const room of ['asm_a1', 'asm_a2', 'asm_a3']) await d.dir.authorize(proctorX, room);
    assert.equal(d.described.length, 3);
    for (const room of ['asm_a2', 'asm_a3']) await d.dir.authorize(proctorX, room);
    assert.equal(d.described.length, 3, 'the two newest are kept');
    await d.dir.authorize(proctorX, 'asm_a1');
    assert.deepEqual(d.described.at(-1)?.assessment_id, 'a1', 'the oldest was forgotten');
  });

  test('asks once for requests of one room and caller that arrive together, and once per caller', async () => {
    const d = directory();
    d.hold();
    const together = [
      d.dir.authorize(proctorX, 'asm_a1'),
      d.dir.authorize(proctorX, 'asm_a1'),
      d.dir.authorize({ user_id: 'p2', role: 'proctor' }, 'asm_a1'),
    ];
    await new Promise((r) => setImmediate(r));
    d.release();
    assert.deepEqual(
      (await Promise.all(together)).map((r) => r.room_id),
      ['asm_a1', 'asm_a1', 'asm_a1'],
    );
    assert.deepEqual(
      d.described.map((c) => c.user_id),
      ['p1', 'p2'],
    );
  });

  test('reads a support room from the database, keeps it, and reads it again once it expired', async () => {
    const d = directory({ cacheTtlMs: 1000 });
    const room = await d.dir.authorize(candidate(['tx']), 'sup_1');
    assert.equal(room.kind, 'support');
    assert.deepEqual([room.members, room.tests], [['r1', 'c1'], ['tx']]);
    assert.equal((await refusal(d.dir.authorize(candidate(['ty']), 'sup_1'))).code, 'FORBIDDEN');
    assert.deepEqual(d.supportReads, ['sup_1']);
    d.advance(1000);
    await d.dir.authorize({ user_id: 'r1', role: 'recruiter' }, 'sup_1');
    assert.deepEqual(d.supportReads, ['sup_1', 'sup_1']);
    assert.deepEqual(d.described, [], 'the assessment service is not asked about support rooms');
  });
});
