import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Bus } from '@ap/bus';
import type { Database } from '@ap/db';
import { createLogger } from '@ap/logging';
import { AppError, MAX_CHAT_CHARS, assessmentRoomId } from '@ap/protocol';
import type { Caller, ChatMessage } from '@ap/protocol';
import { CHAT_MESSAGES } from './messages.ts';
import { createChatService } from './index.ts';
import type { ChatMessageDocument } from './messages.ts';
import type { ChatService } from './index.ts';
import { startChatPeers } from './peers.fixture.test.ts';

// Assessments the stand-in assessment service knows: id -> candidate and test.
const ASSESSMENTS: Record<string, { candidate_id: string; test_id: string }> = {
  a1: { candidate_id: 'cand1', test_id: 't1' },
  a2: { candidate_id: 'cand2', test_id: 't1' },
  a3: { candidate_id: 'cand3', test_id: 't2' },
  a4: { candidate_id: 'cand4', test_id: 't2' },
  a5: { candidate_id: 'cand5', test_id: 't3' },
};

// A candidate's token is for the test of its assessment unless a test says otherwise.
const candidate = (
  id: string,
  tests = Object.values(ASSESSMENTS)
    .filter((a) => a.candidate_id === id)
    .map((a) => a.test_id),
): Caller => ({
  user_id: id,
  role: 'candidate',
  tests,
});
const proctor = (id: string, tests?: string[]): Caller =>
  tests === undefined ? { user_id: id, role: 'proctor' } : { user_id: id, role: 'proctor', tests };

