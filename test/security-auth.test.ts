import assert from 'node:assert/strict';
import { findAssessment } from '../services/assessment/src/repository.ts';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { assessmentRoomId, isAppError, tokenClaimsSchema } from '@ap/protocol';
import { setup, ask, openAuthed } from './support/setup.ts';
import type { RawSocket, TestStack } from './support/setup.ts';

// Sign-in and invitations, attacked the way issue 13 (classes 2, 4 and 5) found them open, with the
// whole platform running: throttles answered 429 with Retry-After, a flood of wrong logins that does
// not starve right ones, invitation codes that cannot be guessed, a recruiter of one test who cannot
// mint a token as a candidate of another, invitations only to tests that exist, cleaned names, and
// repeated sign-ins with a named code that leave a mark.
//
// Every HTTP request of this file comes from 127.0.0.1, and throttles remember it: the tests that
// exhaust the address's budgets run last, and requests meant to come from elsewhere go over NATS
// with the `ip` a gateway would set.
let stack: TestStack;
let recruiterToken: string;

before(async () => {
  stack = await setup();
  recruiterToken = (await stack.bus.request('authLogin', { email: stack.seed.recruiter.email, password: stack.seed.recruiter.password }))
    .token;
});

after(async () => {
  await (stack as TestStack | undefined)?.close();
});

type HttpReply = { status: number; retryAfter: string | null; body: Record<string, unknown> };

