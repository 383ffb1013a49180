import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { testDefinitionSchema } from '@ap/protocol';
import type { TestDefinitionInput } from '@ap/protocol';
import { computeResult, loadTest, planNext } from './selection.ts';
import type { LoadedTest } from './selection.ts';
import type { ItemDoc, ResponseDoc } from './store.ts';

const item = (id: string, b: number): ItemDoc => ({
  _id: id,
  type: 'single_choice',
  stem: `Question ${id}`,
  options: [
    { id: 'A', text: 'right' },
    { id: 'B', text: 'wrong' },
  ],
  key: 'A',
  skill: 's',
  a: 1.2,
  b,
  c: 0,
});

function testOf(input: Omit<TestDefinitionInput, 'title' | 'time_limit_s'>): LoadedTest {
  const def = testDefinitionSchema.parse({ title: 'T', time_limit_s: 600, ...input });
  const ids = [...def.items, ...(def.pretest?.items ?? [])];
  const { id: _ignored, ...body } = def;
  const at = new Date(0);
  // Each item's difficulty follows from its id, whatever else the test holds.
  return loadTest(
    { ...body, _id: 'pt', created_by: 'u', created_at: at, updated_at: at },
    ids.map((id) => item(id, -2 + 0.4 * Number(id.slice(1)))),
  );
}

/** Plays an assessment to its end through planNext, answering every question right. */
function play(test: LoadedTest, seed: string): ResponseDoc[] {
  const responses: ResponseDoc[] = [];
  for (let guard = 0; guard < 100; guard++) {
    const plan = planNext(test, { seed, responses }, 600);
    if (plan.done) return responses;
    const at = new Date(responses.length * 1000);
    responses.push({
      item_id: plan.itemId,
      index: responses.length,
      skill: 's',
      selected_option: 'A',
      correct: true,
      asked_at: at,
      answered_at: at,
    });
  }
  throw new Error('the assessment did not end');
}

const SCORED = Array.from({ length: 10 }, (_, i) => `q${i}`);
const PRETEST = ['p0', 'p1', 'p2'];

describe('pretest items', () => {
  test('a pretest item must not also be a scored one, and ids are unique', () => {
    assert.equal(
      testDefinitionSchema.safeParse({ title: 'T', time_limit_s: 600, strategy: 'fixed', items: SCORED, pretest: { items: ['q1'] } })
        .success,
      false,
    );
    assert.equal(
      testDefinitionSchema.safeParse({ title: 'T', time_limit_s: 600, strategy: 'fixed', items: SCORED, pretest: { items: ['p0', 'p0'] } })
        .success,
      false,
    );
    assert.equal(
      testDefinitionSchema.safeParse({
        title: 'T',
        time_limit_s: 600,
        strategy: 'fixed',
        items: SCORED,
        pretest: { items: ['p0'], rate: 1.5 },
      }).success,
      false,
    );
  });

  test('fixed test: the scored items keep their order, at most max pretest items come in between, each once, and none is scored', () => {
    const t = testOf({ strategy: 'fixed', items: SCORED, pretest: { items: PRETEST, rate: 0.3, max_per_assessment: 2 } });
    assert.deepEqual(t.planned, { min: 10, max: 12 });
    let withPretest = 0;
    for (let s = 0; s < 200; s++) {
      const responses = play(t, `seed-${s}`);
      const asked = responses.map((r) => r.item_id);
      assert.deepEqual(
        asked.filter((id) => id.startsWith('q')),
        SCORED,
      );
      const pre = asked.filter((id) => id.startsWith('p'));
      assert.ok(pre.length <= 2 && new Set(pre).size === pre.length, asked.join(','));
      if (pre.length > 0) withPretest += 1;
      const result = computeResult(t, responses);
      assert.equal(result.answered, 10);
      assert.equal(result.number_correct, 10);
    }
    // With a rate of 0.3 over 10 questions, nearly every assessment gets one (1 − 0.7¹⁰ ≈ 97%).
    assert.ok(withPretest > 170, `${withPretest} of 200 assessments had a pretest item`);
  });

  test('rate 0 never asks one; rate 1 asks max of them first; the same seed asks the same ones', () => {
    const never = testOf({ strategy: 'fixed', items: SCORED, pretest: { items: PRETEST, rate: 0 } });
    assert.ok(play(never, 'x').every((r) => r.item_id.startsWith('q')));
    const always = testOf({ strategy: 'fixed', items: SCORED, pretest: { items: PRETEST, rate: 1, max_per_assessment: 2 } });
    const asked = play(always, 'x').map((r) => r.item_id);
    assert.ok(asked[0]?.startsWith('p') && asked[1]?.startsWith('p') && asked[2] === 'q0', asked.join(','));
    assert.deepEqual(play(always, 'x'), play(always, 'x'));
  });

  test('adaptive test: pretest answers change neither the next scored item nor θ', () => {
    const plain = testOf({ strategy: 'adaptive', items: SCORED, stopping: { min_items: 6, max_items: 6 } });
    const mixed = testOf({
      strategy: 'adaptive',
      items: SCORED,
      stopping: { min_items: 6, max_items: 6 },
      pretest: { items: PRETEST, rate: 0.5 },
    });
    const responses = play(mixed, 'adaptive-seed');
    const scored = responses.filter((r) => r.item_id.startsWith('q'));
    assert.equal(scored.length, 6);
    assert.ok(responses.length > 6, 'some pretest item was asked');
    assert.deepEqual(
      scored.map((r) => r.item_id),
      play(plain, 'adaptive-seed').map((r) => r.item_id),
      'the same scored items in the same order as without pretest',
    );
    const withPre = computeResult(mixed, responses);
    const without = computeResult(plain, scored);
    assert.equal(withPre.theta, without.theta);
    assert.equal(withPre.se, without.se);
  });
});

