import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classify, sprtLogRatio } from './classification-rule.ts';
import type { ClassificationRule } from './classification-rule.ts';
import type { BankItem, CatConfig } from './config.ts';
import { catConfigSchema } from './config.ts';
import { createRng } from './rng.ts';
import { scoreResult } from './score.ts';
import { modelOf, nextStep } from './step.ts';
import type { HistoryEntry, NextStepResult } from './step.ts';
import { checkStop } from './stop.ts';

function bank(n: number): BankItem[] {
  const r = createRng('classification-bank');
  return Array.from({ length: n }, (_, i) => ({ id: `i${i}`, skill: 's', a: 0.8 + r.next(), b: r.normal(), c: 0.15 }));
}

/** Plays a test to its end with every answer `correct` (or alternating), returning each step. */
function play(config: CatConfig, answer: (n: number) => boolean): { steps: NextStepResult[]; history: HistoryEntry[] } {
  const items = bank(120);
  const history: HistoryEntry[] = [];
  const steps: NextStepResult[] = [];
  for (;;) {
    const step = nextStep({ bank: items, history, config, seed: 'cls' });
    steps.push(step);
    if (step.done) return { steps, history };
    history.push({ itemId: step.itemId, correct: answer(history.length) });
  }
}

const SPRT: ClassificationRule = { rule: 'SPRT', cutTheta: 0.5, delta: 0.3, alpha: 0.05, beta: 0.05 };
const CI: ClassificationRule = { rule: 'CI', cutTheta: 0.5, alpha: 0.05 };

describe('classification as a stopping rule', () => {
  it('the configuration takes a rule and refuses a bad one', () => {
    assert.equal(catConfigSchema.safeParse({ minItems: 5, maxItems: 30, classification: SPRT }).success, true);
    assert.equal(catConfigSchema.safeParse({ minItems: 5, maxItems: 30, classification: { ...SPRT, alpha: 0.6 } }).success, false);
    assert.equal(catConfigSchema.safeParse({ minItems: 5, maxItems: 30, classification: { rule: 'CI', cutTheta: 0.5 } }).success, false);
  });

  it('checkStop: a decision ends the test as classified, first of all rules, but never before minItems or the skill minimums', () => {
    const base = { administeredCount: 10, se: 0.2, minItems: 5, maxItems: 10, seTarget: 0.3, contentMinsMet: true, timeRemainingS: 0 };
    assert.deepEqual(checkStop({ ...base, classified: true }), { stop: true, reason: 'classified' });
    assert.deepEqual(checkStop({ ...base, classified: false }), { stop: true, reason: 'max_items' });
    assert.deepEqual(checkStop({ ...base, administeredCount: 4, maxItems: 30, timeRemainingS: 60, classified: true }), { stop: false });
    assert.deepEqual(checkStop({ ...base, contentMinsMet: false, classified: true }), { stop: true, reason: 'max_items' });
  });

  for (const rule of [SPRT, CI]) {
    it(`${rule.rule}: all correct passes early, all wrong fails early, each as soon as the rule decides`, () => {
      const config: CatConfig = { minItems: 5, maxItems: 40, classification: rule };
      for (const [answer, expected] of [
        [() => true, 'pass'],
        [() => false, 'fail'],
      ] as const) {
        const { steps, history } = play(config, answer);
        const last = steps.at(-1);
        assert.ok(last?.done === true);
        assert.equal(last.reason, 'classified');
        assert.equal(last.decision, expected);
        assert.ok(history.length >= 5 && history.length < 40, `decided after ${history.length} items`);
        // Every earlier step from minItems on was still undecided: the test stopped at the first decision.
        for (const s of steps.slice(5, -1)) assert.equal(s.decision, 'undecided');
        // The scorer reaches the same decision on the whole pattern.
        assert.equal(scoreResult({ bank: bank(120), history, config }).decision, expected);
      }
    });
  }

  it('a pattern near the cut stays undecided and ends at maxItems with that decision', () => {
    const config: CatConfig = { minItems: 5, maxItems: 12, classification: { ...SPRT, alpha: 0.001, beta: 0.001 } };
    const { steps, history } = play(config, (n) => n % 2 === 0);
    const last = steps.at(-1);
    assert.ok(last?.done === true);
    assert.equal(last.reason, 'max_items');
    assert.equal(last.decision, 'undecided');
    assert.equal(history.length, 12);
  });

  it('SPRT decides by the published bounds: pass when log LR ≥ log((1−β)/α), fail when ≤ log(β/(1−α))', () => {
    const items = bank(20).map(modelOf);
    const all = (u: number) => items.map(() => u);
    const up = sprtLogRatio(items, all(1), 0.5, 0.3);
    const down = sprtLogRatio(items, all(0), 0.5, 0.3);
    assert.ok(up > Math.log(0.95 / 0.05) && down < Math.log(0.05 / 0.95), `${up} ${down}`);
    assert.equal(classify(SPRT, items, all(1), { theta: 0, se: 1 }), 'pass');
    assert.equal(classify(SPRT, items, all(0), { theta: 0, se: 1 }), 'fail');
    assert.equal(classify(SPRT, items.slice(0, 1), [1], { theta: 0, se: 1 }), 'undecided');
  });
});
