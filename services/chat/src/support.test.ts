import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { REQUEST_ID_HEADER } from '@ap/bus';
import type { Bus } from '@ap/bus';
import type { Database } from '@ap/db';
import { createLogger } from '@ap/logging';
import { AppError, SUPPORT_ROOM_PREFIX, assessmentRoomId, events } from '@ap/protocol';
import type { Caller, ChatMessage, Question, Room, UserPush } from '@ap/protocol';
import { NOTE_WITHHELD } from './assistant.ts';
import type { HelpContext } from './assistant.ts';
import { CHAT_MESSAGES } from './messages.ts';
import type { ChatMessageDocument } from './messages.ts';
import { CHAT_ROOMS } from './rooms.ts';
import type { SupportRoomDoc } from './rooms.ts';
import { createChatService } from './index.ts';
import type { ChatService } from './index.ts';
import { startChatPeers } from './peers.fixture.test.ts';

const candidate = (id: string, tests: string[]): Caller => ({ user_id: id, role: 'candidate', tests });
const recruiter = (id: string, tests?: string[]): Caller =>
  tests === undefined ? { user_id: id, role: 'recruiter' } : { user_id: id, role: 'recruiter', tests };
const ADMIN: Caller = { user_id: 'adm', role: 'admin' };

// The candidates the stand-in auth service knows, with the tests they were invited to.
const INVITED: Record<string, string[]> = { cand1: ['t1', 't2'], cand2: ['t2'], cand3: [] };

// Assessments the stand-in assessment service knows.
const ASSESSMENTS: Record<string, { candidate_id: string; test_id: string }> = {
  a1: { candidate_id: 'cand1', test_id: 't1' },
  a2: { candidate_id: 'cand2', test_id: 't2' },
};

const NOTE = 'Think of a line at a shop.';
const OPTIONS = [
  { id: 'a', text: 'Stack' },
  { id: 'b', text: 'Queue' },
  { id: 'c', text: 'Tree' },
];

