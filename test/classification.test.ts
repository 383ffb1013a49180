import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Caller } from '@ap/protocol';
import { findAssessment } from '../services/assessment/src/repository.ts';
import { setup } from './support/setup.ts';
import type { TestStack } from './support/setup.ts';

/**
 * A pass/fail adaptive test: the classification rule ends it at its first decision, the result
 * carries the decision, and the definition is checked when the test is created.
 */
let stack: TestStack;
const ITEMS = 30;

before(async () => {
  stack = await setup();
});
after(async () => {
  await stack.close();
});

type Item = { _id: string; key: string; options: { id: string }[] };

/** Plays one assessment over the bus, answering right or wrong, following the question each feedback names. */
async function play(testId: string, right: boolean): Promise<{ assessmentId: string; answered: number }> {
  const c = await stack.inviteCandidate(testId);
  const caller: Caller = { user_id: c.user_id, role: 'candidate', tests: [testId] };
  const started = await stack.bus.request('assessmentStart', { caller, test_id: testId });
  assert.ok('assessment_id' in started);
  const items = stack.db.collection<Item>('items');
  const first = await stack.bus.request('assessmentQuestion', { caller, assessment_id: started.assessment_id });
  let question = first.question;
  let answered = 0;
  while (question !== null) {
    const item = await items.findOne({ _id: question.question_id });
    assert.ok(item !== null);
    const wrong = item.options.find((o) => o.id !== item.key)?.id ?? 'B';
    const r = await stack.bus.request('assessmentAnswer', {
      caller,
      assessment_id: started.assessment_id,
      question_id: question.question_id,
      selected_option: right ? item.key : wrong,
    });
    answered += 1;
    assert.ok(answered <= ITEMS);
    question = r.feedback.finished ? null : (r.feedback.next_question ?? null);
    if (!r.feedback.finished) assert.ok(question !== null, 'an unfinished assessment names its next question');
  }
  return { assessmentId: started.assessment_id, answered };
}

describe('pass/fail tests', () => {
  for (const rule of ['SPRT', 'CI'] as const) {
    test(`${rule}: a strong candidate passes and a weak one fails, each before the last item, with reason classified`, async () => {
      const testId = await stack.createTest(
        {
          id: `classify-${rule.toLowerCase()}`,
          title: `Pass/fail ${rule}`,
          time_limit_s: 1800,
          strategy: 'adaptive',
          stopping: { min_items: 4, max_items: ITEMS },
          classification: rule === 'SPRT' ? { rule, cut_theta: 0, delta: 0.4 } : { rule, cut_score: 50 },
        },
        ITEMS,
      );
      for (const [right, decision] of [
        [true, 'pass'],
        [false, 'fail'],
      ] as const) {
        const { assessmentId, answered } = await play(testId, right);
        assert.ok(answered >= 4 && answered < ITEMS, `decided after ${answered} of ${ITEMS} items`);
        const stored = await findAssessment(stack.db, { _id: assessmentId });
        assert.equal(stored?.status, 'completed');
        assert.equal(stored.reason, 'classified');
        assert.equal(stored.result?.decision, decision);
        assert.equal(stored.responses.length, answered);
        // Recruiters read the decision in the results.
        const results = await stack.bus.request('assessmentResults', {
          caller: { user_id: stack.seed.recruiter.user_id, role: 'recruiter' },
          test_id: testId,
        });
        const row = results.results.find((r) => r.assessment_id === assessmentId);
        assert.equal(row?.result?.decision, decision, JSON.stringify(row));
      }
    });
  }

  test('a classification on a test that is not adaptive, or with two cuts or none, is refused and nothing is created', async () => {
    const before = await stack.db.collection('tests').countDocuments();
    const bad = [
      { strategy: 'fixed', classification: { rule: 'SPRT', cut_theta: 0 } },
      { strategy: 'adaptive', classification: { rule: 'CI', cut_theta: 0, cut_score: 50 } },
      { strategy: 'adaptive', classification: { rule: 'SPRT' } },
      { strategy: 'adaptive', classification: { rule: 'SPRT', cut_theta: 0, alpha: 0.7 } },
    ] as const;
    for (const b of bad) {
      await assert.rejects(
        stack.createTest({ title: 'bad', time_limit_s: 600, ...b }, 5),
        (err: Error & { code?: string }) => err.code === 'VALIDATION_FAILED',
        JSON.stringify(b),
      );
    }
    assert.equal(await stack.db.collection('tests').countDocuments(), before);
  });
});