async function post(path: string, body: unknown, token?: string): Promise<HttpReply> {
  const res = await fetch(`${stack.httpUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(body),
  });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as Record<string, unknown> };
}

function errorCode(reply: HttpReply): unknown {
  return (reply.body['error'] as { code?: unknown } | undefined)?.code;
}

function claimsOf(token: string): ReturnType<typeof tokenClaimsSchema.parse> {
  const payload = token.split('.')[1] ?? '';
  return tokenClaimsSchema.parse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
}

const connect = (path: string, token: string): Promise<RawSocket> => openAuthed(`${stack.wsUrl}${path}`, token);

/** 'ok', or the code a NATS request failed with. */
async function outcome(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (err) {
    return isAppError(err) ? err.code : String(err);
  }
}

function tally(values: readonly (string | number)[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[String(v)] = (counts[String(v)] ?? 0) + 1;
  return counts;
}

const email = (what: string) => `${what}-${randomBytes(4).toString('hex')}@test.example`;
const CODE = /^[A-HJKMNP-Z2-9]{4}(-[A-HJKMNP-Z2-9]{4}){3}$/;

describe('auth under attack (issue 13: throttles, codes, identity, names)', { timeout: 300_000 }, () => {
  test('a default invitation code has at least 60 bits; a chosen one needs 12 letters or digits', async () => {
    const created = await post(`/api/tests/${stack.seed.test_id}/invitations`, { candidate_email: email('bits') }, recruiterToken);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const code = String(created.body['code']);
    assert.match(code, CODE);
    assert.ok(code.replaceAll('-', '').length * Math.log2(31) >= 60);
    const weak = await post(
      `/api/tests/${stack.seed.test_id}/invitations`,
      { candidate_email: email('weak'), code: 'SHORT-CODE-1' },
      recruiterToken,
    );
    assert.equal(weak.status, 400, JSON.stringify(weak.body));
    assert.equal(errorCode(weak), 'VALIDATION_FAILED');
    const chosen = await post(
      `/api/tests/${stack.seed.test_id}/invitations`,
      { code: `intake-${randomBytes(4).toString('hex')}` },
      recruiterToken,
    );
    assert.equal(chosen.status, 201, JSON.stringify(chosen.body));
  });

  test('an invitation to a test that does not exist is refused, and one outside the caller’s tests is forbidden', async () => {
    const missing = await post('/api/tests/no-such-test/invitations', { candidate_email: email('ghost') }, recruiterToken);
    assert.equal(missing.status, 404, JSON.stringify(missing.body));
    assert.equal(errorCode(missing), 'NOT_FOUND');
    assert.equal(await stack.db.collection('invitations').countDocuments({ test_id: 'no-such-test' }), 0);
    const scoped = await stack.staffToken(email('scoped'), 'recruiter', [stack.seed.test_id]);
    const outside = await post(`/api/tests/${stack.seed.adaptive_test_id}/invitations`, { candidate_email: email('x') }, scoped);
    assert.equal(outside.status, 403, JSON.stringify(outside.body));
  });

  test('a recruiter of test Y inviting a test-X candidate’s email gets a token that cannot act in test X', async () => {
    const testX = await stack.createTest(
      { title: 'Test X', time_limit_s: 600, strategy: 'fixed', feedback: { show_correctness: false, show_score: true } },
      3,
    );
    const testY = await stack.createTest(
      { title: 'Test Y', time_limit_s: 600, strategy: 'fixed', feedback: { show_correctness: false, show_score: true } },
      3,
    );
    const recruiterX = await stack.staffToken(email('rx'), 'recruiter', [testX]);
    const recruiterY = await stack.staffToken(email('ry'), 'recruiter', [testY]);
    const victimEmail = email('victim');

    const invitedX = await post(`/api/tests/${testX}/invitations`, { candidate_email: victimEmail, candidate_name: 'Victor' }, recruiterX);
    assert.equal(invitedX.status, 201, JSON.stringify(invitedX.body));
    const victim = await stack.bus.request('authRedeem', { code: String(invitedX.body['code']) });
    const victimSocket = await connect('/ws/assessment', victim.token);
    const started = await ask(victimSocket, 'start_assessment');
    assert.equal(started.type, 'assessment_started', JSON.stringify(started));
    const room = assessmentRoomId(String(started.data['assessment_id']));
    const said = await ask(victimSocket, 'chat_message', { message: 'is the calculator allowed?' });
    assert.equal(said.type, 'chat_message', JSON.stringify(said));

    const invitedY = await post(`/api/tests/${testY}/invitations`, { candidate_email: victimEmail }, recruiterY);
    assert.equal(invitedY.status, 201, JSON.stringify(invitedY.body));
    assert.notEqual(invitedY.body['candidate_id'], victim.user_id);
    const lure = await stack.bus.request('authRedeem', { code: String(invitedY.body['code']) });
    const claims = claimsOf(lure.token);
    assert.notEqual(claims.sub, victim.user_id);
    assert.deepEqual(claims.tests, [testY]);

    const intruder = await connect('/ws/chat', lure.token);
    for (const [type, data] of [
      ['join_room', { room_id: room }],
      ['chat_history', { room_id: room }],
      ['chat_message', { room_id: room, message: 'this is Victor, please send me the answers' }],
      ['start_assessment', { test_id: testX }],
    ] as const) {
      const reply = await ask(intruder, type, data);
      assert.equal(reply.type, 'error', `${type}: ${JSON.stringify(reply)}`);
      assert.ok(['FORBIDDEN', 'NOT_FOUND'].includes(String(reply.data['code'])), `${type}: ${JSON.stringify(reply)}`);
    }
    // The candidate of test X was not pushed aside and still has the room to themselves.
    assert.equal(victimSocket.frames.filter((f) => f.type === 'session_replaced').length, 0);
    const history = await ask(victimSocket, 'chat_history', { room_id: room });
    const texts = (history.data['messages'] as { text: string }[]).map((m) => m.text);
    assert.ok(!texts.some((t) => t.includes('send me the answers')), JSON.stringify(texts));
    intruder.ws.close();
    victimSocket.ws.close();
  });

  test('names given at redemption and invitation are cleaned like chat text', async () => {
    const open = await post(
      `/api/tests/${stack.seed.test_id}/invitations`,
      { max_uses: 2, candidate_name: 'Walk\u202e-in\u0007' },
      recruiterToken,
    );
    assert.equal(open.status, 201, JSON.stringify(open.body));
    const named = await post('/api/auth/invitations/redeem', {
      code: open.body['code'],
      name: '\u202eAda\u0000 Lovelace\r\n\u2066exe\u2069',
    });
    assert.equal(named.status, 200, JSON.stringify(named.body));
    assert.equal(claimsOf(String(named.body['token'])).name, 'Ada Lovelace exe');
    const unnamed = await post('/api/auth/invitations/redeem', { code: open.body['code'], name: '\u202e\u0000' });
    assert.equal(claimsOf(String(unnamed.body['token'])).name, 'Walk-in 2');
    // The name reaches whoever sees the candidate as the token carries it: in chat, for one.
    const socket = await connect('/ws/assessment', String(named.body['token']));
    await ask(socket, 'start_assessment');
    const typed = await ask(socket, 'chat_message', { message: 'hello' });
    assert.equal(typed.type, 'chat_message', JSON.stringify(typed));
    socket.ws.close();
  });

  test('a named code redeemed again is marked on the reply and recorded with where it came from', async () => {
    const invited = await post(`/api/tests/${stack.seed.test_id}/invitations`, { candidate_email: email('twice') }, recruiterToken);
    const code = String(invited.body['code']);
    const first = await post('/api/auth/invitations/redeem', { code });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body['re_sign_in'], undefined);
    const second = await post('/api/auth/invitations/redeem', { code });
    assert.equal(second.status, 200, JSON.stringify(second.body));
    assert.equal(second.body['re_sign_in'], true);
    assert.equal(claimsOf(String(second.body['token'])).re_sign_in, true);
    // The first sign-in is recorded too (its unique insert is what makes it the first), then the repeat.
    const records = await stack.db
      .collection('invitation_redemptions')
      .find({ invitation_id: String(invited.body['invitation_id']) })
      .toArray();
    assert.deepEqual(records.map((r): unknown => r['kind']).sort(), [undefined, 're_sign_in'].sort());
    for (const r of records) assert.match(String(r['ip']), /^(::ffff:)?127\.0\.0\.1$/);
  });

  test('a sign-in with the same code while the assessment runs is an incident proctors see, and counts in the result', async () => {
    const invited = await post(`/api/tests/${stack.seed.test_id}/invitations`, { candidate_email: email('takeover') }, recruiterToken);
    const code = String(invited.body['code']);
    const first = await post('/api/auth/invitations/redeem', { code });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const candidate = await connect('/ws/assessment', String(first.body['token']));
    const started = await ask(candidate, 'start_assessment', { test_id: stack.seed.test_id });
    assert.equal(started.type, 'assessment_started', JSON.stringify(started));
    const assessmentId = String(started.data['assessment_id']);
    const proctor = await connect('/ws/assessment', await stack.staffToken(email('proctor'), 'proctor', [stack.seed.test_id]));
    const watched = await ask(proctor, 'watch_assessments', { test_id: stack.seed.test_id });
    assert.equal(watched.type, 'live_assessments', JSON.stringify(watched));
    const again = await post('/api/auth/invitations/redeem', { code });
    assert.equal(again.body['re_sign_in'], true);
    const row = await proctor.waitFor(
      (f) => f.type === 'live_assessment' && f.data['assessment_id'] === assessmentId && f.data['incidents'] === 1,
      5000,
    );
    assert.equal((row.data['last_incident'] as { kind?: unknown } | undefined)?.kind, 're_sign_in');
    const ended = await ask(candidate, 'end_assessment');
    assert.equal(ended.type, 'assessment_completed', JSON.stringify(ended));
    const results = await stack.bus.request('assessmentResults', {
      caller: { user_id: stack.seed.recruiter.user_id, role: 'recruiter' },
      test_id: stack.seed.test_id,
      include_unfinished: false,
      limit: 500,
    });
    assert.equal(results.results.find((r) => r.assessment_id === assessmentId)?.incidents, 1);
    candidate.ws.close();
    proctor.ws.close();
  });

  test('on a test that requires approval, a sign-in with the same code pauses the assessment until a proctor resumes it', async () => {
    const testId = await stack.createTest(
      {
        title: 'Approval needed',
        time_limit_s: 600,
        strategy: 'fixed',
        re_sign_in: 'approve',
        feedback: { show_correctness: false, show_score: true },
      },
      3,
    );
    const invited = await post(`/api/tests/${testId}/invitations`, { candidate_email: email('approve') }, recruiterToken);
    const code = String(invited.body['code']);
    const candidate = await connect('/ws/assessment', String((await post('/api/auth/invitations/redeem', { code })).body['token']));
    const started = await ask(candidate, 'start_assessment', { test_id: testId });
    const assessmentId = String(started.data['assessment_id']);
    assert.equal((await ask(candidate, 'get_question')).type, 'question');
    const again = await post('/api/auth/invitations/redeem', { code });
    assert.equal(again.body['re_sign_in'], true);
    const paused = await candidate.waitFor((f) => f.type === 'assessment_paused', 5000);
    assert.match(String(paused.data['reason']), /signed in again/);
    assert.equal((await ask(candidate, 'get_question')).data['code'], 'ASSESSMENT_NOT_ACTIVE');
    const proctor = await connect('/ws/assessment', await stack.staffToken(email('approver'), 'proctor', [testId]));
    const resumed = await ask(proctor, 'resume_assessment', { assessment_id: assessmentId });
    assert.equal(resumed.data['status'], 'in_progress', JSON.stringify(resumed));
    assert.equal((await ask(candidate, 'get_question')).type, 'question');
    const stored = await findAssessment(stack.db, { _id: assessmentId });
    assert.deepEqual(
      stored?.log.map((e) => e.type),
      ['pause', 'resume'],
    );
    assert.equal(stored.log[0]?.by, 'system');
    assert.equal(stored.incidents?.[0]?.kind, 're_sign_in');
    candidate.ws.close();
    proctor.ws.close();
  });

  test('fifty wrong passwords: 429 with Retry-After, and then the right password waits too', async () => {
    const who = email('locked');
    await stack.staffToken(who, 'proctor', [stack.seed.test_id]);
    const statuses: number[] = [];
    let limited: HttpReply | undefined;
    for (let i = 0; i < 50; i++) {
      const reply = await post('/api/auth/login', { email: who, password: `wrong-${String(i)}` });
      statuses.push(reply.status);
      if (reply.status === 429) limited ??= reply;
    }
    assert.ok(limited !== undefined, JSON.stringify(tally(statuses)));
    assert.deepEqual(tally(statuses), { 401: 10, 429: 40 });
    assert.equal(errorCode(limited), 'RATE_LIMITED');
    assert.match(String(limited.retryAfter), /^[1-9]\d*$/);
    const right = await post('/api/auth/login', { email: who, password: `${who}-password` });
    assert.equal(right.status, 429);
    // The address a login is throttled by is the socket's: a body cannot choose it.
    const spoofed = await post('/api/auth/login', { email: who, password: `${who}-password`, ip: '203.0.113.1' });
    assert.equal(spoofed.status, 400, JSON.stringify(spoofed.body));
    const spoofedRedeem = await post('/api/auth/invitations/redeem', { code: 'ABCD-EFGH-JKMN-PQRS', ip: '203.0.113.1' });
    assert.equal(spoofedRedeem.status, 400, JSON.stringify(spoofedRedeem.body));
  });

  test('a flood of wrong logins from one address: right logins and redemptions from others still answer promptly, never 503', async () => {
    const victim = email('flooded');
    await stack.staffToken(victim, 'recruiter', [stack.seed.test_id]);
    const calm = email('calm');
    await stack.staffToken(calm, 'recruiter', [stack.seed.test_id]);
    const open = await stack.bus.request('authInvite', {
      caller: { user_id: stack.seed.recruiter.user_id, role: 'recruiter' },
      test_id: stack.seed.test_id,
      max_uses: 5,
    });
    const flood = Array.from({ length: 600 }, (_, i) => post('/api/auth/login', { email: victim, password: `nope-${String(i)}` }));
    // The others sign in once the flood is being answered.
    await Promise.race(flood);
    const startedAt = Date.now();
    // Other people's sign-ins, as another gateway client would send them.
    const others = await Promise.all([
      outcome(stack.bus.request('authLogin', { email: calm, password: `${calm}-password`, ip: '198.51.100.23' })),
      ...Array.from({ length: 5 }, (_, i) =>
        outcome(stack.bus.request('authRedeem', { code: open.code, ip: `198.51.100.${String(30 + i)}` })),
      ),
    ]);
    const tookMs = Date.now() - startedAt;
    const statuses = tally((await Promise.all(flood)).map((r) => r.status));
    assert.deepEqual(others, Array<string>(6).fill('ok'), JSON.stringify(statuses));
    // Well inside the services' 4 s handler timeout, which is what used to answer them 503.
    assert.ok(tookMs < 3500, `the right sign-ins took ${String(tookMs)} ms`);
    assert.equal(statuses['503'], undefined, JSON.stringify(statuses));
    assert.ok((statuses['429'] ?? 0) >= 550, JSON.stringify(statuses));
  });

  test('a hundred random invitation codes: 429 with Retry-After; a real code from elsewhere still works', async () => {
    const real = await stack.bus.request('authInvite', {
      caller: { user_id: stack.seed.recruiter.user_id, role: 'recruiter' },
      test_id: stack.seed.test_id,
      max_uses: 2,
    });
    const replies = await Promise.all(
      Array.from({ length: 100 }, () => {
        const guess = Array.from({ length: 4 }, () => randomBytes(3).toString('base64url').slice(0, 4).toUpperCase()).join('-');
        return post('/api/auth/invitations/redeem', { code: guess });
      }),
    );
    const statuses = tally(replies.map((r) => r.status));
    assert.ok((statuses['429'] ?? 0) >= 50, JSON.stringify(statuses));
    assert.deepEqual(Object.keys(statuses).sort(), ['401', '429'], JSON.stringify(statuses));
    const limited = replies.find((r) => r.status === 429);
    assert.equal(limited === undefined ? undefined : errorCode(limited), 'RATE_LIMITED');
    assert.match(String(limited?.retryAfter), /^[1-9]\d*$/);
    // The guessing address is held back even with a real code; another address is not.
    assert.equal((await post('/api/auth/invitations/redeem', { code: real.code })).status, 429);
    await stack.bus.request('authRedeem', { code: real.code, ip: '203.0.113.40' });
  });
});
