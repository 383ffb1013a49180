import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADAPTIVE_TEST_ID, DEMO_TEST_ID } from '@ap/demo';
import { ask, openAuthed, setup } from './support/setup.ts';
import type { TestStack } from './support/setup.ts';

let stack: TestStack;

before(async () => {
  // Presence reports every 200 ms, so that a test can wait for one instead of sleeping.
  stack = await setup({ env: { PRESENCE_INTERVAL_MS: '200' } });
});

after(async () => {
  await (stack as TestStack | undefined)?.close();
});

/** The assessment service's collections that a start writes to. */
const ASSESSMENT_COLLECTIONS = [
  'assessments',
  'assessment_events',
  'assessment_attempts',
  'assessments_active',
  'assessment_presence',
  'applications',
] as const;

/**
 * Every document of those collections, by collection (a start adds to each of them), but for
 * those that mention any of `ignored` (another candidate's ids).
 */
async function assessmentDocuments(ignored: readonly string[] = []): Promise<Record<string, unknown[]>> {
  const all: Record<string, unknown[]> = {};
  for (const name of ASSESSMENT_COLLECTIONS) {
    const docs = await stack.db.collection(name).find({}).toArray();
    all[name] = docs.filter((d) => !ignored.some((id) => JSON.stringify(d).includes(id)));
  }
  return all;
}

describe('reading a test before starting it', () => {
  test('get_test_info and GET /api/tests/{id}/info answer from the definition and create nothing', async () => {
    const candidate = await stack.inviteCandidate(ADAPTIVE_TEST_ID);
    const before = await assessmentDocuments();
    const s = await openAuthed(`${stack.wsUrl}/ws/assessment`, candidate.token);

    // The token's only test is the default, as for start_assessment.
    const info = await ask(s, 'get_test_info');
    assert.equal(info.type, 'test_info', JSON.stringify(info));
    const test = info.data['test'] as Record<string, unknown>;
    assert.equal(test['test_id'], ADAPTIVE_TEST_ID);
    assert.equal(test['title'], 'Adaptive quantitative reasoning');
    assert.equal(test['time_limit_s'], 20 * 60);
    assert.deepEqual(test['planned_items'], { min: 10, max: 20 });
    assert.equal(test['strategy'], 'adaptive');
    assert.equal((test['skills'] as string[]).length, 4);
    assert.equal(info.data['proctored'], false);
    assert.equal(typeof info.data['description'], 'string');
    assert.equal(info.data['attempt'], null, 'not started');
    assert.ok(!JSON.stringify(info).includes('"key"'), 'no answer key');

    // Asked again, with the test id (as a number where it is one) and over HTTP: the same facts.
    const again = await ask(s, 'get_test_info', { test_id: ADAPTIVE_TEST_ID });
    assert.deepEqual(again.data, info.data);
    const res = await fetch(`${stack.httpUrl}/api/tests/${ADAPTIVE_TEST_ID}/info`, {
      headers: { authorization: `Bearer ${candidate.token}` },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), info.data);

    // Nothing was written: no assessment, no attempt, no event, no presence, no application. A
    // handler writes before it replies; presence rows are written from the gateway's reports, so
    // another candidate starts on the same gateway and its row shows that a report sent after
    // these reads was written (any assessment they had bound would be in the same report).
    const second = await stack.inviteCandidate(ADAPTIVE_TEST_ID);
    const otherSocket = await openAuthed(`${stack.wsUrl}/ws/assessment`, second.token);
    const otherStarted = await ask(otherSocket, 'start_assessment');
    assert.equal(otherStarted.type, 'assessment_started', JSON.stringify(otherStarted));
    const otherId = String(otherStarted.data['assessment_id']);
    const presence = stack.db.collection<{ _id: string }>('assessment_presence');
    for (const giveUp = Date.now() + 10_000; (await presence.findOne({ _id: otherId })) === null;) {
      assert.ok(Date.now() < giveUp, 'a presence report after the reads was written within 10 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    otherSocket.ws.close();
    assert.deepEqual(await assessmentDocuments([second.user_id, otherId]), before, 'reading the rules created nothing');

    // Another test than the token's is refused, over both.
    const other = await ask(s, 'get_test_info', { test_id: DEMO_TEST_ID });
    assert.equal(other.type, 'error');
    assert.equal(other.data['code'], 'FORBIDDEN');
    const otherHttp = await fetch(`${stack.httpUrl}/api/tests/${DEMO_TEST_ID}/info`, {
      headers: { authorization: `Bearer ${candidate.token}` },
    });
    assert.equal(otherHttp.status, 403);
    assert.equal((await fetch(`${stack.httpUrl}/api/tests/${ADAPTIVE_TEST_ID}/info`)).status, 401, 'a token is required');
    const badId = await fetch(`${stack.httpUrl}/api/tests/bad%20id/info`, { headers: { authorization: `Bearer ${candidate.token}` } });
    assert.equal(badId.status, 400);
    const post = await fetch(`${stack.httpUrl}/api/tests/${ADAPTIVE_TEST_ID}/info`, {
      method: 'POST',
      headers: { authorization: `Bearer ${candidate.token}` },
    });
    assert.equal(post.status, 405);
    const bad = await ask(s, 'get_test_info', { test_id: 'x', extra: 1 });
    assert.equal(bad.data['code'], 'VALIDATION_FAILED');

    // start_assessment is what starts the clock: from the full limit, and the info then shows the attempt.
    const started = await ask(s, 'start_assessment');
    assert.equal(started.type, 'assessment_started', JSON.stringify(started));
    assert.ok(Number(started.data['time_remaining_s']) >= 20 * 60 - 2, 'the clock starts from the full limit at Start');
    const resumed = await ask(s, 'get_test_info');
    const attempt = resumed.data['attempt'] as Record<string, unknown>;
    assert.equal(attempt['assessment_id'], started.data['assessment_id']);
    assert.equal(attempt['status'], 'in_progress');
    assert.equal(attempt['answered'], 0);
    assert.ok(Number(attempt['time_remaining_s']) <= Number(started.data['time_remaining_s']));
    s.ws.close();
  });

  test('staff read the tests they may see, and no other', async () => {
    const proctor = await stack.staffToken('info-proctor@example.com', 'proctor', [ADAPTIVE_TEST_ID]);
    const ok = await fetch(`${stack.httpUrl}/api/tests/${ADAPTIVE_TEST_ID}/info`, { headers: { authorization: `Bearer ${proctor}` } });
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { attempt: unknown }).attempt, null);
    const refused = await fetch(`${stack.httpUrl}/api/tests/${DEMO_TEST_ID}/info`, { headers: { authorization: `Bearer ${proctor}` } });
    assert.equal(refused.status, 403);
  });
});
