import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classificationRuleSchema, classify, normalQuantile, simulateClassification, sprtLogRatio } from './classify.ts';
import { estimateEap } from './estimate.ts';
import { info3pl } from './irt.ts';
import type { ItemParams } from './irt.ts';
import { createRng } from './rng.ts';
import { generateBank } from './simulate.ts';

const close = (actual: number, expected: number, tol: number): void => {
  assert.ok(Math.abs(actual - expected) <= tol, `${actual} vs ${expected}`);
};

/** One simulee of a replay: its true θ, test length, decision and final θ̂. */
type Outcome = { truth: number; length: number; decision: string; theta: number };

/** The result simulateClassification should report for these replayed simulees. */
function expectedTallies(outcomes: readonly Outcome[], cut: number): Record<string, number> {
  const n = outcomes.length;
  const should = (o: Outcome): string => (o.truth >= cut ? 'pass' : 'fail');
  const count = (f: (o: Outcome) => boolean): number => outcomes.filter(f).length;
  const decided = count((o) => o.decision !== 'undecided');
  const correct = count((o) => o.decision === should(o));
  return {
    simulees: n,
    meanLength: outcomes.reduce((sum, o) => sum + o.length, 0) / n,
    decidedShare: decided / n,
    accuracy: correct / n,
    accuracyDecided: decided > 0 ? correct / decided : 0,
    accuracyWithFallback: count((o) => (o.decision === 'undecided' ? (o.theta >= cut ? 'pass' : 'fail') : o.decision) === should(o)) / n,
    falsePass: count((o) => o.decision === 'pass' && should(o) === 'fail') / n,
    falseFail: count((o) => o.decision === 'fail' && should(o) === 'pass') / n,
  };
}

