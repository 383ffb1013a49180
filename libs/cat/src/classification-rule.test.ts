import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classificationRuleSchema, classify, normalQuantile, sprtLogRatio } from './classification-rule.ts';
import type { ItemParams } from './irt.ts';

describe('classification rule schema', () => {
  const sprt = { rule: 'SPRT', cutTheta: 0, delta: 0.3, alpha: 0.05, beta: 0.05 };
  const ci = { rule: 'CI', cutTheta: 0, alpha: 0.05 };

  it('takes each bound and refuses just beyond it', () => {
    for (const good of [
      { ...sprt, cutTheta: 10 },
      { ...sprt, cutTheta: -10 },
      { ...sprt, delta: 2 },
      { ...sprt, alpha: 0.499, beta: 0.001 },
      { ...ci, alpha: 0.499 },
    ]) {
      assert.equal(classificationRuleSchema.safeParse(good).success, true, JSON.stringify(good));
    }
    for (const bad of [
      { ...sprt, cutTheta: 10.01 },
      { ...sprt, cutTheta: -10.01 },
      { ...sprt, delta: 2.01 },
      { ...sprt, delta: -0.1 },
      { ...sprt, alpha: 0 },
      { ...sprt, beta: 0.5 },
      { ...sprt, beta: 0 },
      { ...ci, alpha: 0.5 },
      { ...ci, alpha: 0 },
      { ...ci, delta: 0.3 },
      { ...sprt, extra: 1 },
      { rule: 'SPRT', cutTheta: 0, alpha: 0.05, beta: 0.05 },
    ]) {
      assert.equal(classificationRuleSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });
});

describe('classify at its boundaries', () => {
  it('CI needs θ̂ − z·SE strictly above the cut to pass and θ̂ + z·SE strictly below it to fail', () => {
    const rule = { rule: 'CI' as const, cutTheta: 0.5, alpha: 0.1 };
    const z = normalQuantile(0.9);
    assert.equal(classify(rule, [], [], { theta: 0.5 + z * 0.2 + 1e-9, se: 0.2 }), 'pass');
    assert.equal(classify(rule, [], [], { theta: 0.5 + z * 0.2 - 1e-9, se: 0.2 }), 'undecided');
    assert.equal(classify(rule, [], [], { theta: 0.5 - z * 0.2 - 1e-9, se: 0.2 }), 'fail');
    assert.equal(classify(rule, [], [], { theta: 0.5 - z * 0.2 + 1e-9, se: 0.2 }), 'undecided');
  });

  it('SPRT compares log LR with log((1 − β)/α) and log(β/(1 − α)), each error rate in its place', () => {
    // Each correct answer on a 2PL item at the cut adds D·a·δ = 0.25 to log LR.
    const items: ItemParams[] = Array.from({ length: 20 }, () => ({ a: 0.5, b: 1, c: 0 }));
    const est = { theta: 0, se: 1 };
    const up = (n: number): number[] => Array.from({ length: n }, () => 1);
    const down = (n: number): number[] => Array.from({ length: n }, () => 0);
    // α = 0.1, β = 0.3: pass at log 7 = 1.95 (8 correct), fail at log(1/3) = −1.10 (5 wrong).
    const rule = { rule: 'SPRT' as const, cutTheta: 1, delta: 0.5, alpha: 0.1, beta: 0.3 };
    assert.ok(Math.abs(sprtLogRatio(items.slice(0, 8), up(8), 1, 0.5) - 2) < 1e-12);
    assert.equal(classify(rule, items.slice(0, 7), up(7), est), 'undecided');
    assert.equal(classify(rule, items.slice(0, 8), up(8), est), 'pass');
    assert.equal(classify(rule, items.slice(0, 4), down(4), est), 'undecided');
    assert.equal(classify(rule, items.slice(0, 5), down(5), est), 'fail');
    // With D = 2 each answer counts twice.
    assert.equal(classify(rule, items.slice(0, 4), up(4), est, 2), 'pass');
    assert.equal(classify(rule, items.slice(0, 3), down(3), est, 2), 'fail');
  });
});