describe('chat service on a real bus and database', () => {
  const log = createLogger({ service: 'chat-test', level: 'silent' });
  let nowMs = Date.parse('2025-06-01T12:00:00Z');
  const clock = () => new Date(nowMs);
  const describeCalls: string[] = [];
  let database: Database;
  let serviceBus: Bus;
  let peerBus: Bus; // plays the gateway; another connection plays the assessment service
  let chat: ChatService;

  // What `before` set up, undone newest first by `after`: a `before` that failed halfway still releases what it made.
  const teardown: Array<() => Promise<unknown>> = [];

  const messages = () => database.db.collection<ChatMessageDocument>(CHAT_MESSAGES);

  before(async () => {
    // Each side connects as the NATS user it plays, with that user's permissions.
    let assessmentBus: Bus;
    ({ database, serviceBus, peerBus, assessmentBus } = await startChatPeers(`chat_test_${process.pid}`, log, teardown));
    assessmentBus.serve('assessmentDescribe', 'assessment', (req) => {
      describeCalls.push(req.assessment_id);
      const found = ASSESSMENTS[req.assessment_id];
      if (found === undefined) throw new AppError('NOT_FOUND', `no assessment ${req.assessment_id}`);
      return { assessment_id: req.assessment_id, ...found, status: 'in_progress' };
    });
    chat = createChatService({ bus: serviceBus, db: database.db, log, clock });
    teardown.push(() => chat.close());
    await chat.start();
  });

  after(async () => {
    for (const undo of teardown.reverse()) await undo();
  });

  test('a member posts: the message is stored, published on the room subject and returned', async () => {
    const room = assessmentRoomId('a1');
    const received = new Promise<ChatMessage>((resolve) => {
      const sub = peerBus.subscribe('chatRoom', room, (m) => {
        sub.unsubscribe();
        resolve(m);
      });
    });
    await peerBus.nc.flush();
    const reply = await peerBus.request('chatPost', {
      caller: candidate('cand1'),
      room_id: room,
      message: 'I need help <b>now</b> & then',
    });
    assert.equal(reply.room_id, room);
    assert.equal(reply.sender_id, 'cand1');
    assert.equal(reply.sender_role, 'candidate');
    assert.equal(reply.text, 'I need help <b>now</b> & then', 'stored as plain text, not escaped');
    assert.equal(reply.created_at, new Date(nowMs).toISOString());
    assert.deepEqual(await received, reply);

    const doc = await messages().findOne({ _id: reply.message_id });
    assert.ok(doc);
    assert.equal(doc.room_id, room);
    assert.equal(doc.text, reply.text);
    assert.ok(doc.created_at instanceof Date);

    const indexes = await messages().indexes();
    assert.ok(indexes.some((i) => JSON.stringify(i.key) === JSON.stringify({ room_id: 1, _id: -1 })));
  });

  test('staff whose tests include the assessment test, or who have no restriction, are members', async () => {
    const room = assessmentRoomId('a2');
    const assigned = await peerBus.request('chatPost', { caller: proctor('p-assigned', ['t1']), room_id: room, message: 'hello' });
    assert.equal(assigned.sender_role, 'proctor');
    const admin = await peerBus.request('chatPost', { caller: { user_id: 'adm', role: 'admin' }, room_id: room, message: 'hi' });
    assert.equal(admin.sender_role, 'admin');
  });

  test('non-members get FORBIDDEN and nothing is stored', async () => {
    const room = assessmentRoomId('a2');
    const before = await messages().countDocuments({ room_id: room });
    await assert.rejects(peerBus.request('chatPost', { caller: candidate('cand1'), room_id: room, message: 'not mine' }), {
      code: 'FORBIDDEN',
    });
    await assert.rejects(peerBus.request('chatPost', { caller: proctor('p-other', ['t2']), room_id: room, message: 'x' }), {
      code: 'FORBIDDEN',
    });
    await assert.rejects(peerBus.request('chatHistory', { caller: candidate('cand1'), room_id: room }), { code: 'FORBIDDEN' });
    assert.equal(await messages().countDocuments({ room_id: room }), before);
    assert.equal(await messages().countDocuments({ sender_id: { $in: ['cand1', 'p-other'] }, room_id: room }), 0);
  });

  test("a candidate's token for another test reads and posts nothing in the room of its own assessment", async () => {
    const room = assessmentRoomId('a1');
    const before = await messages().countDocuments({ room_id: room });
    for (const tests of [['t2'], [], undefined]) {
      const caller: Caller = tests === undefined ? { user_id: 'cand1', role: 'candidate' } : candidate('cand1', tests);
      await assert.rejects(
        peerBus.request('chatPost', { caller, room_id: room, message: 'as someone else' }),
        { code: 'FORBIDDEN' },
        JSON.stringify(tests),
      );
      await assert.rejects(peerBus.request('chatHistory', { caller, room_id: room }), { code: 'FORBIDDEN' }, JSON.stringify(tests));
    }
    assert.equal(await messages().countDocuments({ room_id: room }), before);
    // The same person with a token for the assessment's test still takes part.
    await peerBus.request('chatHistory', { caller: candidate('cand1', ['t2', 't1']), room_id: room });
  });

  test('unknown assessments and other rooms are NOT_FOUND', async () => {
    await assert.rejects(peerBus.request('chatPost', { caller: proctor('p-any'), room_id: assessmentRoomId('nope'), message: 'x' }), {
      code: 'NOT_FOUND',
    });
    await assert.rejects(peerBus.request('chatPost', { caller: proctor('p-any'), room_id: 'lobby', message: 'x' }), { code: 'NOT_FOUND' });
    await assert.rejects(peerBus.request('chatHistory', { caller: proctor('p-any'), room_id: 'lobby' }), { code: 'NOT_FOUND' });
    assert.equal(await messages().countDocuments({ sender_id: 'p-any' }), 0);
  });

  test('control characters are stripped before storing; an empty result is VALIDATION_FAILED', async () => {
    const room = assessmentRoomId('a3');
    const reply = await peerBus.request('chatPost', {
      caller: candidate('cand3'),
      room_id: room,
      message: '\u0000 line\u0007 one\r\n\tline\u001b two \u0008',
    });
    assert.equal(reply.text, 'line one\n\tline two');
    assert.equal((await messages().findOne({ _id: reply.message_id }))?.text, 'line one\n\tline two');
    await assert.rejects(peerBus.request('chatPost', { caller: candidate('cand3'), room_id: room, message: '\u0000\u0007 \r\n' }), {
      code: 'VALIDATION_FAILED',
    });
  });

  test(`a message longer than ${MAX_CHAT_CHARS} characters is VALIDATION_FAILED and not stored`, async () => {
    nowMs += 10_000; // refill cand3's bucket
    const room = assessmentRoomId('a3');
    const before = await messages().countDocuments({ room_id: room });
    await assert.rejects(
      peerBus.request('chatPost', { caller: candidate('cand3'), room_id: room, message: 'y'.repeat(MAX_CHAT_CHARS + 1) }),
      {
        code: 'VALIDATION_FAILED',
      },
    );
    assert.equal(await messages().countDocuments({ room_id: room }), before);
    const longest = await peerBus.request('chatPost', { caller: candidate('cand3'), room_id: room, message: 'y'.repeat(MAX_CHAT_CHARS) });
    assert.equal(longest.text.length, MAX_CHAT_CHARS);
  });

  test('a user who sends faster than the limit gets RATE_LIMITED until tokens refill', async () => {
    const room = assessmentRoomId('a4');
    const caller = candidate('cand4');
    for (let i = 0; i < 5; i++) await peerBus.request('chatPost', { caller, room_id: room, message: `burst ${i}` });
    await assert.rejects(peerBus.request('chatPost', { caller, room_id: room, message: 'too fast' }), (err: unknown) => {
      assert.ok(err instanceof AppError);
      assert.equal(err.code, 'RATE_LIMITED');
      assert.equal(err.details?.['retry_after_ms'], 1000);
      return true;
    });
    // Another user in the same room is not limited by cand4's bucket.
    await peerBus.request('chatPost', { caller: proctor('p-rate'), room_id: room, message: 'still fine' });
    nowMs += 1000;
    await peerBus.request('chatPost', { caller, room_id: room, message: 'after a second' });
    await assert.rejects(peerBus.request('chatPost', { caller, room_id: room, message: 'again too fast' }), { code: 'RATE_LIMITED' });
    assert.equal(await messages().countDocuments({ room_id: room, sender_id: 'cand4' }), 6);
  });

  test('history is newest first and pages with a cursor', async () => {
    const room = assessmentRoomId('a5');
    const caller = candidate('cand5');
    const posted: string[] = [];
    for (let i = 0; i < 7; i++) {
      nowMs += 1000;
      posted.push((await peerBus.request('chatPost', { caller, room_id: room, message: `m${i}` })).message_id);
    }
    const newestFirst = [...posted].reverse();

    const first = await peerBus.request('chatHistory', { caller, room_id: room, limit: 3 });
    assert.deepEqual(
      first.messages.map((m) => m.text),
      ['m6', 'm5', 'm4'],
    );
    assert.deepEqual(
      first.messages.map((m) => m.message_id),
      newestFirst.slice(0, 3),
    );
    assert.equal(first.next_cursor, newestFirst[2]);

    const second = await peerBus.request('chatHistory', {
      caller: proctor('p-hist', ['t3']),
      room_id: room,
      before: first.next_cursor,
      limit: 3,
    });
    assert.deepEqual(
      second.messages.map((m) => m.text),
      ['m3', 'm2', 'm1'],
    );
    assert.equal(second.next_cursor, newestFirst[5]);

    const third = await peerBus.request('chatHistory', { caller, room_id: room, before: second.next_cursor, limit: 3 });
    assert.deepEqual(
      third.messages.map((m) => m.text),
      ['m0'],
    );
    assert.equal(third.next_cursor, null);

    const exact = await peerBus.request('chatHistory', { caller, room_id: room, limit: 7 });
    assert.equal(exact.messages.length, 7);
    assert.equal(exact.next_cursor, null, 'no cursor when nothing older exists');
    assert.ok(exact.messages.every((m) => m.room_id === room));
  });

  test("a room's members are asked of the assessment service once and then cached", () => {
    assert.equal(describeCalls.filter((id) => id === 'a5').length, 1);
    assert.equal(describeCalls.filter((id) => id === 'a4').length, 1);
  });
});
