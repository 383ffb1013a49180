import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { findAssessment } from '../services/assessment/src/repository.ts';
import { setup, ask, nextFrame as next, openAuthed as connect } from './support/setup.ts';
import type { RawSocket, TestStack } from './support/setup.ts';

// Chat, the live proctor feed, support rooms, results and invitations, with two gateways: the
// candidate is on one and staff on the other, so every live message crosses gateways over NATS.
let stack: TestStack;
let urlA: string;
let urlB: string;

before(async () => {
  stack = await setup({ replicas: { gateway: 2 }, env: { PRESENCE_INTERVAL_MS: '1000' } });
  [urlA, urlB] = stack.platform.gatewayUrls.map((u) => u.replace(/^http/, 'ws')) as [string, string];
});

after(async () => {
  await (stack as TestStack | undefined)?.close();
});

type Frame = RawSocket['frames'][number];

async function staffToken(email: string, password: string): Promise<string> {
  return (await stack.bus.request('authLogin', { email, password })).token;
}

async function startCandidate(
  url: string,
  testId?: string,
): Promise<{ socket: RawSocket; assessmentId: string; userId: string; token: string }> {
  const c = await stack.inviteCandidate(testId);
  const socket = await connect(`${url}/ws/assessment`, c.token);
  const started = await ask(socket, 'start_assessment');
  assert.equal(started.type, 'assessment_started', JSON.stringify(started));
  return { socket, assessmentId: String(started.data['assessment_id']), userId: c.user_id, token: c.token };
}

async function answerCurrent(socket: RawSocket): Promise<Frame> {
  const q = await ask(socket, 'get_question');
  assert.equal(q.type, 'question', JSON.stringify(q));
  const options = q.data['options'] as { id: string }[];
  return ask(socket, 'submit_answer', { question_id: q.data['question_id'], selected_option: options[0]?.id });
}

