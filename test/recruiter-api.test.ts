// The routes of the recruiter's workspace on a real stack: the tests list with its counts, bank
// import (a bad bank stores nothing), test creation, item statistics and one assessment's report,
// each refused to candidates, proctors and recruiters outside the test.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isAppError } from '@ap/protocol';
import { findAssessment } from '../services/assessment/src/repository.ts';
import { ask, openAuthed, setup } from './support/setup.ts';
import type { TestStack } from './support/setup.ts';

let stack: TestStack;

before(async () => {
  stack = await setup();
});

after(() => stack.close());

type Reply = { status: number; body: Record<string, unknown> };

async function call(method: 'GET' | 'POST', path: string, token: string | undefined, body?: unknown): Promise<Reply> {
  const res = await fetch(`${stack.httpUrl}${path}`, {
    method,
    headers: {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const errorCode = (r: Reply): string => (r.body['error'] as { code?: string } | undefined)?.code ?? '';

function bankItem(id: string, key = 'a'): string {
  return `- {id: ${id}, skill: reading, a: 1.2, b: 0.3, stem: "Question ${id}?", options: [{id: a, text: "Yes"}, {id: b, text: "No"}], key: ${key}}`;
}

/** A candidate of `testId` answers every question with the first option until the test ends. */
async function takeTest(testId: string): Promise<string> {
  const candidate = await stack.inviteCandidate(testId);
  const socket = await openAuthed(`${stack.wsUrl}/ws/assessment`, candidate.token);
  const started = await ask(socket, 'start_assessment');
  assert.equal(started.type, 'assessment_started', JSON.stringify(started));
  await ask(socket, 'integrity_event', { kind: 'tab_hidden', at: new Date().toISOString() });
  for (let i = 0; i < 20; i++) {
    const q = await ask(socket, 'get_question');
    if (q.type !== 'question') break;
    const options = q.data['options'] as { id: string }[];
    const answered = await ask(socket, 'submit_answer', { question_id: q.data['question_id'], selected_option: options[0]?.id });
    assert.equal(answered.type, 'answer_feedback', JSON.stringify(answered));
  }
  await socket.waitFor((f) => f.type === 'assessment_completed');
  socket.ws.close();
  return String(started.data['assessment_id']);
}

describe("the recruiter's workspace API", () => {
  let recruiter: string;
  let other: string;
  let proctor: string;
  let candidate: string;
  let testId: string;

  before(async () => {
    recruiter = (await stack.bus.request('authLogin', { email: stack.seed.recruiter.email, password: stack.seed.recruiter.password }))
      .token;
    proctor = (await stack.bus.request('authLogin', { email: stack.seed.proctor.email, password: stack.seed.proctor.password })).token;
    // Another recruiter, whose scope is the demo test only.
    other = await stack.staffToken('other-recruiter@test.example', 'recruiter', [stack.seed.test_id]);
    candidate = (await stack.inviteCandidate()).token;
  });

  test('a bank with errors imports nothing and says which item and field; a valid one creates a test', async () => {
    const bad = [bankItem('api-b1'), bankItem('api-b2', 'z'), '- {id: api-b3, skill: reading, stem: "No options?", key: a}'].join('\n');
    const refused = await call('POST', '/api/items/import', recruiter, { format: 'yaml', text: bad });
    assert.equal(refused.status, 400);
    assert.equal(errorCode(refused), 'VALIDATION_FAILED');
    const details = (refused.body['error'] as { details?: { errors?: { item: string; field: string }[] } }).details;
    const errors = (details?.errors ?? []).map((e) => `${e.item}/${e.field}`);
    assert.ok(errors.includes('api-b2/key'), errors.join(', '));
    assert.ok(errors.includes('api-b3/options'), errors.join(', '));
    assert.equal(await stack.db.collection('items').countDocuments({ _id: { $in: ['api-b1', 'api-b2', 'api-b3'] } } as never), 0);

    // Candidates and proctors may not import or create.
    assert.equal((await call('POST', '/api/items/import', candidate, { format: 'yaml', text: bankItem('api-x') })).status, 403);
    assert.equal((await call('POST', '/api/items/import', proctor, { format: 'yaml', text: bankItem('api-x') })).status, 403);
    assert.equal((await call('POST', '/api/items/import', recruiter, { format: 'toml', text: 'x' })).status, 400);

    const good = [bankItem('api-g1'), bankItem('api-g2'), bankItem('api-g3', 'b')].join('\n');
    const imported = await call('POST', '/api/items/import', recruiter, { format: 'yaml', text: good });
    assert.equal(imported.status, 200, JSON.stringify(imported.body));
    assert.deepEqual(imported.body['item_ids'], ['api-g1', 'api-g2', 'api-g3']);
    // The same bank again is fine; changing an existing item (other tests may use it) is refused, and nothing moves.
    assert.equal((await call('POST', '/api/items/import', recruiter, { format: 'yaml', text: good })).status, 200);
    const changed = [bankItem('api-g4'), bankItem('api-g1', 'b')].join('\n');
    const replacing = await call('POST', '/api/items/import', recruiter, { format: 'yaml', text: changed });
    assert.equal(replacing.status, 400);
    assert.match(JSON.stringify(replacing.body), /"item":"api-g1","field":"id"/);
    assert.equal(await stack.db.collection('items').countDocuments({ _id: 'api-g4' } as never), 0);
    assert.equal((await stack.db.collection<{ _id: string; key: string }>('items').findOne({ _id: 'api-g1' }))?.key, 'a');

    const definition = { title: 'API bank test', time_limit_s: 600, strategy: 'fixed', items: ['api-g1', 'api-g2', 'api-g3'] };
    assert.equal((await call('POST', '/api/tests', candidate, { definition })).status, 403);
    assert.equal((await call('POST', '/api/tests', recruiter, { definition: { ...definition, items: [] } })).status, 400);
    // Items are never written through this route.
    assert.equal((await call('POST', '/api/tests', recruiter, { definition, items: [] })).status, 400);
    assert.equal((await call('POST', '/api/tests', recruiter, { definition: { ...definition, items: ['api-none'] } })).status, 400);
    const created = await call('POST', '/api/tests', recruiter, { definition });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    testId = String(created.body['test_id']);
    const stored = await stack.db.collection<{ _id: string; items: string[]; created_by: string }>('tests').findOne({ _id: testId });
    assert.ok(stored !== null);
    assert.deepEqual(stored.items, ['api-g1', 'api-g2', 'api-g3']);
    assert.equal(stored.created_by, stack.seed.recruiter.user_id);
  });

  test('the tests list counts invitations, started and finished assessments and the mean score, per scope', async () => {
    const assessmentId = await takeTest(testId);
    await stack.inviteCandidate(testId);
    const list = await call('GET', '/api/tests', recruiter);
    assert.equal(list.status, 200, JSON.stringify(list.body));
    const tests = list.body['tests'] as Record<string, unknown>[];
    const row = tests.find((t) => t['test_id'] === testId);
    assert.ok(row !== undefined, 'the new test is listed');
    const stored = await findAssessment(stack.db, { _id: assessmentId });
    const score = stored?.result?.scaled_score ?? stored?.result?.percent_correct;
    assert.equal(row['invited'], 2);
    assert.equal(row['started'], 1);
    assert.equal(row['finished'], 1);
    assert.equal(row['average_score'], Math.round((score ?? NaN) * 10) / 10);
    assert.equal(row['items'], 3);

    // The other recruiter sees only the demo test; candidates and proctors see nothing.
    const scoped = await call('GET', '/api/tests', other);
    assert.equal(scoped.status, 200);
    assert.deepEqual(
      (scoped.body['tests'] as { test_id: string }[]).map((t) => t.test_id),
      [stack.seed.test_id],
    );
    assert.equal((await call('GET', '/api/tests', candidate)).status, 403);
    assert.equal((await call('GET', '/api/tests', proctor)).status, 403);
    assert.equal((await call('GET', '/api/tests', undefined)).status, 401);
  });

  test('item statistics and the report match what was stored, and only the test’s recruiters read them', async () => {
    const list = await call('GET', `/api/tests/${testId}/results?include_unfinished=true`, recruiter);
    const assessmentId = String((list.body['results'] as { assessment_id: string }[])[0]?.assessment_id);
    const stored = await findAssessment(stack.db, { _id: assessmentId });
    assert.ok(stored !== null);

    const stats = await call('GET', `/api/tests/${testId}/items`, recruiter);
    assert.equal(stats.status, 200, JSON.stringify(stats.body));
    assert.equal(stats.body['examinees'], 1);
    const items = stats.body['items'] as { item_id: string; administered: number; proportion_correct: number; irt: unknown }[];
    assert.deepEqual(
      items.map((i) => i.item_id),
      ['api-g1', 'api-g2', 'api-g3'],
    );
    for (const item of items) {
      const response: { correct: boolean } | undefined = stored.responses.find((r) => r.item_id === item.item_id);
      assert.equal(item.administered, response === undefined ? 0 : 1);
      assert.equal(item.proportion_correct, response === undefined ? null : response.correct ? 1 : 0);
      // Without a c in the file, the bank's guessing parameter is one over the number of options.
      assert.deepEqual(item.irt, { a: 1.2, b: 0.3, c: 0.5 });
    }

    const report = await call('GET', `/api/tests/${testId}/report?assessment_id=${assessmentId}`, recruiter);
    assert.equal(report.status, 200, JSON.stringify(report.body));
    const answers = report.body['answers'] as { item_id: string; correct: boolean; selected_option: string }[];
    assert.deepEqual(
      answers.map((a) => [a.item_id, a.selected_option, a.correct]),
      stored.responses.map((r) => [r.item_id, r.selected_option, r.correct]),
    );
    const timeline = report.body['timeline'] as { kind: string }[];
    assert.ok(
      timeline.some((e) => e.kind === 'incident: tab_hidden'),
      JSON.stringify(timeline),
    );
    assert.equal(report.body['status'], 'completed');

    // Refused: candidates, proctors, a recruiter outside the test; an assessment of another test is unknown here.
    for (const [token, status] of [
      [candidate, 403],
      [proctor, 403],
      [other, 403],
    ] as const) {
      assert.equal((await call('GET', `/api/tests/${testId}/items`, token)).status, status);
      assert.equal((await call('GET', `/api/tests/${testId}/report?assessment_id=${assessmentId}`, token)).status, status);
    }
    const elsewhere = await call('GET', `/api/tests/${stack.seed.test_id}/report?assessment_id=${assessmentId}`, recruiter);
    assert.equal(elsewhere.status, 404);
    assert.equal(errorCode(elsewhere), 'NOT_FOUND');
    assert.equal((await call('GET', `/api/tests/${testId}/report`, recruiter)).status, 400);
    assert.equal((await call('GET', `/api/tests/${testId}/report?assessment_id=a/b`, recruiter)).status, 400);
  });

  test('the same roles hold over NATS', async () => {
    const asCandidate = { user_id: 'someone', role: 'candidate' as const, tests: [testId] };
    const forbidden = (err: unknown) => isAppError(err) && err.code === 'FORBIDDEN';
    await assert.rejects(stack.bus.request('testsList', { caller: asCandidate }), forbidden);
    await assert.rejects(stack.bus.request('itemStats', { caller: asCandidate, test_id: testId }), forbidden);
    const scoped = { user_id: 'other', role: 'recruiter' as const, tests: [stack.seed.test_id] };
    await assert.rejects(stack.bus.request('itemStats', { caller: scoped, test_id: testId }), forbidden);
    await assert.rejects(stack.bus.request('assessmentReport', { caller: scoped, test_id: testId, assessment_id: 'x' }), forbidden);
    const counts = await stack.bus.request('authInvitationCounts', { caller: scoped, test_ids: [testId, stack.seed.test_id] });
    assert.deepEqual(
      counts.counts.map((c) => c.test_id),
      [stack.seed.test_id],
    );
  });

  test('results are read a page at a time with the cursor (as the CSV export does), and the mean score follows', async () => {
    await takeTest(testId);
    const first = await call('GET', `/api/tests/${testId}/results?limit=1`, recruiter);
    assert.equal(first.status, 200);
    const firstRows = first.body['results'] as { assessment_id: string; score: number }[];
    assert.equal(firstRows.length, 1);
    assert.equal(typeof first.body['next_cursor'], 'string');
    const second = await call('GET', `/api/tests/${testId}/results?limit=1&after=${String(first.body['next_cursor'])}`, recruiter);
    const secondRows = second.body['results'] as { assessment_id: string; score: number }[];
    assert.equal(secondRows.length, 1);
    assert.equal(second.body['next_cursor'], null);
    const rows = [...firstRows, ...secondRows];
    const stored = await stack.db
      .collection<{ _id: string }>('assessments')
      .find({ test_id: testId } as never)
      .toArray();
    assert.deepEqual(rows.map((r) => r.assessment_id).sort(), stored.map((a) => a._id).sort());
    const list = await call('GET', '/api/tests', recruiter);
    const row = (list.body['tests'] as Record<string, unknown>[]).find((t) => t['test_id'] === testId);
    assert.ok(row !== undefined);
    assert.equal(row['finished'], 2);
    assert.equal(row['average_score'], Math.round((((rows[0]?.score ?? NaN) + (rows[1]?.score ?? NaN)) / 2) * 10) / 10);
  });
});