describe('classification rules', () => {
  it('normalQuantile matches tabulated Φ⁻¹ values', () => {
    close(normalQuantile(0.975), 1.959963984540054, 1e-8);
    close(normalQuantile(0.95), 1.6448536269514722, 1e-8);
    close(normalQuantile(0.001), -3.090232306167813, 1e-8);
    close(normalQuantile(0.5), 0, 1e-12);
    // Both tails and both sides of the switch at p = 0.02425.
    close(normalQuantile(0.999), 3.090232306167813, 1e-8);
    close(normalQuantile(0.02), -2.053748910631823, 1e-8);
    close(normalQuantile(0.98), 2.053748910631823, 1e-8);
    close(normalQuantile(0.03), -1.880793608151251, 1e-8);
    close(normalQuantile(0.97), 1.880793608151251, 1e-8);
    close(normalQuantile(0.3), -0.524400512708041, 1e-8);
    close(normalQuantile(1e-10), -6.361340902404056, 1e-7);
    for (const p of [0, 1, -0.5, Number.NaN]) {
      assert.throws(() => normalQuantile(p), { name: 'RangeError', message: `normalQuantile: p must be in (0, 1), got ${p}` });
    }
  });

  it('SPRT log ratio for 2PL items located at the cut is Σ D·a·δ·(2x − 1)', () => {
    const items: ItemParams[] = [
      { a: 1, b: 0.5, c: 0 },
      { a: 1.6, b: 0.5, c: 0 },
      { a: 0.7, b: 0.5, c: 0 },
    ];
    close(sprtLogRatio(items, [1, 0, 1], 0.5, 0.3, 1.7), 1.7 * 0.3 * (1 - 1.6 + 0.7), 1e-12);
  });

  it('SPRT (α = β = 0.05) passes once log LR ≥ log 19 and fails once ≤ −log 19', () => {
    const rule = classificationRuleSchema.parse({ rule: 'SPRT', cutTheta: 0, delta: 0.5, alpha: 0.05, beta: 0.05 });
    const items: ItemParams[] = Array.from({ length: 6 }, () => ({ a: 1, b: 0, c: 0 }));
    const est = { theta: 0, se: 1 };
    // Each answer moves log LR by ±0.5; log 19 = 2.944.
    assert.equal(classify(rule, items, [1, 1, 1, 1, 1, 1], est), 'pass');
    assert.equal(classify(rule, items.slice(0, 5), [1, 1, 1, 1, 1], est), 'undecided');
    assert.equal(classify(rule, items, [0, 0, 0, 0, 0, 0], est), 'fail');
    assert.equal(classify(rule, items, [1, 0, 1, 0, 1, 1], est), 'undecided');
  });

  it('CI rule: pass when θ̂ − z·SE > cut, fail when θ̂ + z·SE < cut (z = 1.645 for α = 0.05)', () => {
    const rule = classificationRuleSchema.parse({ rule: 'CI', cutTheta: 0.5, alpha: 0.05 });
    assert.equal(classify(rule, [], [], { theta: 1, se: 0.2 }), 'pass');
    assert.equal(classify(rule, [], [], { theta: 1, se: 0.4 }), 'undecided');
    assert.equal(classify(rule, [], [], { theta: 0, se: 0.2 }), 'fail');
  });

  it('the schema rejects error rates outside (0, 0.5), δ ≤ 0 and unknown rules', () => {
    for (const bad of [
      { rule: 'SPRT', cutTheta: 0, delta: 0, alpha: 0.05, beta: 0.05 },
      { rule: 'SPRT', cutTheta: 0, delta: 0.3, alpha: 0.5, beta: 0.05 },
      { rule: 'CI', cutTheta: Number.NaN, alpha: 0.05 },
      { rule: 'XX', cutTheta: 0, alpha: 0.05 },
    ]) {
      assert.equal(classificationRuleSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });
});

describe('simulateClassification (short run)', () => {
  const items = generateBank({ size: 200, seed: 'classify' });
  for (const rule of [
    classificationRuleSchema.parse({ rule: 'SPRT', cutTheta: 0.5, delta: 0.3, alpha: 0.05, beta: 0.05 }),
    classificationRuleSchema.parse({ rule: 'CI', cutTheta: 0.5, alpha: 0.05 }),
  ]) {
    it(`${rule.rule}: decided tests are accurate, shorter than the maximum, with few wrong decisions`, () => {
      const r = simulateClassification({ items, rule, simulees: 300, minItems: 5, maxItems: 30, seed: 't', selectAt: 'cut' });
      assert.ok(r.accuracyDecided >= 0.93, JSON.stringify(r));
      assert.ok(r.falsePass + r.falseFail <= 0.05, JSON.stringify(r));
      assert.ok(r.meanLength < 25 && r.meanLength >= 5, JSON.stringify(r));
      assert.ok(r.accuracyWithFallback >= r.accuracy);
    });
  }
});

describe('simulateClassification tallies', () => {
  it('replays each simulee’s SPRT by hand: lengths, decisions, fallbacks and errors', () => {
    // Identical 2PL items at the cut: every answer moves log LR by ±D·a·δ = ±0.5, so SPRT
    // (α = β = 0.05, bounds ±log 19 = ±2.944) decides once the correct minus the wrong answers reach ±6.
    const items = Array.from({ length: 30 }, () => ({ a: 1, b: 0, c: 0 }));
    const rule = classificationRuleSchema.parse({ rule: 'SPRT', cutTheta: 0, delta: 0.5, alpha: 0.05, beta: 0.05 });
    const thetas = [-1, -0.3, 0.2, 1.5, 0, 2, -2.5, 0.6];
    const got = simulateClassification({ items, rule, simulees: thetas.length, minItems: 1, maxItems: 20, seed: 'hand', thetas });
    const outcomes = thetas.map((truth, s): Outcome => {
      const rng = createRng(`hand:class:${s}`);
      const answers: (0 | 1)[] = [];
      let net = 0;
      let decision = 'undecided';
      while (answers.length < 20 && decision === 'undecided') {
        const u = rng.next() < 1 / (1 + Math.exp(-truth)) ? 1 : 0;
        answers.push(u);
        net += u === 1 ? 1 : -1;
        if (net >= 6) decision = 'pass';
        else if (net <= -6) decision = 'fail';
      }
      return { truth, length: answers.length, decision, theta: estimateEap(items.slice(0, answers.length), answers).theta };
    });
    assert.deepEqual(got, expectedTallies(outcomes, 0));
    const decided = outcomes.filter((o) => o.decision !== 'undecided').length;
    const n = thetas.length;
    // The replay covers both decisions and an undecided test.
    assert.ok(decided > 0 && decided < n, `decided ${decided} of ${n}`);
  });

  it('matches a replay of every simulee: selection at θ̂ or at the cut, either rule, D and the prior', () => {
    const items = generateBank({ size: 25, seed: 'replay' });
    // Abilities near the cut, so that some tests end undecided and some decisions are wrong.
    const thetas = Array.from({ length: 24 }, (_, k) => 0.2 + (k - 12) * 0.05);
    const rules = [
      classificationRuleSchema.parse({ rule: 'SPRT', cutTheta: 0.2, delta: 0.2, alpha: 0.3, beta: 0.3 }),
      classificationRuleSchema.parse({ rule: 'CI', cutTheta: 0.2, alpha: 0.4 }),
    ];
    const totals = { falsePass: 0, falseFail: 0, undecided: 0 };
    for (const rule of rules) {
      for (const selectAt of ['estimate', 'cut'] as const) {
        for (const [D, prior] of [
          [1, { mean: 0, sd: 1 }],
          [1.702, { mean: 0.5, sd: 0.8 }],
        ] as const) {
          const opts = { items, rule, simulees: thetas.length, minItems: 3, maxItems: 12, seed: 'rp', selectAt, D, prior, thetas };
          const outcomes = thetas.map((truth, s): Outcome => {
            const rng = createRng(`rp:class:${s}`);
            const given: ItemParams[] = [];
            const answers: number[] = [];
            let est: { theta: number; se: number } = { theta: prior.mean, se: prior.sd };
            let decision = 'undecided';
            while (given.length < 12 && decision === 'undecided') {
              const at = selectAt === 'cut' ? rule.cutTheta : est.theta;
              let best: ItemParams | undefined;
              for (const it of items)
                if (
                  !given.includes(it) &&
                  (best === undefined || info3pl(at, it.a, it.b, it.c, D) > info3pl(at, best.a, best.b, best.c, D))
                )
                  best = it;
              const it = best as ItemParams;
              const p = it.c + (1 - it.c) / (1 + Math.exp(-D * it.a * (truth - it.b)));
              given.push(it);
              answers.push(rng.next() < p ? 1 : 0);
              est = estimateEap(given, answers, { D, prior });
              if (given.length >= 3) decision = classify(rule, given, answers, est, D);
            }
            return { truth, length: given.length, decision, theta: est.theta };
          });
          for (const o of outcomes) {
            if (o.decision === 'undecided') totals.undecided++;
            if (o.decision === 'pass' && o.truth < rule.cutTheta) totals.falsePass++;
            if (o.decision === 'fail' && o.truth >= rule.cutTheta) totals.falseFail++;
          }
          const got = simulateClassification(opts);
          const expected = expectedTallies(outcomes, rule.cutTheta);
          for (const key of Object.keys(expected)) {
            const value = expected[key] as number;
            const actual = got[key as keyof typeof got];
            assert.ok(Math.abs(actual - value) < 1e-12, `${rule.rule} at ${selectAt}, D ${D}: ${key} ${actual} vs ${value}`);
          }
        }
      }
    }
    // The replays include wrong decisions both ways and undecided tests.
    assert.ok(totals.falsePass > 0 && totals.falseFail > 0 && totals.undecided > 0, JSON.stringify(totals));
  });

  it('decides nothing before minItems, stops at the bank’s end, and reports 0 accuracy among no decisions', () => {
    const items = Array.from({ length: 4 }, () => ({ a: 1, b: 0, c: 0 }));
    const rule = classificationRuleSchema.parse({ rule: 'SPRT', cutTheta: 0, delta: 0.5, alpha: 0.05, beta: 0.05 });
    const r = simulateClassification({ items, rule, simulees: 5, minItems: 1, maxItems: 10, seed: 'short' });
    assert.equal(r.meanLength, 4);
    assert.equal(r.decidedShare, 0);
    assert.equal(r.accuracyDecided, 0);
    assert.equal(r.accuracy, 0);
    assert.equal(r.simulees, 5);
    const strong = Array.from({ length: 40 }, () => ({ a: 3, b: 0, c: 0 }));
    const late = simulateClassification({
      items: strong,
      rule,
      simulees: 10,
      minItems: 12,
      maxItems: 30,
      seed: 'late',
      thetas: Array(10).fill(3),
    });
    assert.equal(late.meanLength, 12);
    assert.equal(late.accuracy, 1);
    assert.throws(
      () => simulateClassification({ items: strong, rule, simulees: 11, minItems: 1, maxItems: 3, seed: 'x', thetas: Array(10).fill(3) }),
      {
        name: 'RangeError',
        message: 'thetas holds 10 abilities for 11 simulees',
      },
    );
  });

  it('selects at the cut or at the estimate, with the given D and prior', () => {
    const items = generateBank({ size: 60, seed: 'where' });
    const rule = classificationRuleSchema.parse({ rule: 'CI', cutTheta: 1, alpha: 0.05 });
    const base = { items, rule, simulees: 40, minItems: 3, maxItems: 12, seed: 'w' };
    const atEstimate = simulateClassification(base);
    assert.notDeepEqual(simulateClassification({ ...base, selectAt: 'cut' }), atEstimate);
    assert.deepEqual(simulateClassification({ ...base, selectAt: 'estimate' }), atEstimate);
    assert.notDeepEqual(simulateClassification({ ...base, D: 1.702 }), atEstimate);
    assert.notDeepEqual(simulateClassification({ ...base, prior: { mean: 1, sd: 0.5 } }), atEstimate);
  });
});
