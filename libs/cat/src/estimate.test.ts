import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { EapAccumulator, computePosterior, estimateEap, estimateMle } from './estimate.ts';
import type { ItemParams } from './irt.ts';
import { logLik3pl, slopeOf } from './likelihood.fixture.test.ts';
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
    const ll = logLik3pl(items, resp);
    let best = -Infinity;
    for (let t = -4; t <= 4; t += 0.0005) best = Math.max(best, ll(t));
    assert.ok(ll(m.theta) >= best - 1e-9);
    assert.ok(Math.abs(slopeOf(ll)(m.theta)) < 1e-4);
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

describe('input checks', () => {
  const item: ItemParams = { a: 1, b: 0, c: 0.2 };
  const grm = { model: 'GRM' as const, a: 1.2, b: [-1, 0.5] };

  it('refuses a grid whose ends are not finite or not increasing, naming the rule', () => {
    for (const grid of [{ min: Number.NaN }, { max: Number.POSITIVE_INFINITY }, { min: 1, max: 1 }, { min: 2, max: 1 }]) {
      assert.throws(() => estimateEap([item], [1], { grid }), {
        name: 'RangeError',
        message: 'grid.max must exceed grid.min (both finite)',
      });
      assert.throws(() => estimateMle([item], [1], { grid }), RangeError);
      assert.throws(() => new EapAccumulator({ grid }), RangeError);
    }
  });

  it('uses at least three grid points', () => {
    const p = computePosterior([item], [1], { grid: { points: 1 } });
    assert.equal(p.nodes.length, 3);
    assert.equal(p.weights.length, 3);
  });

  it('refuses items and responses of different lengths', () => {
    assert.throws(() => estimateEap([item, item], [1]), { name: 'RangeError', message: 'items (2) and responses (1) differ in length' });
    assert.throws(() => estimateMle([item], [1, 0]), { message: 'items (1) and responses (2) differ in length' });
  });

  it('refuses a prior without a finite mean and a finite positive sd', () => {
    for (const prior of [
      { mean: Number.NaN, sd: 1 },
      { mean: 0, sd: Number.POSITIVE_INFINITY },
      { mean: 0, sd: 0 },
      { mean: 0, sd: -1 },
    ]) {
      const message = `prior must have a finite mean and a finite sd > 0, got N(${prior.mean}, ${prior.sd})`;
      assert.throws(() => estimateEap([item], [1], { prior }), { name: 'RangeError', message });
      assert.throws(() => new EapAccumulator({ prior }), { message });
    }
  });

  it('refuses a response that is not a category of its item, and a malformed item, by position', () => {
    assert.throws(() => estimateEap([item, item], [1, 2]), {
      name: 'RangeError',
      message: 'responses[1] must be a category in 0..1, got 2',
    });
    assert.throws(() => estimateEap([item], [-1]), { message: 'responses[0] must be a category in 0..1, got -1' });
    assert.throws(() => estimateEap([item], [0.5]), { message: 'responses[0] must be a category in 0..1, got 0.5' });
    assert.throws(() => estimateMle([item], [2]), { message: 'responses[0] must be a category in 0..1, got 2' });
    assert.throws(() => estimateEap([item, grm], [1, 3]), { message: 'responses[1] must be a category in 0..2, got 3' });
    assert.doesNotThrow(() => estimateEap([item, grm], [1, 2]));
    assert.throws(() => estimateEap([item, { a: 0, b: 0, c: 0 }], [1, 1]), { message: 'items[1]: a must be in (0, 10], got 0' });
    const acc = new EapAccumulator();
    acc.add(grm, 2);
    assert.throws(() => acc.add(grm, 3), { message: 'responses[1] must be a category in 0..2, got 3' });
    assert.throws(() => acc.add({ a: 1, b: 0, c: 1 }, 1), { message: 'items[1]: c must be in [0, 1), got 1' });
    assert.equal(acc.count, 1);
  });
});

