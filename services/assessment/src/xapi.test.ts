import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AssessmentDoc, ResultDoc } from './store.ts';
import { buildStatements, isoDuration, nameUuid, registrationOf, statementId, statementSchema } from './xapi.ts';
import { retryDelayMs } from '@ap/protocol';

const identity = { homePage: 'https://assess.example.org', activityBase: 'https://assess.example.org/xapi/tests/' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/u;

function finished(status: AssessmentDoc['status'], result: Partial<ResultDoc> = {}): AssessmentDoc {
  return {
    _id: 'asm1',
    attempt_key: 'cand1:t1:1',
    test_id: 't1',
    candidate_id: 'cand1',
    application_id: null,
    status,
    strategy: 'fixed',
    seed: 's',
    planned: { min: 4, max: 4 },
    started_at: new Date('2026-01-02T10:00:00.000Z'),
    deadline: new Date('2026-01-02T10:30:00.000Z'),
    finished_at: new Date('2026-01-02T10:12:30.250Z'),
    reason: status === 'completed' ? 'all_answered' : 'time_limit',
    current: null,
    responses: [],
    result: { number_correct: 3, answered: 4, percent_correct: 75, skills: [], ...result },
    log: [],
    version: 5,
    created_at: new Date('2026-01-02T10:00:00.000Z'),
    updated_at: new Date('2026-01-02T10:12:30.250Z'),
  } as AssessmentDoc;
}

test('ids are UUIDs derived from the assessment and verb: the same input gives the same id, others differ', () => {
  assert.match(nameUuid('x'), UUID);
  assert.equal(statementId('asm1', 'completed'), statementId('asm1', 'completed'));
  assert.notEqual(statementId('asm1', 'completed'), statementId('asm1', 'attempted'));
  assert.notEqual(statementId('asm1', 'completed'), statementId('asm2', 'completed'));
  assert.match(registrationOf('asm1'), UUID);
  assert.notEqual(registrationOf('asm1'), statementId('asm1', 'attempted'));
});

test('a completed assessment without a decision: attempted, then completed with score, completion and duration', () => {
  const statements = buildStatements(finished('completed'), 'Algebra', identity);
  assert.deepEqual(
    statements.map((s) => s.verb.id),
    ['http://adlnet.gov/expapi/verbs/attempted', 'http://adlnet.gov/expapi/verbs/completed'],
  );
  const [attempted, completed] = statements;
  assert.ok(attempted !== undefined && completed !== undefined);
  assert.equal(attempted.timestamp, '2026-01-02T10:00:00.000Z');
  assert.equal(attempted.result, undefined);
  assert.deepEqual(completed.actor, { objectType: 'Agent', account: { homePage: identity.homePage, name: 'cand1' } });
  assert.equal(completed.object.id, 'https://assess.example.org/xapi/tests/t1');
  assert.deepEqual(completed.object.definition.name, { 'en-US': 'Algebra' });
  assert.deepEqual(completed.result, { score: { scaled: 0.75, raw: 3, min: 0, max: 4 }, completion: true, duration: 'PT750.25S' });
  assert.equal(completed.context.registration, registrationOf('asm1'));
  assert.equal(attempted.context.registration, completed.context.registration);
  assert.equal(completed.timestamp, '2026-01-02T10:12:30.250Z');
});

test('a decision adds passed or failed with success; undecided adds neither', () => {
  const pass = buildStatements(finished('completed', { decision: 'pass' }), 'T', identity);
  assert.deepEqual(
    pass.map((s) => s.verb.display['en-US']),
    ['attempted', 'completed', 'passed'],
  );
  assert.equal(pass[1]?.result?.success, true);
  assert.equal(pass[2]?.id, statementId('asm1', 'passed'));
  const fail = buildStatements(finished('expired', { decision: 'fail' }), 'T', identity);
  assert.deepEqual(
    fail.map((s) => s.verb.display['en-US']),
    ['attempted', 'completed', 'failed'],
  );
  assert.equal(fail[2]?.result?.success, false);
  const undecided = buildStatements(finished('completed', { decision: 'undecided' }), 'T', identity);
  assert.equal(undecided.length, 2);
  assert.equal(undecided[1]?.result?.success, undefined);
});

test('abandoned and terminated assessments are terminated, not completed, and never passed', () => {
  for (const status of ['abandoned', 'terminated'] as const) {
    const statements = buildStatements(finished(status, { decision: 'pass' }), 'T', identity);
    assert.deepEqual(
      statements.map((s) => s.verb.display['en-US']),
      ['attempted', 'terminated'],
    );
    const outcome = statements[1]?.result;
    assert.equal(outcome?.completion, false);
    assert.equal(outcome.success, undefined);
  }
});

test('nothing answered scores 0 of 0; an unfinished assessment gives no statements', () => {
  const none = buildStatements(finished('abandoned', { number_correct: 0, answered: 0, percent_correct: 0 }), 'T', identity);
  assert.deepEqual(none[1]?.result?.score, { scaled: 0, raw: 0, min: 0, max: 0 });
  assert.deepEqual(buildStatements({ ...finished('completed'), finished_at: null }, 'T', identity), []);
});

test('the statement schema refuses what xAPI 1.0.3 forbids', () => {
  const [good] = buildStatements(finished('completed'), 'T', identity);
  assert.ok(good !== undefined);
  assert.ok(statementSchema.safeParse(good).success);
  const bad = [
    { ...good, id: 'not-a-uuid' },
    { ...good, timestamp: '2026-01-02 10:00' },
    { ...good, context: { registration: 'asm1' } },
    { ...good, result: { score: { scaled: 1.5, raw: 1, min: 0, max: 1 } } },
    { ...good, result: { score: { scaled: 0.5, raw: 5, min: 0, max: 4 } } },
    { ...good, result: { duration: '12 minutes' } },
    { ...good, verb: { id: 'completed', display: { 'en-US': 'completed' } } },
  ];
  for (const statement of bad) assert.equal(statementSchema.safeParse(statement).success, false, JSON.stringify(statement));
});

test('durations and retry delays', () => {
  assert.equal(isoDuration(0), 'PT0S');
  assert.equal(isoDuration(61_005), 'PT61.01S');
  for (let attempt = 1; attempt < 40; attempt++) {
    const delay = retryDelayMs(attempt, { baseMs: 100, maxMs: 10_000 });
    const ceiling = Math.min(10_000, 100 * 2 ** (attempt - 1));
    assert.ok(delay >= ceiling / 2 && delay <= ceiling, `attempt ${String(attempt)}: ${String(delay)}`);
  }
});

test('each answer is an answered statement about its question, within the test, with success, response and duration', () => {
  const asked = new Date('2026-01-02T10:01:00.000Z');
  const responses = [
    {
      item_id: 'q/7',
      index: 0,
      skill: 's',
      selected_option: 'B',
      correct: true,
      asked_at: asked,
      answered_at: new Date('2026-01-02T10:01:12.500Z'),
    },
    {
      item_id: 'lik-1',
      index: 1,
      skill: 's',
      selected_option: 'D',
      correct: false,
      category: 3,
      asked_at: asked,
      answered_at: new Date('2026-01-02T10:02:00.000Z'),
    },
  ];
  const statements = buildStatements({ ...finished('completed'), responses }, 'Algebra', identity);
  assert.deepEqual(
    statements.map((s) => s.verb.display['en-US']),
    ['attempted', 'answered', 'answered', 'completed'],
  );
  const [first, second] = statements.filter((s) => s.verb.display['en-US'] === 'answered');
  assert.ok(first !== undefined && second !== undefined);
  assert.equal(first.id, statementId('asm1', 'answered', 0));
  assert.notEqual(first.id, second.id);
  assert.equal(first.object.id, 'https://assess.example.org/xapi/tests/t1/questions/q%2F7');
  assert.equal(first.object.definition.type, 'http://adlnet.gov/expapi/activities/cmi.interaction');
  assert.deepEqual(first.result, { success: true, response: 'B', duration: 'PT12.5S' });
  assert.deepEqual(second.result, { response: 'D', duration: 'PT60S' }, 'a likert answer is neither right nor wrong');
  assert.equal(first.timestamp, '2026-01-02T10:01:12.500Z');
  assert.deepEqual(first.context.contextActivities, {
    parent: [{ objectType: 'Activity', id: 'https://assess.example.org/xapi/tests/t1' }],
  });
  assert.equal(first.context.registration, registrationOf('asm1'));
});
