import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isAppError } from '@ap/protocol';
import { ask, nextFrame, openAuthed, setup } from './support/setup.ts';
import type { TestStack } from './support/setup.ts';

let stack: TestStack;
let testId: string;
let recruiter: string;
let proctor: string;

const LIMIT_S = 10 * 60;
const ACCOMMODATIONS = { time_multiplier: 1.5, extra_seconds: 60 };

before(async () => {
  stack = await setup();
  testId = await stack.createTest({ id: 'accommodated', title: 'Extra time', time_limit_s: LIMIT_S, strategy: 'fixed' }, 2);
  recruiter = await stack.staffToken('acc-recruiter@example.com', 'recruiter', [testId]);
  proctor = await stack.staffToken('acc-proctor@example.com', 'proctor', [testId]);
});

after(async () => {
  await (stack as TestStack | undefined)?.close();
});

async function post(path: string, body: unknown, token?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${stack.httpUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const invitations = () => stack.db.collection('invitations').countDocuments({ test_id: testId });

describe('time accommodations', () => {
  test('an invitation with ×1.5 and +60 s gives its candidate limit × 1.5 + 60 s, shown live and kept in the result', async () => {
    const invited = await post(
      `/api/tests/${testId}/invitations`,
      { candidate_email: 'extra-time@example.com', candidate_name: 'Extra Time', accommodations: ACCOMMODATIONS },
      recruiter,
    );
    assert.equal(invited.status, 201, JSON.stringify(invited.body));
    assert.deepEqual(invited.body['accommodations'], ACCOMMODATIONS);
    const stored = await stack.db.collection('invitations').findOne({ _id: invited.body['invitation_id'] as never });
    assert.deepEqual(stored?.['accommodations'], ACCOMMODATIONS);

    const redeemed = await post('/api/auth/invitations/redeem', { code: invited.body['code'] });
    assert.equal(redeemed.status, 200, JSON.stringify(redeemed.body));
    const token = String(redeemed.body['token']);

    const ps = await openAuthed(`${stack.wsUrl}/ws/chat`, proctor);
    assert.equal((await ask(ps, 'watch_assessments', { test_id: testId })).type, 'live_assessments');
    const since = ps.frames.length;

    const cs = await openAuthed(`${stack.wsUrl}/ws/assessment`, token);
    // Before Start, the rules say how long this candidate has.
    const info = await ask(cs, 'get_test_info');
    assert.equal(info.type, 'test_info', JSON.stringify(info));
    assert.deepEqual(info.data['accommodations'], ACCOMMODATIONS);
    assert.equal(info.data['time_allowed_s'], LIMIT_S * 1.5 + 60);
    assert.equal((info.data['test'] as Record<string, unknown>)['time_limit_s'], LIMIT_S);
    const started = await ask(cs, 'start_assessment');
    assert.equal(started.type, 'assessment_started', JSON.stringify(started));
    const assessmentId = String(started.data['assessment_id']);

    // The deadline as stored: started_at + limit × 1.5 + 60 s.
    const doc = await stack.db.collection('assessments').findOne({ _id: assessmentId as never });
    assert.ok(doc !== null);
    const startedAt = (doc['started_at'] as Date).getTime();
    const deadline = (doc['deadline'] as Date).getTime();
    assert.equal(deadline - startedAt, (LIMIT_S * 1.5 + 60) * 1000);
    assert.deepEqual(doc['accommodations'], ACCOMMODATIONS);
    assert.equal(started.data['deadline'], new Date(deadline).toISOString());
    assert.ok(Number(started.data['time_remaining_s']) > LIMIT_S * 1.5);

    // The proctors' live row names the accommodations.
    const live = await nextFrame(ps, since, (f) => f.type === 'live_assessment' && f.data['assessment_id'] === assessmentId);
    assert.deepEqual(live.data['accommodations'], ACCOMMODATIONS);
    assert.equal(live.data['deadline'], new Date(deadline).toISOString());
    const snapshot = await ask(ps, 'watch_assessments', { test_id: testId });
    const row = (snapshot.data['assessments'] as Record<string, unknown>[]).find((r) => r['assessment_id'] === assessmentId);
    assert.deepEqual(row?.['accommodations'], ACCOMMODATIONS);

    // Ended: the result and the recruiter's results row record them.
    const ended = await ask(cs, 'end_assessment');
    assert.equal(ended.type, 'assessment_completed', JSON.stringify(ended));
    const res = await fetch(`${stack.httpUrl}/api/tests/${testId}/results`, { headers: { authorization: `Bearer ${recruiter}` } });
    assert.equal(res.status, 200);
    const results = ((await res.json()) as { results: Record<string, unknown>[] }).results;
    const mine = results.find((r) => r['assessment_id'] === assessmentId);
    assert.ok(mine !== undefined, JSON.stringify(results));
    assert.deepEqual(mine['accommodations'], ACCOMMODATIONS);
    assert.deepEqual((mine['result'] as Record<string, unknown>)['accommodations'], ACCOMMODATIONS);
    const final = await stack.db.collection('assessments').findOne({ _id: assessmentId as never });
    assert.deepEqual((final?.['result'] as Record<string, unknown> | null)?.['accommodations'], ACCOMMODATIONS);
    ps.ws.close();
    cs.ws.close();
  });

  test('an open code carries its accommodations to every candidate who redeems it; none means the plain limit', async () => {
    const open = await post(`/api/tests/${testId}/invitations`, { max_uses: 2, accommodations: { time_multiplier: 2 } }, recruiter);
    assert.equal(open.status, 201, JSON.stringify(open.body));
    assert.deepEqual(open.body['accommodations'], { time_multiplier: 2, extra_seconds: 0 });
    const plain = await post(`/api/tests/${testId}/invitations`, { max_uses: 1 }, recruiter);
    assert.equal(plain.status, 201);
    assert.equal(plain.body['accommodations'], undefined);

    const limits: number[] = [];
    for (const code of [open.body['code'], plain.body['code']]) {
      const redeemed = await post('/api/auth/invitations/redeem', { code, name: 'Open code' });
      assert.equal(redeemed.status, 200, JSON.stringify(redeemed.body));
      const cs = await openAuthed(`${stack.wsUrl}/ws/assessment`, String(redeemed.body['token']));
      const info = await ask(cs, 'get_test_info');
      assert.equal(info.data['time_allowed_s'], code === plain.body['code'] ? undefined : LIMIT_S * 2);
      const started = await ask(cs, 'start_assessment');
      const doc = await stack.db.collection('assessments').findOne({ _id: String(started.data['assessment_id']) as never });
      limits.push(((doc?.['deadline'] as Date).getTime() - (doc?.['started_at'] as Date).getTime()) / 1000);
      cs.ws.close();
    }
    assert.deepEqual(limits, [LIMIT_S * 2, LIMIT_S]);
  });

  test('a chosen code sent again is the same invitation only with the same accommodations', async () => {
    const body = { candidate_email: 'chosen-code@example.com', code: 'EXTRA-TIME-CODE-0001', accommodations: { time_multiplier: 1.25 } };
    const first = await post(`/api/tests/${testId}/invitations`, body, recruiter);
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const again = await post(`/api/tests/${testId}/invitations`, body, recruiter);
    assert.equal(again.status, 201);
    assert.equal(again.body['invitation_id'], first.body['invitation_id']);
    const before = await invitations();
    const other = await post(`/api/tests/${testId}/invitations`, { ...body, accommodations: { time_multiplier: 2 } }, recruiter);
    assert.equal(other.status, 409, JSON.stringify(other.body));
    assert.equal((other.body['error'] as Record<string, unknown>)['code'], 'CONFLICT');
    const none = await post(`/api/tests/${testId}/invitations`, { candidate_email: body.candidate_email, code: body.code }, recruiter);
    assert.equal(none.status, 409);
    assert.equal(await invitations(), before);
    const stored = await stack.db.collection('invitations').findOne({ _id: first.body['invitation_id'] as never });
    assert.deepEqual(stored?.['accommodations'], { time_multiplier: 1.25, extra_seconds: 0 });
  });

  test('out-of-range or mistyped accommodations are refused with a code, and nothing is stored', async () => {
    const bad: unknown[] = [
      { time_multiplier: 0 },
      { time_multiplier: 10 },
      { time_multiplier: -1.5 },
      { time_multiplier: 0.5 },
      { time_multiplier: 'NaN' },
      { time_multiplier: '1.5' },
      { time_multiplier: null },
      { extra_seconds: -60 },
      { extra_seconds: 1.5 },
      { extra_seconds: '60' },
      { extra_seconds: 10 ** 9 },
      { time_multiplier: 1.5, minutes: 3 },
      '1.5',
      [1.5, 60],
    ];
    const before = await invitations();
    for (const accommodations of bad) {
      const res = await post(`/api/tests/${testId}/invitations`, { candidate_email: 'refused@example.com', accommodations }, recruiter);
      assert.equal(res.status, 400, `${JSON.stringify(accommodations)}: ${JSON.stringify(res.body)}`);
      assert.equal((res.body['error'] as Record<string, unknown>)['code'], 'VALIDATION_FAILED', JSON.stringify(accommodations));
    }
    // NaN cannot be written in JSON: such a body is not JSON at all.
    const nan = await post(`/api/tests/${testId}/invitations`, '{"accommodations":{"time_multiplier":NaN}}', recruiter);
    assert.equal(nan.status, 400);
    assert.equal((nan.body['error'] as Record<string, unknown>)['code'], 'INVALID_JSON');

    // On the bus, NaN and Infinity (null once encoded) are refused by the service, which stores nothing.
    for (const time_multiplier of [Number.NaN, Number.POSITIVE_INFINITY]) {
      await assert.rejects(
        stack.bus.request('authInvite', {
          caller: { user_id: stack.seed.recruiter.user_id, role: 'recruiter' },
          test_id: testId,
          accommodations: { time_multiplier },
        }),
        (err: unknown) => isAppError(err) && err.code === 'VALIDATION_FAILED',
      );
    }
    assert.equal(await invitations(), before, 'no invitation stored');
    assert.equal(await stack.db.collection('users').countDocuments({ email: 'refused@example.com' }), 0, 'no candidate made');
  });
});
