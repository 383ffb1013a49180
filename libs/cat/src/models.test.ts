import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { estimateEap } from './estimate.ts';
import { info3pl, prob3pl } from './irt.ts';
import { estimateTheta } from './methods.ts';
import {
  assertD,
  categoryCount,
  categoryCurves,
  categoryProbabilities,
  drawCategory,
  expectedScore,
  itemInformation,
  itemProblem,
  logCategoryProbability,
} from './models.ts';
import type { AnyItemParams, PolyItemParams } from './models.ts';

const close = (actual: number, expected: number, tol: number, what = ''): void => {
  assert.ok(Math.abs(actual - expected) <= tol, `${what} ${actual} vs ${expected} (tol ${tol})`);
};

const grm: PolyItemParams = { model: 'GRM', a: 1.2, b: [-1, 0, 1.5] };
const gpcm: PolyItemParams = { model: 'GPCM', a: 0.9, b: [-0.5, 0.4, 1.1] };

describe('GRM and GPCM against hand-computed values', () => {
  it('GRM a=1.2, b=(−1, 0, 1.5) at θ=0.5: P = P*_k − P*_{k+1} and Samejima information', () => {
    // P*_1 = logistic(1.8), P*_2 = logistic(0.6), P*_3 = logistic(−1.2).
    const p = categoryProbabilities(grm, 0.5);
    const want = [0.1418510649004877, 0.2124926288737169, 0.41418108972481305, 0.23147521650098238];
    want.forEach((w, k) => close(p[k] as number, w, 1e-14, `P${k}`));
    // I = Σ_k (W_k − W_{k+1})² / P_k with W_k = a·P*_k·(1 − P*_k).
    close(itemInformation(grm, 0.5), 0.4339666976369143, 1e-13);
  });

  it('GPCM a=0.9, b=(−0.5, 0.4, 1.1) at θ=0: softmax of cumulative sums, I = D²a²·Var(X)', () => {
    const p = categoryProbabilities(gpcm, 0);
    const want = [0.2457572391023987, 0.38542407275671287, 0.2689012510602372, 0.09991743708065128];
    want.forEach((w, k) => close(p[k] as number, w, 1e-14, `P${k}`));
    close(itemInformation(gpcm, 0), 0.7003330104125497, 1e-13);
    close(itemInformation(gpcm, 0.3, 1.7), 1.7 * 1.7 * 0.81 * variance(categoryProbabilities(gpcm, 0.3, 1.7)), 1e-12);
  });

  it('with one threshold, GRM and GPCM are the 2PL (probabilities and information)', () => {
    for (const model of ['GRM', 'GPCM'] as const) {
      for (const t of [-3, -0.4, 0, 1.1, 3.5]) {
        const item: PolyItemParams = { model, a: 1.3, b: [0.2] };
        close(categoryProbabilities(item, t, 1.7)[1] as number, prob3pl(t, 1.3, 0.2, 0, 1.7), 1e-14);
        close(itemInformation(item, t, 1.7), info3pl(t, 1.3, 0.2, 0, 1.7), 1e-13);
      }
    }
  });

  it('probabilities sum to 1 and the derivatives match finite differences, far into the tails', () => {
    const items: AnyItemParams[] = [grm, gpcm, { a: 1.4, b: 0.3, c: 0.2 }, { model: 'GRM', a: 3, b: [-2, -1.9, 2, 3] }];
    for (const item of items) {
      for (const t of [-7, -2.5, -0.1, 0.8, 2.2, 7]) {
        const { p, d1, d2 } = categoryCurves(item, t);
        close(
          p.reduce((s, v) => s + v, 0),
          1,
          1e-12,
          'sum',
        );
        const h = 1e-5;
        const up = categoryCurves(item, t + h);
        const dn = categoryCurves(item, t - h);
        for (let k = 0; k < p.length; k++) {
          assert.ok((p[k] as number) >= 0);
          close(d1[k] as number, ((up.p[k] as number) - (dn.p[k] as number)) / (2 * h), 1e-7, `d1 ${k}`);
          close(d2[k] as number, ((up.d1[k] as number) - (dn.d1[k] as number)) / (2 * h), 1e-7, `d2 ${k}`);
        }
      }
    }
  });

  it('expected score is Σ k·P_k and increases with θ', () => {
    let prev = -1;
    for (let t = -4; t <= 4; t += 0.5) {
      const e = expectedScore(grm, t);
      assert.ok(e > prev);
      prev = e;
    }
  });
});

