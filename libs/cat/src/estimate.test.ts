import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { EapAccumulator, computePosterior, estimateEap, estimateMle } from './estimate.ts';
import type { ItemParams } from './irt.ts';
import { createRng } from './rng.ts';

/** Independent reference: trapezoid rule on 4001 points over [-4, 4], written from scratch. */
function referenceEap(items: ItemParams[], resp: number[], D = 1, mean = 0, sd = 1): { theta: number; se: number } {
  const n = 4001;
  const xs: number[] = [];
  const lw: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = -4 + (8 * i) / (n - 1);
    let l = -0.5 * ((t - mean) / sd) ** 2;
    items.forEach((it, j) => {
      const p = it.c + (1 - it.c) / (1 + Math.exp(-D * it.a * (t - it.b)));
      l += resp[j] === 1 ? Math.log(p) : Math.log(1 - p);
    });
    xs.push(t);
    lw.push(l);
  }
  const m = Math.max(...lw);
  let z = 0;
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const w = Math.exp((lw[i] as number) - m) * (i === 0 || i === n - 1 ? 0.5 : 1);
    const t = xs[i] as number;
    z += w;
    s1 += w * t;
    s2 += w * t * t;
  }
  const theta = s1 / z;
  return { theta, se: Math.sqrt(Math.max(0, s2 / z - theta * theta)) };
}

function randomTest(seed: string, n: number, aMax = 2): { items: ItemParams[]; resp: (0 | 1)[] } {
  const r = createRng(seed);
  const trueTheta = r.normal();
  const items: ItemParams[] = [];
  const resp: (0 | 1)[] = [];
  for (let i = 0; i < n; i++) {
    const it = { a: 0.4 + r.next() * (aMax - 0.4), b: 2 * r.normal(), c: r.next() * 0.3 };
    items.push(it);
    const p = it.c + (1 - it.c) / (1 + Math.exp(-(it.a * (trueTheta - it.b))));
    resp.push(r.next() < p ? 1 : 0);
  }
  return { items, resp };
}

const itemArb = fc.record({
  a: fc.double({ min: 0.3, max: 2.5, noNaN: true }),
  b: fc.double({ min: -3, max: 3, noNaN: true }),
  c: fc.double({ min: 0, max: 0.35, noNaN: true }),
});
const testArb = fc
  .array(fc.tuple(itemArb, fc.constantFrom<0 | 1>(0, 1)), { minLength: 1, maxLength: 30 })
  .map((xs) => ({ items: xs.map((x) => x[0]), resp: xs.map((x) => x[1]) }));