describe('support rooms and the help assistant on a real bus and database', () => {
  const log = createLogger({ service: 'chat-support-test', level: 'silent' });
  let nowMs = Date.parse('2026-03-01T09:00:00Z');
  const clock = () => new Date(nowMs);
  let database: Database;
  let serviceBus: Bus;
  let peerBus: Bus; // plays the gateway
  let chat: ChatService | undefined;
  const teardown: Array<() => Promise<unknown>> = [];

  // What the stand-in assessment service answers, set by each test, and the request ids it saw.
  let helpContext: HelpContext | Error;
  let helpDelayMs = 0;
  let question: Question | null | Error = null;
  let authFailure: Error | undefined;
  const seenRequestIds: Record<string, (string | undefined)[]> = {};
  const seen = (endpoint: string, requestId: string | undefined) => (seenRequestIds[endpoint] ??= []).push(requestId);

  const messages = () => database.db.collection<ChatMessageDocument>(CHAT_MESSAGES);
  const supportRooms = () => database.db.collection<SupportRoomDoc>(CHAT_ROOMS);

  async function startChat(options: { roomCacheTtlMs?: number; random?: (size: number) => Uint8Array } = {}): Promise<ChatService> {
    await stopChat();
    const service = createChatService({
      bus: serviceBus,
      db: database.db,
      log,
      clock,
      rateLimit: { burst: 100, refillPerSecond: 100 },
      ...options,
    });
    await service.start();
    await serviceBus.nc.flush(); // its subscriptions reach the server before a request is sent
    // Each service numbers its messages from its own start: a later second keeps ids in order across them.
    nowMs += 1000;
    chat = service;
    return service;
  }

  /** Stops the chat service, which waits for the assistant's answers still being written. */
  async function stopChat(): Promise<void> {
    await chat?.close();
    chat = undefined;
  }

  const helpFor = (changes: Partial<HelpContext> = {}): HelpContext => ({
    assessment_id: 'a1',
    status: 'in_progress',
    time_remaining_s: 125,
    answered: 3,
    planned: { min: 10, max: 10 },
    adaptive: false,
    on_expiry: 'autosubmit',
    question: { index: 3, type: 'single_choice', skill: 'data structures', options: 3, clarification: NOTE },
    ...changes,
  });
  const questionAt = (index: number): Question => ({
    assessment_id: 'a1',
    question_id: `q${String(index)}`,
    index,
    type: 'single_choice',
    stem: 'Which structure is first in, first out?',
    options: OPTIONS,
    skill: 'data structures',
    time_remaining_s: 125,
  });

  before(async () => {
    let assessmentBus: Bus;
    let authBus: Bus;
    ({ database, serviceBus, peerBus, assessmentBus, authBus } = await startChatPeers(
      `chat_support_test_${String(process.pid)}`,
      log,
      teardown,
    ));
    assessmentBus.serve('assessmentDescribe', 'assessment', (req, context) => {
      seen('assessmentDescribe', context.requestId);
      const found = ASSESSMENTS[req.assessment_id];
      if (found === undefined) throw new AppError('NOT_FOUND', `no assessment ${req.assessment_id}`);
      return { assessment_id: req.assessment_id, ...found, status: 'in_progress' };
    });
    assessmentBus.serve('assessmentHelpContext', 'assessment', async (_req, context) => {
      seen('assessmentHelpContext', context.requestId);
      if (helpDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, helpDelayMs));
      if (helpContext instanceof Error) throw helpContext;
      return helpContext;
    });
    assessmentBus.serve('assessmentQuestion', 'assessment', (_req, context) => {
      seen('assessmentQuestion', context.requestId);
      if (question instanceof Error) throw question;
      return { question };
    });
    authBus.serve('authCandidateTests', 'auth', (req, context) => {
      seen('authCandidateTests', context.requestId);
      if (authFailure !== undefined) throw authFailure;
      const invited = INVITED[req.candidate_id];
      if (invited === undefined) throw new AppError('NOT_FOUND', `no candidate ${req.candidate_id}`);
      const tests = req.caller.tests;
      return { candidate_id: req.candidate_id, tests: tests === undefined ? invited : invited.filter((t) => tests.includes(t)) };
    });
  });

  after(async () => {
    await stopChat();
    for (const undo of teardown.reverse()) await undo();
  });

  /** The messages published in a room from now on, with the request id they carry. */
  async function watchRoom(
    roomId: string,
  ): Promise<{ received: { message: ChatMessage; requestId: string | null }[]; next: (n: number) => Promise<void> }> {
    const received: { message: ChatMessage; requestId: string | null }[] = [];
    const waiters: Array<() => void> = [];
    const sub = peerBus.nc.subscribe(events.chatRoom.subject(roomId), {
      callback: (_err, msg) => {
        received.push({ message: msg.json<ChatMessage>(), requestId: msg.headers?.get(REQUEST_ID_HEADER) ?? null });
        for (const wake of waiters.splice(0)) wake();
      },
    });
    teardown.push(async () => {
      sub.unsubscribe();
      await Promise.resolve();
    });
    await peerBus.nc.flush();
    // Fails after 3 s rather than waiting for the test runner's timeout when a message never comes.
    const next = async (n: number) => {
      const deadline = Date.now() + 3000;
      while (received.length < n) {
        if (Date.now() > deadline) throw new Error(`${String(n)} messages expected, ${String(received.length)} arrived`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
    };
    return { received, next };
  }

  describe('the help assistant', () => {
    test("answers a candidate's question after it, in the room, stored and published", async () => {
      await startChat();
      helpContext = helpFor();
      const room = assessmentRoomId('a1');
      const watch = await watchRoom(room);
      nowMs += 1000;
      const asked = await peerBus.request(
        'chatPost',
        { caller: candidate('cand1', ['t1']), room_id: room, message: 'How much time is left?' },
        { requestId: 'req-time' },
      );
      await watch.next(2);
      const [first, second] = watch.received;
      assert.deepEqual(first, { message: asked, requestId: 'req-time' });
      const expected = 'You have 2 minutes 5 seconds left. When the time runs out, what you answered is submitted.';
      assert.equal(second?.message.text, expected);
      assert.equal(second.message.sender_id, 'assistant');
      assert.equal(second.message.sender_role, 'assistant');
      assert.equal(second.message.room_id, room);
      assert.equal(second.message.created_at, new Date(nowMs).toISOString());
      assert.ok(second.message.message_id > asked.message_id, 'the answer sorts after the question');
      assert.equal(second.requestId, 'req-time', 'the answer carries the request id of the question');
      assert.deepEqual(seenRequestIds['assessmentHelpContext']?.at(-1), 'req-time');
      assert.deepEqual(seenRequestIds['assessmentDescribe']?.at(-1), 'req-time');
      const stored = await messages().findOne({ _id: second.message.message_id });
      assert.equal(stored?.text, expected);
      assert.equal(stored.sender_id, 'assistant');
      assert.equal(stored.sender_role, 'assistant');
      assert.equal(stored.room_id, room);
      await stopChat();
    });

    test('without a request id, none is sent on', async () => {
      await startChat();
      helpContext = helpFor();
      const room = assessmentRoomId('a1');
      const watch = await watchRoom(room);
      const calls = seenRequestIds['assessmentHelpContext']?.length ?? 0;
      await peerBus.request('chatPost', { caller: candidate('cand1', ['t1']), room_id: room, message: 'what does it mean' });
      await watch.next(2);
      assert.deepEqual(
        watch.received.map((r) => r.requestId),
        [null, null],
      );
      assert.deepEqual(seenRequestIds['assessmentHelpContext']?.slice(calls), [undefined]);
      assert.deepEqual(seenRequestIds['assessmentQuestion']?.at(-1), undefined);
      await stopChat();
    });

    test('close() waits for an answer still being written', async () => {
      await startChat();
      helpContext = helpFor();
      helpDelayMs = 150;
      const room = assessmentRoomId('a1');
      const before = await messages().countDocuments({ room_id: room, sender_id: 'assistant' });
      try {
        await peerBus.request('chatPost', { caller: candidate('cand1', ['t1']), room_id: room, message: 'how many questions are left' });
        await stopChat();
      } finally {
        helpDelayMs = 0;
      }
      const answers = await messages().find({ room_id: room, sender_id: 'assistant' }).sort({ _id: -1 }).toArray();
      assert.equal(answers.length, before + 1);
      assert.equal(answers[0]?.text, 'You have answered 3 questions (7 to go); this test has 10 questions.');
    });

    test("relays the author's note only while the candidate is on the question it belongs to", async () => {
      const room = assessmentRoomId('a1');
      const ask = async (requestId?: string): Promise<string | undefined> => {
        await startChat();
        const posted = await peerBus.request(
          'chatPost',
          { caller: candidate('cand1', ['t1']), room_id: room, message: 'I do not understand the wording' },
          requestId === undefined ? {} : { requestId },
        );
        await stopChat();
        const answer = await messages().findOne({ room_id: room, sender_id: 'assistant', _id: { $gt: posted.message_id } });
        return answer?.text;
      };
      helpContext = helpFor();
      question = questionAt(3);
      assert.equal(await ask('req-note'), `The author's note on this question: ${NOTE}`);
      assert.equal(seenRequestIds['assessmentQuestion']?.at(-1), 'req-note');
      // The candidate moved on meanwhile: the options at hand are another question's.
      question = questionAt(4);
      assert.equal(await ask(), NOTE_WITHHELD);
      question = null;
      assert.equal(await ask(), NOTE_WITHHELD);
      question = new AppError('SERVICE_UNAVAILABLE', 'assessment service down');
      assert.equal(await ask(), NOTE_WITHHELD);
      // A note that names an option is withheld though the candidate is on its question.
      question = questionAt(3);
      helpContext = helpFor({ question: { index: 3, type: 'single_choice', skill: 's', options: 3, clarification: 'Queue, obviously.' } });
      assert.equal(await ask(), NOTE_WITHHELD);
    });

    test('stays silent for staff, for messages it does not recognise and when the help context fails', async () => {
      const room = assessmentRoomId('a1');
      helpContext = helpFor();
      const assistantCount = () => messages().countDocuments({ room_id: room, sender_id: 'assistant' });
      const before = await assistantCount();
      const calls = seenRequestIds['assessmentHelpContext']?.length ?? 0;
      await startChat();
      const staff = await peerBus.request('chatPost', {
        caller: recruiter('r1', ['t1']),
        room_id: room,
        message: 'How much time is left?',
      });
      assert.equal(staff.sender_role, 'recruiter');
      await peerBus.request('chatPost', { caller: candidate('cand1', ['t1']), room_id: room, message: 'good morning' });
      helpContext = new AppError('SERVICE_UNAVAILABLE', 'assessment service down');
      const kept = await peerBus.request('chatPost', {
        caller: candidate('cand1', ['t1']),
        room_id: room,
        message: 'How much time is left?',
      });
      await stopChat();
      assert.equal(await assistantCount(), before);
      // The candidate's messages are stored all the same; only the candidate's two asked for help.
      assert.equal((await messages().findOne({ _id: kept.message_id }))?.text, 'How much time is left?');
      assert.equal((seenRequestIds['assessmentHelpContext']?.length ?? 0) - calls, 2);
    });

    test('answers nothing in a support room', async () => {
      helpContext = helpFor();
      await startChat();
      const room = await peerBus.request('chatOpenRoom', {
        caller: recruiter('r-help', ['t1']),
        candidate_id: 'cand1',
        topic: 'Your start',
      });
      const calls = seenRequestIds['assessmentHelpContext']?.length ?? 0;
      await peerBus.request('chatPost', { caller: candidate('cand1', ['t1']), room_id: room.room_id, message: 'How much time is left?' });
      await stopChat();
      assert.equal(await messages().countDocuments({ room_id: room.room_id }), 1);
      assert.equal(seenRequestIds['assessmentHelpContext']?.length ?? 0, calls);
    });
  });

  describe('options of the service', () => {
    test("a room's members are asked again once the cache time has passed; message ids take the random source given", async () => {
      await startChat({ roomCacheTtlMs: 1000, random: (size) => new Uint8Array(size).fill(255) });
      const room = assessmentRoomId('a2');
      const caller = candidate('cand2', ['t2']);
      const describes = () => (seenRequestIds['assessmentDescribe'] ?? []).length;
      const start = describes();
      const first = await peerBus.request('chatPost', { caller, room_id: room, message: 'one' });
      nowMs += 999;
      await peerBus.request('chatPost', { caller, room_id: room, message: 'two' });
      assert.equal(describes() - start, 1, 'cached for the time given');
      nowMs += 1;
      await peerBus.request('chatPost', { caller, room_id: room, message: 'three' });
      assert.equal(describes() - start, 2, 'asked again after it');
      // Six random bytes of 0xff are "________" in base64url, after the time and the sequence.
      assert.match(first.message_id, /^[0-9a-z]{13}_{8}$/);
      await stopChat();
    });
  });

  describe('closing', () => {
    test('a closed service answers nothing more; history passes its request id on to the room lookup', async () => {
      await startChat();
      const room = assessmentRoomId('a2');
      const history = await peerBus.request(
        'chatHistory',
        { caller: candidate('cand2', ['t2']), room_id: room },
        { requestId: 'req-history' },
      );
      assert.ok(history.messages.length > 0);
      assert.equal(seenRequestIds['assessmentDescribe']?.at(-1), 'req-history');
      await stopChat();
      await assert.rejects(peerBus.request('chatHistory', { caller: candidate('cand2', ['t2']), room_id: room }, { timeoutMs: 500 }), {
        code: 'SERVICE_UNAVAILABLE',
      });
    });
  });

  describe('support rooms', () => {
    before(async () => {
      await startChat();
    });
    after(async () => {
      await stopChat();
    });

    /** The next push to a user. */
    function nextPush(userId: string): Promise<UserPush> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          sub.unsubscribe();
          reject(new Error(`no push to ${userId}`));
        }, 3000);
        const sub = peerBus.subscribe('pushToUser', userId, (push) => {
          clearTimeout(timer);
          sub.unsubscribe();
          resolve(push);
        });
      });
    }

    test('a recruiter opens one with a candidate of their tests: stored, returned and pushed to the candidate', async () => {
      nowMs += 60_000;
      const pushed = nextPush('cand1');
      await peerBus.nc.flush();
      const room = await peerBus.request(
        'chatOpenRoom',
        { caller: recruiter('r1', ['t1']), candidate_id: 'cand1', topic: ' Your\u0007 interview ' },
        { requestId: 'req-open' },
      );
      assert.ok(room.room_id.startsWith(SUPPORT_ROOM_PREFIX));
      assert.ok(room.room_id.length > SUPPORT_ROOM_PREFIX.length + 30, 'a random id follows the prefix');
      const expected: Room = {
        room_id: room.room_id,
        kind: 'support',
        members: ['r1', 'cand1'],
        topic: 'Your interview',
        opened_by: 'r1',
        created_at: new Date(nowMs).toISOString(),
      };
      assert.deepEqual(room, expected);
      assert.deepEqual(await pushed, { type: 'room_opened', data: expected });
      assert.equal(seenRequestIds['authCandidateTests']?.at(-1), 'req-open');
      const doc = await supportRooms().findOne({ _id: room.room_id });
      assert.deepEqual(doc, {
        _id: room.room_id,
        members: ['r1', 'cand1'],
        topic: 'Your interview',
        opened_by: 'r1',
        created_at: new Date(nowMs),
        tests: ['t1'],
      });
      const indexes = await supportRooms().indexes();
      assert.ok(indexes.some((i) => i.name === 'members' && JSON.stringify(i.key) === JSON.stringify({ members: 1 })));
      const messageIndexes = await messages().indexes();
      assert.ok(messageIndexes.some((i) => i.name === 'room_newest_first'));

      // Both members talk in it; the candidate with a token for one of the room's tests only.
      await peerBus.request('chatPost', { caller: recruiter('r1', ['t1']), room_id: room.room_id, message: 'Hello' });
      await peerBus.request('chatPost', { caller: candidate('cand1', ['t1']), room_id: room.room_id, message: 'Hi' });
      await assert.rejects(peerBus.request('chatPost', { caller: candidate('cand1', ['t2']), room_id: room.room_id, message: 'x' }), {
        code: 'FORBIDDEN',
      });
      await assert.rejects(peerBus.request('chatPost', { caller: recruiter('r2', ['t1']), room_id: room.room_id, message: 'x' }), {
        code: 'FORBIDDEN',
      });
      const history = await peerBus.request('chatHistory', { caller: ADMIN, room_id: room.room_id });
      assert.deepEqual(
        history.messages.map((m) => [m.sender_id, m.text]),
        [
          ['cand1', 'Hi'],
          ['r1', 'Hello'],
        ],
      );
    });

    test('an empty topic is "Support", and no request id is passed on without one', async () => {
      const room = await peerBus.request('chatOpenRoom', { caller: recruiter('r1', ['t2']), candidate_id: 'cand2' });
      assert.equal(room.topic, 'Support');
      assert.equal(seenRequestIds['authCandidateTests']?.at(-1), undefined, 'no request id without one');
      assert.deepEqual((await supportRooms().findOne({ _id: room.room_id }))?.tests, ['t2']);
    });

    test('no room with oneself, with someone unknown or with a candidate of no test of the caller', async () => {
      const count = await supportRooms().countDocuments();
      await assert.rejects(peerBus.request('chatOpenRoom', { caller: recruiter('r1'), candidate_id: 'r1' }), (err: unknown) => {
        assert.ok(err instanceof AppError);
        assert.equal(err.code, 'VALIDATION_FAILED');
        assert.equal(err.message, 'a support room needs a candidate other than you');
        return true;
      });
      for (const [caller, candidateId] of [
        [recruiter('r1'), 'nobody'],
        [recruiter('r1', ['t1']), 'cand2'],
        [recruiter('r1'), 'cand3'],
      ] as const) {
        await assert.rejects(peerBus.request('chatOpenRoom', { caller, candidate_id: candidateId }), (err: unknown) => {
          assert.ok(err instanceof AppError);
          assert.equal(err.code, 'NOT_FOUND', candidateId);
          assert.equal(err.message, `no candidate ${candidateId} in your tests`, 'the same answer whether or not the candidate exists');
          return true;
        });
      }
      // Another failure of the auth service is passed on as it is.
      authFailure = new AppError('SERVICE_UNAVAILABLE', 'auth is down');
      try {
        await assert.rejects(peerBus.request('chatOpenRoom', { caller: recruiter('r1'), candidate_id: 'cand1' }), {
          code: 'SERVICE_UNAVAILABLE',
        });
      } finally {
        authFailure = undefined;
      }
      assert.equal(await supportRooms().countDocuments(), count);
    });

    test('an admin opens one with a candidate of no test', async () => {
      const room = await peerBus.request('chatOpenRoom', { caller: ADMIN, candidate_id: 'cand3', topic: 'Account' });
      assert.deepEqual(room.members, ['adm', 'cand3']);
      assert.deepEqual((await supportRooms().findOne({ _id: room.room_id }))?.tests, []);
      // With no test recorded, the candidate takes part whatever the token's tests.
      const reply = await peerBus.request('chatPost', { caller: candidate('cand3', ['t9']), room_id: room.room_id, message: 'thanks' });
      assert.equal(reply.sender_id, 'cand3');
      // An admin may enter every room, but lists only those they belong to.
      assert.deepEqual((await peerBus.request('chatRooms', { caller: ADMIN })).rooms, [room]);
    });

    test('each member lists the rooms they belong to, newest first', async () => {
      nowMs += 60_000;
      const older = await peerBus.request('chatOpenRoom', { caller: recruiter('r7', ['t1', 't2']), candidate_id: 'cand1', topic: 'older' });
      nowMs += 60_000;
      const newer = await peerBus.request('chatOpenRoom', { caller: recruiter('r7', ['t2']), candidate_id: 'cand1', topic: 'newer' });
      const mine = await peerBus.request('chatRooms', { caller: recruiter('r7') });
      assert.deepEqual(mine.rooms, [newer, older]);
      // The candidate sees a room only with a token for one of its tests.
      const withT1 = await peerBus.request('chatRooms', { caller: candidate('cand1', ['t1']) });
      assert.ok(withT1.rooms.some((r) => r.room_id === older.room_id));
      assert.ok(!withT1.rooms.some((r) => r.room_id === newer.room_id));
      const withT2 = await peerBus.request('chatRooms', { caller: candidate('cand1', ['t2']) });
      assert.deepEqual(
        withT2.rooms.filter((r) => r.room_id === older.room_id || r.room_id === newer.room_id),
        [newer, older],
      );
      assert.deepEqual((await peerBus.request('chatRooms', { caller: recruiter('r-none') })).rooms, []);
    });

    test('the list holds the newest 100 rooms', async () => {
      const base = Date.parse('2026-01-01T00:00:00Z');
      await supportRooms().insertMany(
        Array.from({ length: 101 }, (_, i) => ({
          _id: `${SUPPORT_ROOM_PREFIX}many-${String(i).padStart(3, '0')}`,
          members: ['r-many', 'cand2'],
          topic: `room ${String(i)}`,
          opened_by: 'r-many',
          created_at: new Date(base + i * 1000),
          tests: ['t2'],
        })),
      );
      const { rooms } = await peerBus.request('chatRooms', { caller: recruiter('r-many') });
      assert.equal(rooms.length, 100);
      assert.equal(rooms[0]?.topic, 'room 100');
      assert.equal(rooms.at(-1)?.topic, 'room 1', 'the oldest is left out');
    });
  });
});
