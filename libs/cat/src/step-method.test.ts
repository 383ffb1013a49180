import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { catConfigSchema } from './config.ts';
import type { BankItem } from './config.ts';
import { estimateTheta } from './methods.ts';
import { selectNextItem } from './select.ts';
import { generateBank, simulateCat } from './simulate.ts';
import { estimateForConfig, nextStep } from './step.ts';

const bank: BankItem[] = Array.from({ length: 12 }, (_, i) => ({
  id: `i${i}`,
  skill: 's',
  a: 1 + (i % 3) * 0.3,
  b: -1.5 + i * 0.25,
  c: 0.1,
}));

describe('nextStep with a per-test estimation method', () => {
  const history = [
    { itemId: 'i3', correct: true },
    { itemId: 'i7', correct: false },
    { itemId: 'i5', correct: true },
  ];
  const items = [bank[3], bank[7], bank[5]] as BankItem[];

  it('MAP, WLE and ML give the estimates of estimateTheta', () => {
    for (const method of ['MAP', 'WLE', 'ML'] as const) {
      const step = nextStep({ bank, history, config: { minItems: 1, maxItems: 10, method }, seed: 's' });
      const e = estimateTheta(method, items, [1, 0, 1]);
      // ML in a test refines with Newton steps to 1e-10, the named estimator bisects to 1e-13.
      assert.ok(Math.abs(step.theta - e.theta) < 1e-9 && Math.abs(step.se - e.se) < 1e-9, method);
    }
  });

  it('ML uses EAP while the pattern is all-correct (no finite maximum)', () => {
    const ml = estimateForConfig(items, [1, 1, 1], { method: 'ML' });
    const eap = estimateForConfig(items, [1, 1, 1], { method: 'EAP' });
    assert.deepEqual(ml, eap);
    assert.ok(ml.theta < 4);
  });

  it('rejects a history that answers the same item twice', () => {
    assert.throws(
      () => nextStep({ bank, history: [...history, { itemId: 'i3', correct: false }], config: { minItems: 1, maxItems: 10 }, seed: 's' }),
      /i3 more than once/,
    );
  });

  it('the configuration schema bounds D, the prior, a and |b|', () => {
    assert.equal(catConfigSchema.safeParse({ minItems: 1, maxItems: 2, method: 'WLE' }).success, true);
    for (const bad of [{ D: 1e9 }, { prior: { mean: 0, sd: 0 } }, { method: 'MLE' }, { startTheta: Number.NaN }]) {
      assert.equal(catConfigSchema.safeParse({ minItems: 1, maxItems: 2, ...bad }).success, false, JSON.stringify(bad));
    }
  });
});

describe('selection guards', () => {
  it('selectNextItem rejects θ = NaN or ±∞ and an unusable D instead of returning item 0', () => {
    for (const theta of [Number.NaN, Infinity, -Infinity]) {
      assert.throws(() => selectNextItem({ items: bank, administered: [], theta }), RangeError);
    }
    assert.throws(() => selectNextItem({ items: bank, administered: [], theta: 0, D: 0 }), RangeError);
    assert.equal(selectNextItem({ items: bank, administered: [], theta: 0 })?.index !== undefined, true);
  });
});

describe('simulateCat with a method', () => {
  it('WLE and MAP runs estimate with that method (final θ differs from EAP, same items for the first answer)', () => {
    const items = generateBank({ size: 60, seed: 'sim-method' });
    const run = (method: 'EAP' | 'MAP' | 'WLE'): number[] =>
      simulateCat({ items, simulees: 20, config: { minItems: 8, maxItems: 8, method }, seed: 'm' }).results.map((r) => r.theta);
    const eap = run('EAP');
    const wle = run('WLE');
    const map = run('MAP');
    assert.ok(eap.some((t, i) => Math.abs(t - (wle[i] as number)) > 1e-3));
    assert.ok(eap.some((t, i) => Math.abs(t - (map[i] as number)) > 1e-6));
    assert.ok(wle.every((t) => Number.isFinite(t)));
  });
});