function variance(p: Float64Array): number {
  let m = 0;
  p.forEach((v, k) => (m += k * v));
  let s = 0;
  p.forEach((v, k) => (s += (k - m) ** 2 * v));
  return s;
}

describe('estimation with polytomous items mixed with dichotomous ones', () => {
  const bank: AnyItemParams[] = [
    grm,
    gpcm,
    { a: 1.1, b: -0.2, c: 0.2 },
    { model: 'GRM', a: 0.8, b: [-2, -0.5, 0.5, 2] },
    { a: 1.6, b: 0.7, c: 0 },
    { model: 'GPCM', a: 1.3, b: [0.3, -0.4] },
  ];
  const responses = [2, 1, 1, 3, 0, 2];

  it('ML solves Σ_j Σ_x P′/P = 0; for GPCM-only tests that is Σ a_j (x_j − E_j(θ)) = 0', () => {
    const g: PolyItemParams[] = [gpcm, { model: 'GPCM', a: 1.3, b: [0.3, -0.4] }, { model: 'GPCM', a: 0.7, b: [-1, 0, 1, 2] }];
    const x = [2, 1, 3];
    const e = estimateTheta('ML', g, x);
    const residual = g.reduce((s, it, j) => s + it.a * ((x[j] as number) - expectedScore(it, e.theta)), 0);
    close(residual, 0, 1e-9);
    close(e.se, 1 / Math.sqrt(g.reduce((s, it) => s + itemInformation(it, e.theta), 0)), 1e-12);
  });

  it('every method gives a finite estimate; EAP agrees with a from-scratch quadrature', () => {
    for (const m of ['EAP', 'MAP', 'ML', 'WLE'] as const) {
      const e = estimateTheta(m, bank, responses);
      assert.ok(Number.isFinite(e.theta) && Number.isFinite(e.se) && e.se > 0, m);
    }
    let z = 0;
    let s1 = 0;
    for (let q = 0; q <= 8000; q++) {
      const t = -4 + q / 1000;
      let w = Math.exp((-t * t) / 2) * (q === 0 || q === 8000 ? 0.5 : 1);
      bank.forEach((it, j) => (w *= categoryProbabilities(it, t)[responses[j] as number] as number));
      z += w;
      s1 += w * t;
    }
    close(estimateEap(bank, responses).theta, s1 / z, 1e-4);
  });

  it('a higher category raises θ̂ (monotone in the response)', () => {
    for (const m of ['EAP', 'MAP', 'ML', 'WLE'] as const) {
      const lo = estimateTheta(m, bank, [2, 1, 1, 1, 0, 2]).theta;
      const hi = estimateTheta(m, bank, [2, 1, 1, 3, 0, 2]).theta;
      assert.ok(hi > lo, m);
    }
  });
});

describe('item checks', () => {
  it('names what is wrong with an item', () => {
    const cases: [AnyItemParams, string | undefined][] = [
      [{ a: 1, b: 0, c: 0.2 }, undefined],
      [{ a: 10, b: -10, c: 0 }, undefined],
      [{ a: 0, b: 0, c: 0 }, 'a must be in (0, 10], got 0'],
      [{ a: 10.5, b: 0, c: 0 }, 'a must be in (0, 10], got 10.5'],
      [{ a: Number.NaN, b: 0, c: 0 }, 'a must be in (0, 10], got NaN'],
      [{ a: 1, b: 10.5, c: 0 }, 'b must be finite with |b| ≤ 10, got 10.5'],
      [{ a: 1, b: Number.NEGATIVE_INFINITY, c: 0 }, 'b must be finite with |b| ≤ 10, got -Infinity'],
      [{ a: 1, b: 0, c: -0.1 }, 'c must be in [0, 1), got -0.1'],
      [{ a: 1, b: 0, c: 1 }, 'c must be in [0, 1), got 1'],
      [{ a: 1, b: 0, c: Number.NaN }, 'c must be in [0, 1), got NaN'],
      [{ model: 'GRM', a: 1, b: [] }, 'b must have at least one threshold'],
      [{ model: 'GRM', a: 1, b: [-1, -1] }, 'b[1] must exceed b[0] (GRM thresholds increase)'],
      [{ model: 'GRM', a: 1, b: [0, 1, 0.5] }, 'b[2] must exceed b[1] (GRM thresholds increase)'],
      [{ model: 'GPCM', a: 1, b: [0, -1, -1] }, undefined],
      [{ model: 'GPCM', a: 1, b: [0, 11] }, 'b[1] must be finite with |b| ≤ 10, got 11'],
      [{ model: 'GPCM', a: 1, b: [Number.NaN] }, 'b[0] must be finite with |b| ≤ 10, got NaN'],
      [{ model: 'GPCM', a: -1, b: [0] }, 'a must be in (0, 10], got -1'],
    ];
    for (const [item, problem] of cases) assert.equal(itemProblem(item), problem, JSON.stringify(item));
    assert.equal(categoryCount({ a: 1, b: 0, c: 0 }), 2);
    assert.equal(categoryCount(grm), 4);
  });

  it('D must be finite and in (0, 5]', () => {
    for (const D of [1, 1.702, 5]) assert.doesNotThrow(() => assertD(D));
    for (const D of [0, -1, 5.01, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => assertD(D), { name: 'RangeError', message: `D must be in (0, 5], got ${D}` });
    }
  });
});