describe('chat and proctoring across two gateways', () => {
  test('a proctor on gateway A watches a candidate on gateway B live and they talk in the assessment room', async () => {
    const proctor = await connect(`${urlA}/ws/chat`, await staffToken(stack.seed.proctor.email, stack.seed.proctor.password));
    const watched = await ask(proctor, 'watch_assessments');
    assert.equal(watched.type, 'live_assessments', JSON.stringify(watched));

    // Start: the feed shows the candidate online, with no answers yet.
    let mark = proctor.frames.length;
    const cand = await startCandidate(urlB);
    const id = cand.assessmentId;
    const isMine = (f: Frame) => f.type === 'live_assessment' && f.data['assessment_id'] === id;
    const first = await next(proctor, mark, (f) => isMine(f) && f.data['online'] === true);
    assert.equal(first.data['answered'], 0);
    assert.match(String(first.data['candidate_name']), /@test\.example$/);
    assert.equal(first.data['test_title'], 'Fundamentals: numeracy, logic and software');
    assert.equal(first.data['strategy'], 'random');
    assert.ok(Number(first.data['time_remaining_s']) > 0);

    // An answer and an incident show up as they happen.
    mark = proctor.frames.length;
    assert.equal((await answerCurrent(cand.socket)).type, 'answer_feedback');
    await next(proctor, mark, (f) => isMine(f) && f.data['answered'] === 1);
    mark = proctor.frames.length;
    assert.equal((await ask(cand.socket, 'integrity_event', { kind: 'paste', at: new Date().toISOString() })).type, 'integrity_recorded');
    const incident = await next(proctor, mark, (f) => isMine(f) && f.data['incidents'] === 1);
    assert.deepEqual((incident.data['last_incident'] as { kind: string }).kind, 'paste');

    // A new watch starts with a snapshot that holds it.
    const snapshot = await ask(proctor, 'watch_assessments', { test_id: stack.seed.test_id });
    const row = (snapshot.data['assessments'] as Record<string, unknown>[]).find((a) => a['assessment_id'] === id);
    assert.ok(row, 'the snapshot lists the assessment');
    assert.equal(row['answered'], 1);
    assert.equal(row['online'], true);

    // The room: join, typing, messages both ways in real time.
    const room = `asm_${id}`;
    assert.equal((await ask(proctor, 'join_room', { room_id: room })).type, 'room_joined');
    mark = cand.socket.frames.length;
    proctor.send({ type: 'typing', data: { room_id: room } });
    const typing = await next(cand.socket, mark, (f) => f.type === 'typing');
    assert.equal(typing.data['role'], 'proctor');
    mark = proctor.frames.length;
    await ask(cand.socket, 'chat_message', { message: 'Is a calculator allowed?' });
    assert.equal((await next(proctor, mark, (f) => f.type === 'chat_message')).data['text'], 'Is a calculator allowed?');
    mark = cand.socket.frames.length;
    await ask(proctor, 'chat_message', { room_id: room, message: 'No calculators, sorry.' });
    const fromProctor = await next(cand.socket, mark, (f) => f.type === 'chat_message' && f.data['sender_role'] === 'proctor');
    assert.equal(fromProctor.data['text'], 'No calculators, sorry.');

    // The help assistant answers what it knows, refuses answers, and the proctor sees both.
    mark = proctor.frames.length;
    const candMark = cand.socket.frames.length;
    await ask(cand.socket, 'chat_message', { message: 'How much time do I have left?' });
    const timeReply = await next(cand.socket, candMark, (f) => f.type === 'chat_message' && f.data['sender_role'] === 'assistant');
    assert.match(String(timeReply.data['text']), /^You have \d+ minutes?( \d+ seconds?)? left\./);
    await next(proctor, mark, (f) => f.type === 'chat_message' && f.data['message_id'] === timeReply.data['message_id']);
    const candMark2 = cand.socket.frames.length;
    await ask(cand.socket, 'chat_message', { message: 'Which option is correct here?' });
    const refusal = await next(cand.socket, candMark2, (f) => f.type === 'chat_message' && f.data['sender_role'] === 'assistant');
    assert.match(String(refusal.data['text']), /cannot help with answers/);

    // History: newest first, in pages with a cursor, for a member who missed it.
    const page1 = await ask(proctor, 'chat_history', { room_id: room, limit: 3 });
    const messages1 = page1.data['messages'] as { message_id: string; text: string }[];
    assert.equal(messages1.length, 3);
    assert.equal(messages1[0]?.text, refusal.data['text']);
    assert.ok(typeof page1.data['next_cursor'] === 'string');
    const page2 = await ask(proctor, 'chat_history', { room_id: room, limit: 10, before: page1.data['next_cursor'] });
    const messages2 = page2.data['messages'] as { message_id: string; text: string }[];
    assert.deepEqual(messages2.map((m) => m.text).at(-1), 'Is a calculator allowed?');
    const ids = [...messages1, ...messages2].map((m) => m.message_id);
    assert.deepEqual(ids, [...ids].sort().reverse(), 'newest first across pages');
    assert.equal(page2.data['next_cursor'], null);

    // After leaving, the proctor no longer receives the room's messages (the feed goes on). The
    // message is published before its reply; the incident after it reaches the proctor's feed
    // later, so by then a message that got through would be there.
    assert.equal((await ask(proctor, 'leave_room', { room_id: room })).type, 'room_left');
    mark = proctor.frames.length;
    assert.equal((await ask(cand.socket, 'chat_message', { message: 'anyone there?' })).type, 'chat_message');
    assert.equal((await ask(cand.socket, 'integrity_event', { kind: 'paste', at: new Date().toISOString() })).type, 'integrity_recorded');
    await next(proctor, mark, (f) => isMine(f) && f.data['incidents'] === 2);
    assert.ok(!proctor.frames.slice(mark).some((f) => f.type === 'chat_message'), 'no message after leave_room');

    // The candidate leaves: offline at once.
    mark = proctor.frames.length;
    cand.socket.ws.close();
    await next(proctor, mark, (f) => isMine(f) && f.data['online'] === false);
    proctor.ws.close();
  });

  test('only members read or post; the size cap and the rate limit hold; staff scope is enforced', async () => {
    const cand = await startCandidate(urlB);
    const room = `asm_${cand.assessmentId}`;
    const outsider = await connect(`${urlA}/ws/chat`, (await stack.inviteCandidate()).token);
    for (const [type, data] of [
      ['join_room', { room_id: room }],
      ['chat_history', { room_id: room }],
      ['chat_message', { room_id: room, message: 'let me in' }],
    ] as const) {
      const r = await ask(outsider, type, data);
      assert.equal(r.data['code'], 'FORBIDDEN', `${type}: ${JSON.stringify(r)}`);
    }
    // A candidate cannot watch, and a proctor of another test cannot watch this one.
    assert.equal((await ask(outsider, 'watch_assessments')).data['code'], 'FORBIDDEN');
    const scoped = await connect(`${urlA}/ws/chat`, await stack.staffToken('scoped-proctor@test.example', 'proctor', ['another-test']));
    assert.equal((await ask(scoped, 'watch_assessments', { test_id: stack.seed.test_id })).data['code'], 'FORBIDDEN');
    const own = await ask(scoped, 'watch_assessments');
    assert.deepEqual(own.data['assessments'], [], 'a scoped proctor sees only the tests in scope');
    assert.equal((await ask(scoped, 'join_room', { room_id: room })).data['code'], 'FORBIDDEN');

    // Over 2,000 characters: refused and not stored; control and bidi characters are stripped.
    const stored = () => stack.db.collection('chat_messages').countDocuments({ room_id: room });
    const before = await stored();
    assert.equal((await ask(cand.socket, 'chat_message', { message: 'x'.repeat(2001) })).data['code'], 'VALIDATION_FAILED');
    assert.equal(await stored(), before);
    const clean = await ask(cand.socket, 'chat_message', { message: 'a\u0007b\u202Ec <b>bold</b>' });
    assert.equal(clean.data['text'], 'abc <b>bold</b>', 'text is kept as text, never as HTML');

    // Rate limit: a burst is allowed, then RATE_LIMITED with a retry time.
    const replies = await Promise.all(
      Array.from({ length: 8 }, (_, i) => ask(cand.socket, 'chat_message', { message: `burst ${String(i)}` })),
    );
    const limited = replies.filter((r) => r.data['code'] === 'RATE_LIMITED');
    assert.ok(limited.length >= 2, `${String(limited.length)} of 8 limited`);
    assert.ok((limited[0]?.data['details'] as { retry_after_ms: number }).retry_after_ms > 0);
    for (const s of [cand.socket, outsider, scoped]) s.ws.close();
  });

  test('a recruiter opens a support room with a candidate on the other gateway', async () => {
    const c = await stack.inviteCandidate();
    // The candidate is on the assessment socket: a support room stays joined when the test starts.
    const candidate = await connect(`${urlB}/ws/assessment`, c.token);
    const recruiter = await connect(`${urlA}/ws/chat`, await staffToken(stack.seed.recruiter.email, stack.seed.recruiter.password));
    const mark = candidate.frames.length;
    const opened = await ask(recruiter, 'open_support_room', { candidate_id: c.user_id, topic: 'Your application' });
    assert.equal(opened.type, 'room_opened', JSON.stringify(opened));
    const roomId = String(opened.data['room_id']);
    assert.match(roomId, /^sup_/);
    const pushed = await next(candidate, mark, (f) => f.type === 'room_opened');
    assert.equal(pushed.data['room_id'], roomId);
    assert.equal(pushed.data['topic'], 'Your application');
    assert.equal((await ask(candidate, 'start_assessment')).type, 'assessment_started');

    let m = candidate.frames.length;
    await ask(recruiter, 'chat_message', { room_id: roomId, message: 'Hello, any questions about the test?' });
    assert.equal((await next(candidate, m, (f) => f.type === 'chat_message')).data['sender_role'], 'recruiter');
    m = recruiter.frames.length;
    await ask(candidate, 'chat_message', { room_id: roomId, message: 'When do I hear back?' });
    assert.equal((await next(recruiter, m, (f) => f.type === 'chat_message')).data['text'], 'When do I hear back?');

    // Nobody else gets in, not even a proctor of the test.
    const other = await connect(`${urlA}/ws/chat`, (await stack.inviteCandidate()).token);
    assert.equal((await ask(other, 'join_room', { room_id: roomId })).data['code'], 'FORBIDDEN');
    const proctor = await connect(`${urlB}/ws/chat`, await staffToken(stack.seed.proctor.email, stack.seed.proctor.password));
    assert.equal((await ask(proctor, 'chat_history', { room_id: roomId })).data['code'], 'FORBIDDEN');
    // A candidate cannot open one.
    assert.equal((await ask(candidate, 'open_support_room', { candidate_id: stack.seed.recruiter.user_id })).data['code'], 'FORBIDDEN');
    const listed = await stack.bus.request('chatRooms', { caller: { user_id: c.user_id, role: 'candidate', tests: [stack.seed.test_id] } });
    assert.deepEqual(
      listed.rooms.map((r) => r.room_id),
      [roomId],
    );
    // The same candidate with a token for another test does not see it.
    const elsewhere = await stack.bus.request('chatRooms', { caller: { user_id: c.user_id, role: 'candidate', tests: ['another-test'] } });
    assert.deepEqual(elsewhere.rooms, []);
    for (const s of [candidate, recruiter, other, proctor]) s.ws.close();
  });

  test('recruiters invite with a use count over HTTP and read results of their tests', async () => {
    const recruiterToken = await staffToken(stack.seed.recruiter.email, stack.seed.recruiter.password);
    const testId = await stack.createTest(
      { title: 'Three questions', time_limit_s: 600, strategy: 'fixed', feedback: { show_correctness: false, show_score: true } },
      3,
    );
    const http = stack.platform.gatewayUrls[1] as string;
    const post = (path: string, body: unknown, token?: string) =>
      fetch(`${http}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
        body: JSON.stringify(body),
      });
    const created = await post(
      `/api/tests/${testId}/invitations`,
      { max_uses: 3, candidate_name: 'Walk-in', expires_in_s: 3600 },
      recruiterToken,
    );
    assert.equal(created.status, 201);
    const invitation = (await created.json()) as { code: string; max_uses: number };
    assert.equal(invitation.max_uses, 3);

    // Six people redeem the same three-use code at once: exactly three get in.
    const redeemed = await Promise.all(Array.from({ length: 6 }, () => post('/api/auth/invitations/redeem', { code: invitation.code })));
    const bodies = await Promise.all(redeemed.map(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> })));
    assert.equal(bodies.filter((b) => b.status === 200).length, 3, JSON.stringify(bodies.map((b) => b.status)));
    for (const b of bodies.filter((x) => x.status !== 200)) {
      assert.equal(b.status, 409);
      assert.equal((b.body['error'] as { code: string }).code, 'INVITATION_USED');
    }
    const token = String(bodies.find((b) => b.status === 200)?.body['token']);

    // One of them takes the test, with an incident on the way.
    const socket = await connect(`${urlA}/ws/assessment`, token);
    assert.equal((await ask(socket, 'start_assessment')).type, 'assessment_started');
    await ask(socket, 'integrity_event', { kind: 'tab_hidden', at: new Date().toISOString() });
    for (let i = 0; i < 3; i++) assert.equal((await answerCurrent(socket)).type, 'answer_feedback');
    // The third answer ends the test: assessment_completed follows its feedback.
    await socket.waitFor((f) => f.type === 'assessment_completed');
    socket.ws.close();

    const results = await fetch(`${http}/api/tests/${testId}/results`, { headers: { authorization: `Bearer ${recruiterToken}` } });
    assert.equal(results.status, 200);
    const page = (await results.json()) as { results: Record<string, unknown>[]; next_cursor: string | null };
    assert.equal(page.results.length, 1);
    const row = page.results[0] ?? {};
    assert.equal(row['status'], 'completed');
    assert.equal(row['reason'], 'all_answered');
    assert.equal(row['answered'], 3);
    assert.equal(row['incidents'], 1);
    assert.match(String(row['candidate_name']), /^Walk-in [1-3]$/);
    assert.ok(typeof row['score'] === 'number');
    const result = row['result'] as { skills: unknown[]; percent_correct: number };
    assert.ok(result.skills.length > 0);
    assert.ok(!('trace' in result), 'the item trace stays out of the listing');
    // The same over NATS.
    const overNats = await stack.bus.request('assessmentResults', {
      caller: { user_id: stack.seed.recruiter.user_id, role: 'recruiter' },
      test_id: testId,
    });
    assert.deepEqual(
      overNats.results.map((r) => r.assessment_id),
      [row['assessment_id']],
    );
    const stored = await findAssessment(stack.db, { _id: String(row['assessment_id']) });
    assert.equal(stored?.result?.incidents, 1);

    // Proctors, candidates and strangers may not read results; bad queries are refused.
    const proctorToken = await staffToken(stack.seed.proctor.email, stack.seed.proctor.password);
    for (const [auth, status] of [
      [`Bearer ${proctorToken}`, 403],
      [`Bearer ${token}`, 403],
      ['Bearer not-a-token', 401],
      [undefined, 401],
    ] as const) {
      const r = await fetch(`${http}/api/tests/${testId}/results`, auth === undefined ? {} : { headers: { authorization: auth } });
      assert.equal(r.status, status, auth ?? 'no token');
    }
    const bad = await fetch(`${http}/api/tests/${testId}/results?limit=lots`, { headers: { authorization: `Bearer ${recruiterToken}` } });
    assert.equal(bad.status, 400);
  });

  test('answering goes on while chat is down', async () => {
    const cand = await startCandidate(urlB);
    await stack.platform.stop('chat');
    try {
      assert.equal((await answerCurrent(cand.socket)).type, 'answer_feedback');
      const r = await ask(cand.socket, 'chat_message', { message: 'is anyone there?' });
      assert.ok(['SERVICE_UNAVAILABLE', 'TIMEOUT'].includes(String(r.data['code'])), JSON.stringify(r));
      assert.equal((await answerCurrent(cand.socket)).type, 'answer_feedback');
    } finally {
      await stack.platform.restart('chat');
    }
    cand.socket.ws.close();
  });
});