describe('estimateEap', () => {
  it('matches an independent 4001-point trapezoid integration to 1e-3', () => {
    for (const [i, n] of [0, 1, 3, 10, 20, 50].entries()) {
      for (const D of [1, 1.702]) {
        const { items, resp } = randomTest(`eap-${i}-${D}`, n);
        const got = estimateEap(items, resp, { D });
        const ref = referenceEap(items, resp, D);
        assert.ok(Math.abs(got.theta - ref.theta) < 1e-3, `theta n=${n}: ${got.theta} vs ${ref.theta}`);
        assert.ok(Math.abs(got.se - ref.se) < 1e-3, `se n=${n}: ${got.se} vs ${ref.se}`);
      }
    }
    const all1 = Array.from({ length: 15 }, (_, j) => ({ a: 1.5, b: -2 + j * 0.3, c: 0.2 }));
    for (const resp of [all1.map(() => 1 as const), all1.map(() => 0 as const)]) {
      const got = estimateEap(all1, resp, { prior: { mean: 0.5, sd: 1.5 } });
      const ref = referenceEap(all1, resp, 1, 0.5, 1.5);
      assert.ok(Math.abs(got.theta - ref.theta) < 1e-3 && Math.abs(got.se - ref.se) < 1e-3);
    }
  });

  it('is stable and accurate with 200 highly informative responses', () => {
    const { items, resp } = randomTest('long', 200, 3);
    const got = estimateEap(items, resp, { D: 1.702 });
    const ref = referenceEap(items, resp, 1.702);
    assert.ok(Number.isFinite(got.theta) && Number.isFinite(got.se) && got.se > 0);
    assert.ok(Math.abs(got.theta - ref.theta) < 1e-3 && Math.abs(got.se - ref.se) < 1e-3);
  });

  it('does not depend on the grid size to 1e-3', () => {
    fc.assert(
      fc.property(testArb, ({ items, resp }) => {
        const a = estimateEap(items, resp);
        const b = estimateEap(items, resp, { grid: { points: 641 } });
        return Math.abs(a.theta - b.theta) < 1e-3 && Math.abs(a.se - b.se) < 1e-3;
      }),
      { numRuns: 60 },
    );
  });

  it('EapAccumulator agrees with estimateEap', () => {
    const { items, resp } = randomTest('acc', 25);
    const acc = new EapAccumulator();
    items.forEach((it, j) => {
      acc.add(it, resp[j] as 0 | 1);
      const a = acc.estimate();
      const b = estimateEap(items.slice(0, j + 1), resp.slice(0, j + 1));
      assert.ok(Math.abs(a.theta - b.theta) < 1e-12 && Math.abs(a.se - b.se) < 1e-12);
    });
    assert.equal(acc.count, 25);
  });

  it('property: changing a wrong answer to correct never lowers θ', () => {
    fc.assert(
      fc.property(testArb, fc.nat(), ({ items, resp }, k) => {
        const zeros = resp.flatMap((r, j) => (r === 0 ? [j] : []));
        if (zeros.length === 0) return true;
        const j = zeros[k % zeros.length] as number;
        const flipped = resp.slice();
        flipped[j] = 1;
        return estimateEap(items, flipped).theta >= estimateEap(items, resp).theta - 1e-7;
      }),
      { numRuns: 200 },
    );
  });

  it('property: adding an item never increases the expected posterior variance (preposterior)', () => {
    // Law of total variance: Var(θ|x) ≥ E_u[Var(θ|x,u)], the expectation over the
    // predictive distribution of the new response. (A single unexpected answer can
    // increase the SE, so the property is stated in expectation.)
    fc.assert(
      fc.property(testArb, itemArb, ({ items, resp }, next) => {
        const post = computePosterior(items, resp);
        let p1 = 0;
        post.nodes.forEach((t, q) => {
          p1 += (post.weights[q] as number) * (next.c + (1 - next.c) / (1 + Math.exp(-next.a * (t - next.b))));
        });
        const s1 = estimateEap([...items, next], [...resp, 1]).se;
        const s0 = estimateEap([...items, next], [...resp, 0]).se;
        return p1 * s1 * s1 + (1 - p1) * s0 * s0 <= post.se * post.se + 1e-6;
      }),
      { numRuns: 200 },
    );
  });

  it('property: SE shrinks below the prior SD with informative 1PL/2PL items', () => {
    // For c = 0 (log-concave likelihood) with a normal prior the posterior variance
    // never exceeds the prior variance (Brascamp–Lieb).
    fc.assert(
      fc.property(testArb, ({ items, resp }) => {
        const twoPl = items.map((it) => ({ ...it, c: 0 }));
        return estimateEap(twoPl, resp).se <= 1 + 1e-9;
      }),
      { numRuns: 100 },
    );
  });
});

describe('estimateMle', () => {
  const items: ItemParams[] = [
    { a: 1, b: -1, c: 0.2 },
    { a: 1.2, b: 0, c: 0.2 },
    { a: 0.9, b: 1, c: 0.25 },
    { a: 1.5, b: 0.5, c: 0 },
  ];

  it('clamps all-correct to +4 and all-wrong to −4', () => {
    const up = estimateMle(items, [1, 1, 1, 1]);
    const down = estimateMle(items, [0, 0, 0, 0]);
    assert.equal(up.theta, 4);
    assert.equal(down.theta, -4);
    assert.ok(up.bounded && down.bounded);
    assert.ok(Number.isFinite(up.se) && up.se > 0);
    assert.equal(estimateMle([], []).se, Infinity);
  });

  it('finds the likelihood maximum for mixed patterns (score ≈ 0, beats a fine grid)', () => {
    const resp: (0 | 1)[] = [1, 1, 0, 0];
    const m = estimateMle(items, resp);
    assert.ok(!m.bounded);
    const ll = (t: number): number =>
      items.reduce((s, it, j) => {
        const p = it.c + (1 - it.c) / (1 + Math.exp(-it.a * (t - it.b)));
        return s + (resp[j] === 1 ? Math.log(p) : Math.log(1 - p));
      }, 0);
    let best = -Infinity;
    for (let t = -4; t <= 4; t += 0.0005) best = Math.max(best, ll(t));
    assert.ok(ll(m.theta) >= best - 1e-9);
    const h = 1e-6;
    assert.ok(Math.abs((ll(m.theta + h) - ll(m.theta - h)) / (2 * h)) < 1e-4);
  });

  it('property: flipping a wrong answer to correct never lowers the MLE', () => {
    fc.assert(
      fc.property(testArb, fc.nat(), ({ items: its, resp }, k) => {
        const zeros = resp.flatMap((r, j) => (r === 0 ? [j] : []));
        if (zeros.length === 0) return true;
        const flipped = resp.slice();
        flipped[zeros[k % zeros.length] as number] = 1;
        return estimateMle(its, flipped).theta >= estimateMle(its, resp).theta - 1e-6;
      }),
      { numRuns: 100 },
    );
  });
});