describe('log probabilities and draws', () => {
  it('log P matches the log of the category probabilities for every model, D and θ', () => {
    const items: AnyItemParams[] = [grm, gpcm, { a: 1.4, b: 0.3, c: 0.2 }, { a: 0.8, b: -0.5, c: 0 }, { model: 'GPCM', a: 2, b: [1, -1] }];
    for (const item of items) {
      for (const D of [1, 1.702]) {
        for (const t of [-3, -0.4, 0, 1.3, 3]) {
          const p = categoryProbabilities(item, t, D);
          for (let x = 0; x < p.length; x++) close(logCategoryProbability(item, x, t, D), Math.log(p[x] as number), 1e-12, `x=${x} θ=${t}`);
        }
      }
    }
  });

  it('log P stays finite and accurate far in the tails, where P underflows', () => {
    // 3PL without guessing, wrong answer at θ far above b: log P = −log(1 + e^z).
    close(logCategoryProbability({ a: 10, b: -10, c: 0 }, 0, 10), -200, 1e-9);
    close(logCategoryProbability({ a: 10, b: 10, c: 0 }, 1, -10), -200, 1e-9);
    // GPCM: the highest category far below the thresholds, in log space throughout.
    close(logCategoryProbability({ model: 'GPCM', a: 10, b: [5, 5] }, 2, -5), -200, 1e-9);
    close(logCategoryProbability({ model: 'GPCM', a: 10, b: [-5, -5] }, 0, 5), -200, 1e-9);
    // GRM is floored at 1e-300 rather than −∞.
    close(logCategoryProbability({ model: 'GRM', a: 10, b: [5, 9] }, 2, -10), -190, 1e-9);
    assert.equal(logCategoryProbability({ model: 'GRM', a: 10, b: [5, 9] }, 2, -10, 5), Math.log(1e-300));
  });

  it('information skips categories of probability 0', () => {
    const item: PolyItemParams = { model: 'GRM', a: 10, b: [-9, 9] };
    assert.ok(Number.isFinite(itemInformation(item, -10)));
    close(itemInformation(item, -10), itemInformation({ a: 10, b: -9, c: 0 }, -10), 1e-9);
  });

  it('a draw u falls in the category whose cumulative probability first exceeds it', () => {
    const p = categoryProbabilities(grm, 0.5);
    const c0 = p[0] as number;
    const c1 = c0 + (p[1] as number);
    const cum = [c0, c1, c1 + (p[2] as number)] as const;
    assert.equal(drawCategory(grm, 0.5, 0), 0);
    assert.equal(drawCategory(grm, 0.5, cum[0] - 1e-12), 0);
    assert.equal(drawCategory(grm, 0.5, cum[0]), 1);
    assert.equal(drawCategory(grm, 0.5, cum[1] - 1e-12), 1);
    assert.equal(drawCategory(grm, 0.5, cum[1]), 2);
    assert.equal(drawCategory(grm, 0.5, cum[2]), 3);
    assert.equal(drawCategory(grm, 0.5, 0.999999999), 3);
    const item = { a: 1, b: 0, c: 0.2 };
    const correct = prob3pl(1, 1, 0, 0.2, 1.702);
    assert.equal(drawCategory(item, 1, 1 - correct - 1e-9, 1.702), 0);
    assert.equal(drawCategory(item, 1, 1 - correct + 1e-9, 1.702), 1);
  });
});