describe('narrow posteriors', () => {
  it('a prior narrower than the grid step is integrated on a local grid: θ and SE are the prior’s', () => {
    // The default grid's step is 0.05; a N(0.3137, 0.01²) prior would fall on one node.
    for (const mean of [0.3137, -3.995, 3.995]) {
      const prior = { mean, sd: 0.01 };
      const eap = estimateEap([], [], { prior });
      const acc = new EapAccumulator({ prior }).estimate();
      for (const e of [eap, acc]) {
        // Near a grid end the prior is cut there: only the mean moves, towards the middle.
        if (Math.abs(mean) < 3) assert.ok(Math.abs(e.theta - mean) < 1e-6, `θ ${e.theta} for ${mean}`);
        else assert.ok(Math.abs(e.theta) < Math.abs(mean) && Math.abs(e.theta - mean) < 0.01, `θ ${e.theta} for ${mean}`);
        if (Math.abs(mean) < 3) assert.ok(Math.abs(e.se - 0.01) < 1e-5, `se ${e.se}`);
      }
    }
  });

  it('the accumulator refines with its own responses, as estimateEap does', () => {
    const prior = { mean: 0.5, sd: 0.03 };
    const { items, resp } = randomTest('narrow', 12, 2.5);
    const acc = new EapAccumulator({ prior, D: 1.702 });
    items.forEach((it, j) => acc.add(it, resp[j] as 0 | 1));
    const a = acc.estimate();
    const b = estimateEap(items, resp, { prior, D: 1.702 });
    assert.ok(Math.abs(a.theta - b.theta) < 1e-12 && Math.abs(a.se - b.se) < 1e-12, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    // The responses moved it: without them the estimate would be the prior's.
    assert.ok(Math.abs(b.theta - 0.5) > 1e-4);
  });

  it('stays finite with 3,000 responses, whose log-likelihood is far below what exp() can hold', () => {
    const items = Array.from({ length: 3000 }, (_, j) => ({ a: 2, b: -3 + (6 * j) / 2999, c: 0 }));
    const resp = items.map((it) => (it.b < 0.7 ? 1 : 0));
    const got = estimateEap(items, resp, { D: 1.702 });
    assert.ok(Math.abs(got.theta - 0.7) < 0.02, `θ ${got.theta}`);
    assert.ok(got.se > 0.005 && got.se < 0.05, `se ${got.se}`);
  });
});

describe('estimateMle edge cases', () => {
  it('reaches the maximum of a flat likelihood with guessing, where Fisher scoring alone crawls', () => {
    // The Fisher information here is several times the curvature: 60 scoring steps stopped
    // 7e-4 short (score 5e-4); bisection takes over when a step does not halve.
    const items: ItemParams[] = [
      { a: 0.57, b: 0, c: 0 },
      { a: 0.38, b: 0, c: 0 },
      { a: 1.71, b: 0, c: 0.35 },
      { a: 0.69, b: 0, c: 0 },
    ];
    const resp = [0, 1, 0, 1];
    const ll = logLik3pl(items, resp);
    const m = estimateMle(items, resp);
    assert.ok(Math.abs(slopeOf(ll, 1e-5)(m.theta)) < 1e-8, `score at ${m.theta}`);
    assert.ok(Math.abs(m.theta - -0.67842026363) < 1e-9, `θ ${m.theta}`);
  });

  it('with no responses gives the prior mean (default 0) inside the bounds, SE ∞, not bounded', () => {
    assert.deepEqual(estimateMle([], []), { theta: 0, se: Infinity, bounded: false });
    assert.deepEqual(estimateMle([], [], { prior: { mean: 1.5, sd: 1 } }), { theta: 1.5, se: Infinity, bounded: false });
    assert.deepEqual(estimateMle([], [], { prior: { mean: 3, sd: 1 }, bounds: [-1, 1] }), { theta: 1, se: Infinity, bounded: false });
    assert.deepEqual(estimateMle([], [], { prior: { mean: -3, sd: 1 }, bounds: [-1, 1] }), { theta: -1, se: Infinity, bounded: false });
  });

  it('is not bounded when the likelihood only has a local maximum at a bound', () => {
    // With guessing the likelihood can rise towards −4 or +4 and still peak inside.
    const low: ItemParams[] = [
      { a: 2.5, b: -2, c: 0.1 },
      { a: 0.6, b: -2.9, c: 0 },
      { a: 0.4, b: 2.8, c: 0.1 },
    ];
    const high: ItemParams[] = [
      { a: 0.7, b: 2.5, c: 0 },
      { a: 2.8, b: 3.9, c: 0.3 },
      { a: 2.4, b: 0.1, c: 0 },
    ];
    for (const [items, resp, edge] of [
      [low, [1, 0, 0], -4],
      [high, [0, 1, 1], 4],
    ] as const) {
      const ll = logLik3pl(items, resp);
      // The bound is a local maximum: the likelihood falls when stepping inside.
      assert.ok(ll(edge - Math.sign(edge) * 0.01) < ll(edge));
      const m = estimateMle(items, [...resp]);
      assert.equal(m.bounded, false);
      assert.ok(Math.abs(m.theta) < 3.5 && ll(m.theta) > ll(edge));
      assert.ok(Math.abs(slopeOf(ll)(m.theta)) < 1e-4);
    }
  });
});
