import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classificationRuleSchema, classify, normalQuantile, simulateClassification, sprtLogRatio } from './classify.ts';
import type { ItemParams } from './irt.ts';
import { generateBank } from './simulate.ts';

const close = (actual: number, expected: number, tol: number): void => {
  assert.ok(Math.abs(actual - expected) <= tol, `${actual} vs ${expected}`);
};

describe('classification rules', () => {
  it('normalQuantile matches tabulated Φ⁻¹ values', () => {
    close(normalQuantile(0.975), 1.959963984540054, 1e-8);
    close(normalQuantile(0.95), 1.6448536269514722, 1e-8);
    close(normalQuantile(0.001), -3.090232306167813, 1e-8);
    close(normalQuantile(0.5), 0, 1e-12);
    assert.throws(() => normalQuantile(1), RangeError);
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
