import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calibrate } from './calibrate.ts';
import type { PolySpec, ResponseRow } from './calibrate.ts';
import { invert, polyDerivatives, polyQ1, polyStart, solve } from './calibrate-poly.ts';
import { DEFAULT_D, logistic } from './irt.ts';
import { categoryProbabilities } from './models.ts';
import type { PolyItemParams } from './models.ts';
import { createRng } from './rng.ts';
import { chiSquareP } from './calibrate.ts';
import { mixedBank, simulate, specs } from './calibrate-poly.fixture.test.ts';

describe('polytomous calibration (GRM and GPCM in Bock–Aitkin EM)', () => {
  it('category probabilities agree with the engine models, and the derivatives with finite differences (D = 1 and 1.7)', () => {
    const items: PolyItemParams[] = [
      { model: 'GRM', a: 1.3, b: [-1.2, -0.1, 0.9, 2] },
      { model: 'GPCM', a: 0.8, b: [0.5, -0.4, 1.1] },
    ];
    // D = 1 and D = 1.7, so that every factor of D is checked.
    for (const [item, D] of items.flatMap((i) => [DEFAULT_D, 1.7].map((D) => [i, D] as const))) {
      for (const theta of [-2.5, -0.3, 0.7, 2.2]) {
        const { P, dP } = polyDerivatives(item.model, { a: item.a, b: [...item.b] }, theta, D);
        const ref = categoryProbabilities(item, theta, D);
        P.forEach((p, k) => assert.ok(Math.abs(p - (ref[k] as number)) < 1e-12, `${item.model} P${k} at ${theta}, D ${D}`));
        const h = 1e-6;
        for (let i = 0; i <= item.b.length; i++) {
          const bump = (d: number) => {
            const b = [...item.b];
            if (i > 0) b[i - 1] = (b[i - 1] as number) + d;
            return categoryProbabilities({ ...item, a: i === 0 ? item.a + d : item.a, b }, theta, D);
          };
          const up = bump(h);
          const down = bump(-h);
          for (let k = 0; k <= item.b.length; k++) {
            const numeric = ((up[k] as number) - (down[k] as number)) / (2 * h);
            const analytic = (dP[k] as Float64Array)[i] as number;
            assert.ok(Math.abs(numeric - analytic) < 1e-6, `${item.model} dP${k}/dφ${i} at ${theta}: ${analytic} vs ${numeric}`);
          }
        }
      }
    }
  });

  it('refuses a category beyond the item, items of the wrong length, and leaves rarely answered items unestimated', () => {
    const items = specs(mixedBank('poly-refusals', 1, 1, 0));
    assert.throws(() => calibrate([new Map([[0, 5]])], 2, { items }), RangeError);
    assert.throws(() => calibrate([new Map([[1, 1.5]])], 2, { items }), RangeError);
    assert.throws(() => calibrate([new Map([[1, -1]])], 2, { items }), RangeError);
    assert.throws(() => calibrate([new Map([[0, 1]])], 2, { items: [null] }), RangeError);
    assert.throws(() => calibrate([new Map([[0, 1]])], 1, { items: [{ model: 'GRM', categories: 1 }] }), RangeError);
    const known = mixedBank('poly-sparse', 4, 4, 0);
    const rows = simulate(known, 600, 'poly-sparse', (i, j) => j !== 7 || i < 20);
    const report = calibrate(rows, known.length, { items: specs(known), minResponses: 30 });
    const last = report.items[7];
    assert.equal(last?.estimated, false);
    assert.equal(last.fit, null);
    assert.equal(last.n, 20);
    assert.ok(report.items.slice(0, 7).every((i) => i.estimated && i.fit !== null));
  });

  const close = (actual: number, expected: number, tol: number, what: string): void =>
    assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected}`);
  const logit = (p: number): number => Math.log(p / (1 - p));

  it('start values: GRM thresholds from the cumulative shares, GPCM steps from adjacent log odds, clamped and ordered', () => {
    // GRM, 100 people in categories 10/20/30/40: 90%, 70% and 40% at or above thresholds 1, 2, 3.
    const grm = polyStart({ model: 'GRM', categories: 4 }, [10, 20, 30, 40], 1);
    assert.equal(grm.a, 1);
    [-logit(0.9), -logit(0.7), -logit(0.4)].forEach((b, k) => close(grm.b[k] ?? Number.NaN, b, 1e-12, `GRM b${k + 1}`));
    close(polyStart({ model: 'GRM', categories: 4 }, [10, 20, 30, 40], 2).b[0] ?? Number.NaN, -logit(0.9) / 2, 1e-12, 'GRM b1, D = 2');
    // Everyone in the top category: shares clamped to 0.98, the second threshold 0.1 above the first.
    const top = polyStart({ model: 'GRM', categories: 3 }, [0, 0, 100], 1).b;
    close(top[0] ?? Number.NaN, -logit(0.98), 1e-12, 'GRM b1, all at the top');
    close(top[1] ?? Number.NaN, -logit(0.98) + 0.1, 1e-12, 'GRM b2, all at the top');
    // Everyone in category 0, D = 0.5: −logit(0.02)/0.5 is beyond 4, so clamped to 4, then the
    // thresholds are kept 0.1 apart below 4: 3.9 and 4.
    const bottom = polyStart({ model: 'GRM', categories: 3 }, [100, 0, 0], 0.5).b;
    close(bottom[0] ?? Number.NaN, 3.9, 1e-12, 'GRM b1, all at the bottom');
    close(bottom[1] ?? Number.NaN, 4, 1e-12, 'GRM b2, all at the bottom');
    const low = polyStart({ model: 'GRM', categories: 3 }, [100, 0, 0], 1).b;
    close(low[0] ?? Number.NaN, logit(0.98), 1e-12, 'GRM b1, D = 1');
    close(low[1] ?? Number.NaN, logit(0.98) + 0.1, 1e-12, 'GRM b2, D = 1');
    // No answers: shares (K + 1 − k)/(K + 1).
    const none = polyStart({ model: 'GRM', categories: 4 }, [0, 0, 0, 0], 1).b;
    [-logit(0.75), 0, -logit(0.25)].forEach((b, k) => close(none[k] ?? Number.NaN, b, 1e-12, `GRM b${k + 1} with no answers`));
    // GPCM: b_k = log((n_{k−1} + ½)/(n_k + ½))/D, clamped to ±4.
    const gpcm = polyStart({ model: 'GPCM', categories: 3 }, [10, 30, 5], 1);
    assert.equal(gpcm.a, 1);
    close(gpcm.b[0] ?? Number.NaN, Math.log(10.5 / 30.5), 1e-12, 'GPCM b1');
    close(gpcm.b[1] ?? Number.NaN, Math.log(30.5 / 5.5), 1e-12, 'GPCM b2');
    close(
      polyStart({ model: 'GPCM', categories: 3 }, [10, 30, 5], 2).b[1] ?? Number.NaN,
      Math.log(30.5 / 5.5) / 2,
      1e-12,
      'GPCM b2, D = 2',
    );
    assert.deepEqual(polyStart({ model: 'GPCM', categories: 3 }, [0, 1000, 0], 0.2).b, [-4, 4]);
  });

  it('solve and invert: small symmetric positive-definite systems', () => {
    const [x, y] = solve(
      [
        [4, 2],
        [2, 3],
      ],
      [2, 1],
    );
    // det 8: x = (3·2 − 2·1)/8, y = (4·1 − 2·2)/8.
    close(x ?? Number.NaN, 0.5, 1e-15, 'x');
    close(y ?? Number.NaN, 0, 1e-15, 'y');
    const A = [
      [4, 1, 2],
      [1, 3, 0.5],
      [2, 0.5, 5],
    ];
    const g = [1, -2, 3];
    const sol = solve(A, g);
    A.forEach((row, i) =>
      close(
        row.reduce((s, v, k) => s + v * (sol[k] ?? Number.NaN), 0),
        g[i] ?? Number.NaN,
        1e-12,
        `row ${i}`,
      ),
    );
    const inv = invert(A);
    for (let i = 0; i < 3; i++)
      for (let k = 0; k < 3; k++) {
        const product = (A[i] ?? []).reduce((s, v, l) => s + v * (inv[l]?.[k] ?? Number.NaN), 0);
        close(product, i === k ? 1 : 0, 1e-12, `(A·A⁻¹)[${i}][${k}]`);
      }
  });

  it('Q1 of a polytomous item: null under 100 people, 0 when every group matches, N·Σ(O − E)²/E otherwise', () => {
    // A 2-category GRM item with a = 1, b = 0 at θ = 0: P = (½, ½).
    const item = { a: 1, b: [0] };
    const spec: PolySpec = { model: 'GRM', categories: 2 };
    const at0 = (category: (i: number) => number, n: number) => Array.from({ length: n }, (_, i) => ({ theta: 0, category: category(i) }));
    assert.equal(
      polyQ1(
        spec,
        item,
        at0((i) => i % 2, 99),
        1,
        chiSquareP,
      ),
      null,
    );
    const even = polyQ1(
      spec,
      item,
      at0((i) => i % 2, 100),
      1,
      chiSquareP,
    );
    close(even?.q1 ?? Number.NaN, 0, 1e-12, 'Q1 of a perfect fit');
    assert.equal(even?.df, 8);
    close(even.p, 1, 1e-12, 'p of a perfect fit');
    // First 50 in category 0, then 50 in category 1: every group of 10 has O = (1, 0) or (0, 1)
    // against E = (½, ½), so each adds 10·(¼/½ + ¼/½) = 10; df = 10·1 − 2 = 8.
    const split = polyQ1(
      spec,
      item,
      at0((i) => (i < 50 ? 0 : 1), 100),
      1,
      chiSquareP,
    );
    close(split?.q1 ?? Number.NaN, 100, 1e-9, 'Q1');
    assert.equal(split?.df, 8);
    close(split.p, chiSquareP(100, 8), 1e-15, 'p');
    // People are grouped by θ, whatever their order: 200 people given from high θ to low, the
    // upper half answering 1, fitted by a GRM with 3 categories (df = 10·2 − 3 = 17).
    const people = Array.from({ length: 200 }, (_, i) => ({ theta: 2 - (4 * i) / 199, category: i < 100 ? 1 : 0 }));
    const three = { a: 1.5, b: [-0.2, 0.9] };
    const fit = polyQ1({ model: 'GRM', categories: 3 }, three, people, 1.2, chiSquareP);
    let q1 = 0;
    const sorted = [...people].reverse();
    for (let g = 0; g < 10; g++) {
      const part = sorted.slice(20 * g, 20 * (g + 1));
      for (let k = 0; k < 3; k++) {
        const observed = part.filter((p) => p.category === k).length / 20;
        const expected =
          part.reduce((s, p) => {
            const above = (j: number): number => (j === 0 ? 1 : j === 3 ? 0 : logistic(1.2 * 1.5 * (p.theta - (three.b[j - 1] ?? 0))));
            return s + above(k) - above(k + 1);
          }, 0) / 20;
        q1 += (20 * (observed - expected) ** 2) / expected;
      }
    }
    close(fit?.q1 ?? Number.NaN, q1, 1e-9 * q1, 'Q1 by θ groups');
    assert.equal(fit?.df, 17);
  });

  it('GRM thresholds stay at least 0.01 apart when the middle category is never chosen', () => {
    const r = createRng('poly-empty-middle');
    const rows: ResponseRow[] = Array.from({ length: 200 }, () => {
      const theta = r.normal();
      return new Map([
        [0, r.next() < logistic(1.5 * theta) ? 2 : 0],
        [1, r.next() < logistic(theta) ? 1 : 0],
      ]);
    });
    const report = calibrate(rows, 2, { items: [{ model: 'GRM', categories: 3 }, null] });
    const b = report.items[0]?.thresholds ?? [];
    assert.equal(b.length, 2);
    const gap = (b[1] ?? Number.NaN) - (b[0] ?? Number.NaN);
    assert.ok(gap >= 0.01 && gap < 0.1, `gap ${gap}`);
    assert.ok(report.items.every((i) => i.a >= 0.02 && i.a <= 8));
  });

  it('keeps a within 8 and thresholds within ±8 under flat priors', () => {
    const flat = { logA: { mean: 0, sd: 1e6 }, b: { mean: 0, sd: 1e6 } };
    const r = createRng('poly-bounds');
    // Items 0 and 1 give the same answer (a → ∞); item 2 is always in its top category (the
    // second GPCM step → −∞); item 3 is a plain 2PL item.
    const rows: ResponseRow[] = Array.from({ length: 120 }, () => {
      const theta = r.normal();
      const u = theta < -0.5 ? 0 : theta < 0.5 ? 1 : 2;
      return new Map([
        [0, u],
        [1, u],
        [2, 2],
        [3, r.next() < logistic(theta) ? 1 : 0],
      ]);
    });
    const spec: PolySpec[] = [
      { model: 'GRM', categories: 3 },
      { model: 'GRM', categories: 3 },
      { model: 'GPCM', categories: 3 },
    ];
    const report = calibrate(rows, 4, { items: [...spec, null], priors: flat, maxCycles: 30 });
    for (const j of [0, 1]) {
      const a = report.items[j]?.a ?? Number.NaN;
      assert.ok(a <= 8 && a > 7.9, `a of item ${j}: ${a}`);
    }
    const step = report.items[2]?.thresholds?.[1] ?? Number.NaN;
    assert.ok(step >= -8 && step < -7.9, `second step of item 2: ${step}`);
  });
});
