/**
 * The slow statistical check of the estimators (split from methods.test.ts so that mutation
 * testing runs the fast ones): WLE's smaller bias than ML's over simulated short tests.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ItemParams } from './irt.ts';
import { estimateTheta } from './methods.ts';
import { createRng } from './rng.ts';

describe('estimateTheta: WLE reduces the bias of ML on a short test (simulation)', () => {
  it('10 2PL items, 600 simulees at each of θ = −1.5 and +1.5', () => {
    const rng = createRng('wle-bias');
    const items: ItemParams[] = Array.from({ length: 10 }, (_, j) => ({ a: 1.2, b: -1.8 + (3.6 * j) / 9, c: 0 }));
    const bias = { ML: 0, WLE: 0 };
    for (const truth of [-1.5, 1.5]) {
      const sum = { ML: 0, WLE: 0 };
      const n = 600;
      for (let s = 0; s < n; s++) {
        const resp = items.map((it) => (rng.next() < 1 / (1 + Math.exp(-it.a * (truth - it.b))) ? 1 : 0));
        sum.ML += estimateTheta('ML', items, resp).theta;
        sum.WLE += estimateTheta('WLE', items, resp).theta;
      }
      bias.ML += Math.abs(sum.ML / n - truth) / 2;
      bias.WLE += Math.abs(sum.WLE / n - truth) / 2;
    }
    assert.ok(bias.WLE < bias.ML / 2, `mean |bias| WLE ${bias.WLE.toFixed(3)} vs ML ${bias.ML.toFixed(3)}`);
  });
});
