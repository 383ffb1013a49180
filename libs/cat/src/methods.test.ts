import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { computePosterior, estimateMle } from './estimate.ts';
import type { ItemParams } from './irt.ts';
import { ESTIMATION_METHODS, estimateTheta } from './methods.ts';
import type { AnyItemParams } from './models.ts';
import { logLik3pl, slopeOf } from './likelihood.fixture.test.ts';
import { createRng } from './rng.ts';

const close = (actual: number, expected: number, tol: number, what = ''): void => {
  assert.ok(Math.abs(actual - expected) <= tol, `${what} ${actual} vs ${expected} (tol ${tol})`);
};

/** n identical Rasch items at b = 0 with r correct answers. */
function rasch(n: number, r: number): { items: ItemParams[]; responses: number[] } {
  return {
    items: Array.from({ length: n }, () => ({ a: 1, b: 0, c: 0 })),
    responses: Array.from({ length: n }, (_, j) => (j < r ? 1 : 0)),
  };
}

/** Mode of a posterior computed by the EAP machinery on a fine grid. */
function gridMode(items: AnyItemParams[], responses: number[], sd: number, mean = 0): { mode: number; h: number } {
  const points = 8001;
  const post = computePosterior(items, responses, { prior: { mean, sd }, grid: { points } });
  let best = 0;
  for (let q = 1; q < points; q++) if ((post.weights[q] as number) > (post.weights[best] as number)) best = q;
  return { mode: post.nodes[best] as number, h: (post.nodes[1] as number) - (post.nodes[0] as number) };
}

describe('estimateTheta: reference values from closed forms', () => {
  it('ML on n identical Rasch items is log(r / (n − r)) (sufficient statistic)', () => {
    for (let r = 1; r < 6; r++) {
      const { items, responses } = rasch(6, r);
      const e = estimateTheta('ML', items, responses);
      close(e.theta, Math.log(r / (6 - r)), 1e-10, `r=${r}`);
      close(e.se, 1 / Math.sqrt(6 * (r / 6) * (1 - r / 6)), 1e-9, 'se');
      assert.equal(e.bounded, false);
    }
  });

  it('ML rule for all-correct / all-wrong: the bound of the search range, flagged', () => {
    const up = estimateTheta('ML', ...(Object.values(rasch(5, 5)) as [ItemParams[], number[]]));
    const down = estimateTheta('ML', ...(Object.values(rasch(5, 0)) as [ItemParams[], number[]]));
    assert.deepEqual([up.theta, up.bounded, down.theta, down.bounded], [4, true, -4, true]);
    assert.ok(Number.isFinite(up.se) && up.se > 0);
    assert.equal(estimateTheta('ML', rasch(5, 5).items, rasch(5, 5).responses, { bounds: [-3, 3] }).theta, 3);
  });

  it('WLE on n identical Rasch items is log((r + ½) / (n − r + ½)), finite for extreme patterns', () => {
    for (let r = 0; r <= 6; r++) {
      const { items, responses } = rasch(6, r);
      const e = estimateTheta('WLE', items, responses);
      close(e.theta, Math.log((r + 0.5) / (6 - r + 0.5)), 1e-10, `r=${r}`);
      assert.equal(e.bounded, false);
    }
  });

  it('MAP on 4 Rasch items (3 correct, N(0,1)) solves 3 − 4·P(θ) − θ = 0: θ = 0.50524008632, SE = 0.71817972589', () => {
    const { items, responses } = rasch(4, 3);
    const e = estimateTheta('MAP', items, responses);
    close(e.theta, 0.5052400863197251, 1e-10);
    close(e.se, 0.7181797258914383, 1e-9);
  });

  it('ML on a 3PL pattern matches an independent root of the 3PL score equation (θ = −0.35783172589)', () => {
    const items: ItemParams[] = [
      { a: 1, b: -1, c: 0.2 },
      { a: 1.5, b: 0, c: 0.2 },
      { a: 0.8, b: 1, c: 0.25 },
      { a: 1.2, b: 0.5, c: 0.15 },
      { a: 2, b: -0.5, c: 0.1 },
    ];
    close(estimateTheta('ML', items, [1, 1, 0, 1, 0]).theta, -0.3578317258934346, 1e-9);
  });

  it('with no responses every method returns the prior', () => {
    for (const m of ESTIMATION_METHODS) {
      assert.deepEqual(estimateTheta(m, [], [], { prior: { mean: 0.3, sd: 1.5 } }), { theta: 0.3, se: 1.5, bounded: false });
    }
  });
});

describe('estimateTheta: agreement with the posterior on a fine grid', () => {
  const rng = createRng('agree');
  const items: ItemParams[] = Array.from({ length: 15 }, () => ({ a: 0.6 + rng.next() * 1.4, b: rng.normal(), c: 0.2 * rng.next() }));
  const responses = items.map((_, j) => (j % 3 === 0 ? 0 : 1));

  it('ML equals the mode of EAP’s grid posterior under a flat prior (sd 1e4)', () => {
    const { mode, h } = gridMode(items, responses, 1e4);
    close(estimateTheta('ML', items, responses).theta, mode, h);
  });

  it('MAP equals the mode of EAP’s grid posterior under the same normal prior', () => {
    const prior = { mean: 0.5, sd: 0.8 };
    const { mode, h } = gridMode(items, responses, prior.sd, prior.mean);
    close(estimateTheta('MAP', items, responses, { prior }).theta, mode, h);
  });

  it('MAP tends to ML as the prior flattens; EAP tends to ML on a long test', () => {
    const ml = estimateTheta('ML', items, responses).theta;
    close(estimateTheta('MAP', items, responses, { prior: { mean: 0, sd: 1e3 } }).theta, ml, 1e-5);
    const r = createRng('long');
    const long: ItemParams[] = Array.from({ length: 400 }, () => ({ a: 1 + r.next(), b: r.normal(), c: 0 }));
    const resp = long.map((it) => (r.next() < 1 / (1 + Math.exp(-it.a * (0.7 - it.b))) ? 1 : 0));
    const eapFlat = estimateTheta('EAP', long, resp, { prior: { mean: 0, sd: 1e4 } });
    close(eapFlat.theta, estimateTheta('ML', long, resp).theta, 0.01);
    close(eapFlat.se, estimateTheta('ML', long, resp).se, 0.005);
  });

  it('WLE on 2PL items equals the mode of L·√I (Jeffreys prior) on a fine grid', () => {
    const two = items.map((it) => ({ ...it, c: 0 }));
    const w = estimateTheta('WLE', two, responses).theta;
    let best = -Infinity;
    let arg = 0;
    for (let q = 0; q <= 8000; q++) {
      const t = -4 + q / 1000;
      let ll = 0;
      let inf = 0;
      for (let j = 0; j < two.length; j++) {
        const it = two[j] as ItemParams;
        const p = 1 / (1 + Math.exp(-it.a * (t - it.b)));
        ll += Math.log(responses[j] === 1 ? p : 1 - p);
        inf += it.a * it.a * p * (1 - p);
      }
      const v = ll + 0.5 * Math.log(inf);
      if (v > best) {
        best = v;
        arg = t;
      }
    }
    close(w, arg, 1e-3);
  });
});

describe('estimateTheta: guards', () => {
  const ok: ItemParams[] = [{ a: 1, b: 0, c: 0.2 }];
  it('rejects c = 1, a ≤ 0, huge a or |b|, non-finite values, a prior SD of 0, bad D and bad responses', () => {
    const bad: [AnyItemParams[], number[], object?][] = [
      [[{ a: 1, b: 0, c: 1 }], [1]],
      [[{ a: 0, b: 0, c: 0 }], [1]],
      [[{ a: 1e200, b: 0, c: 0 }], [1]],
      [[{ a: 1, b: -1e308, c: 0 }], [1]],
      [[{ a: 1, b: Number.NaN, c: 0 }], [1]],
      [ok, [1], { prior: { mean: 0, sd: 0 } }],
      [ok, [1], { prior: { mean: Number.NaN, sd: 1 } }],
      [ok, [1], { D: 0 }],
      [ok, [1], { D: Infinity }],
      [ok, [2]],
      [ok, [0.5]],
      [ok, []],
      [[{ model: 'GRM', a: 1, b: [0, 0] }], [1]],
      [[{ model: 'GPCM', a: 1, b: [] }], [0]],
      [[{ model: 'GPCM', a: 1, b: [0, 1] }], [3]],
    ];
    for (const m of ESTIMATION_METHODS) {
      for (const [items, resp, opts] of bad) {
        assert.throws(() => estimateTheta(m, items, resp, opts), RangeError, `${m} ${JSON.stringify([items, resp, opts])}`);
      }
    }
  });
});

describe('estimateTheta: the maximum over the whole range', () => {
  it('ML is the bound when the likelihood there is higher than at an interior maximum', () => {
    // One correct answer with guessing, two wrong ones: a local maximum near 0 and a higher
    // likelihood at −4, where the wrong answers are most likely.
    const items: ItemParams[] = [
      { a: 2.5, b: 0, c: 0.35 },
      { a: 0.3, b: 0, c: 0 },
      { a: 0.76, b: 0, c: 0 },
    ];
    const resp = [1, 0, 0];
    const ll = logLik3pl(items, resp);
    const slope = slopeOf(ll, 1e-5);
    // There is an interior maximum: the slope falls through 0 between −0.5 and 1.
    assert.ok(slope(-0.5) > 0 && slope(1) < 0);
    assert.ok(ll(-4) > Math.max(ll(-1), ll(0), ll(1)));
    const ml = estimateTheta('ML', items, resp);
    assert.equal(ml.theta, -4);
    assert.equal(ml.bounded, true);
    assert.deepEqual([ml.theta, ml.bounded], [estimateMle(items, resp).theta, estimateMle(items, resp).bounded]);
    // With a prior pulling towards 0, MAP keeps the interior maximum.
    const map = estimateTheta('MAP', items, resp);
    assert.equal(map.bounded, false);
    assert.ok(Math.abs(map.theta) < 1.5);
  });

  it('property: ML agrees with estimateMle on 3PL patterns (θ to 1e-6, and which bound)', () => {
    const item = fc.record({
      a: fc.double({ min: 0.3, max: 2.5, noNaN: true }),
      b: fc.double({ min: -3.9, max: 3.9, noNaN: true }),
      c: fc.double({ min: 0, max: 0.35, noNaN: true }),
    });
    fc.assert(
      fc.property(fc.array(fc.tuple(item, fc.constantFrom(0, 1)), { minLength: 1, maxLength: 8 }), (rows) => {
        const items = rows.map((r) => r[0]);
        const resp = rows.map((r) => r[1]);
        const a = estimateTheta('ML', items, resp);
        const b = estimateMle(items, resp);
        return a.bounded === b.bounded && Math.abs(a.theta - b.theta) < 1e-6;
      }),
      { numRuns: 400, seed: 20261126 },
    );
  });
});

describe('estimateTheta: properties (fast-check)', () => {
  const pattern = fc
    .array(
      fc.record({
        a: fc.double({ min: 0.3, max: 3, noNaN: true }),
        b: fc.double({ min: -3, max: 3, noNaN: true }),
        x: fc.constantFrom(0, 1),
      }),
      {
        minLength: 1,
        maxLength: 25,
      },
    )
    .map((rows) => ({ items: rows.map((r) => ({ a: r.a, b: r.b, c: 0 })), responses: rows.map((r) => r.x) }));

  it('every method gives a finite θ in [−4, 4] and a finite SE; on 2PL items a 0 → 1 change never lowers θ̂', () => {
    fc.assert(
      fc.property(pattern, fc.nat(), ({ items, responses }, pick) => {
        const zeros = responses.flatMap((x, j) => (x === 0 ? [j] : []));
        for (const m of ESTIMATION_METHODS) {
          const e = estimateTheta(m, items, responses);
          assert.ok(Number.isFinite(e.theta) && e.theta >= -4 && e.theta <= 4 && Number.isFinite(e.se) && e.se > 0, m);
          if (zeros.length === 0) continue;
          const flipped = responses.slice();
          flipped[zeros[pick % zeros.length] as number] = 1;
          assert.ok(estimateTheta(m, items, flipped).theta >= e.theta - 1e-9, m);
        }
      }),
      { numRuns: 60, seed: 17 },
    );
  });
});

describe('estimateTheta: each modal estimate is the maximum of its objective', () => {
  /** Fisher information of 3PL items at θ from the definition, P′² / (P·(1 − P)). */
  const info = (items: readonly ItemParams[], t: number): number =>
    items.reduce((s, it) => {
      const L = 1 / (1 + Math.exp(-it.a * (t - it.b)));
      const p = it.c + (1 - it.c) * L;
      const d = (1 - it.c) * it.a * L * (1 - L);
      return s + (d * d) / (p * (1 - p));
    }, 0);
  const prior = { mean: 0.3, sd: 1.5 };
  type Objective = (ll: (t: number) => number, items: readonly ItemParams[]) => (t: number) => number;
  const objectives: Record<'ML' | 'MAP' | 'WLE', Objective> = {
    ML: (ll) => ll,
    MAP: (ll) => (t: number) => ll(t) - (t - prior.mean) ** 2 / (2 * prior.sd ** 2),
    // Warm's equation is the slope of L·√I for 2PL items (for 3PL it is not).
    WLE: (ll, items) => (t: number) => ll(t) + 0.5 * Math.log(info(items, t)),
  };
  const item = fc.record({
    a: fc.double({ min: 0.3, max: 2.5, noNaN: true }),
    b: fc.double({ min: -3.5, max: 3.5, noNaN: true }),
    c: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 0.35, noNaN: true })),
  });

  it('property: no point of a fine grid over [−4, 4] has a larger objective (ML, MAP with N(0.3, 1.5²), WLE on 2PL items)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(item, fc.constantFrom(0, 1)), { minLength: 1, maxLength: 8 }), (rows) => {
        const items = rows.map((r) => r[0]);
        const resp = rows.map((r) => r[1]);
        const ll = logLik3pl(items, resp);
        for (const method of ['ML', 'MAP', 'WLE'] as const) {
          if (method === 'WLE' && items.some((it) => it.c > 0)) continue;
          const f = objectives[method](ll, items);
          const e = estimateTheta(method, items, resp, { prior });
          let best = -Infinity;
          for (let q = 0; q <= 4000; q++) best = Math.max(best, f(-4 + q * 0.002));
          if (!(f(e.theta) >= best - 1e-9)) return false;
          if (e.bounded !== (Math.abs(e.theta) === 4)) return false;
        }
        return true;
      }),
      { numRuns: 150, seed: 1126 },
    );
  });

  it('the larger of two interior maxima wins, for ML and for MAP', () => {
    // A wrong answer on an easy item and right ones on two hard items with guessing.
    const items: ItemParams[] = [
      { a: 0.8, b: 0, c: 0 },
      { a: 1.4, b: 2.7, c: 0 },
      { a: 1.3, b: -0.3, c: 0.1 },
      { a: 2.2, b: 2.8, c: 0.1 },
    ];
    const resp = [0, 1, 0, 1];
    const ll = logLik3pl(items, resp);
    const slope = slopeOf(ll, 1e-5);
    // Two interior maxima: the slope falls through 0 twice.
    const signs = Array.from({ length: 161 }, (_, q) => Math.sign(slope(-4 + q * 0.05)));
    const falls = signs.filter((s, q) => q > 0 && (signs[q - 1] as number) > 0 && s <= 0).length;
    assert.equal(falls, 2);
    for (const method of ['ML', 'MAP'] as const) {
      const f = objectives[method](ll, items);
      const e = estimateTheta(method, items, resp, { prior });
      let best = -4;
      for (let q = 0; q <= 80000; q++) if (f(-4 + q * 0.0001) > f(best)) best = -4 + q * 0.0001;
      assert.ok(Math.abs(e.theta - best) < 1e-3, `${method}: ${e.theta} vs ${best}`);
    }
  });

  it('MAP’s SE is 1/√(I(θ̂) + 1/σ²); EAP is never bounded', () => {
    const items: ItemParams[] = [
      { a: 1.2, b: -0.5, c: 0.2 },
      { a: 0.8, b: 0.4, c: 0 },
      { a: 1.6, b: 1, c: 0.1 },
    ];
    const resp = [1, 1, 0];
    const e = estimateTheta('MAP', items, resp, { prior: { mean: 0, sd: 2 } });
    close(e.se, 1 / Math.sqrt(info(items, e.theta) + 1 / 4), 1e-9, 'MAP SE');
    const w = estimateTheta('WLE', items, resp);
    close(w.se, 1 / Math.sqrt(info(items, w.theta)), 1e-9, 'WLE SE');
    const up = [1, 1, 1];
    assert.equal(estimateTheta('EAP', items, up).bounded, false);
  });

  it('the search range is the bounds, else the grid’s ends; both must be finite and increasing', () => {
    const { items, responses } = rasch(4, 4);
    assert.equal(estimateTheta('ML', items, responses, { grid: { min: -2, max: 2.5 } }).theta, 2.5);
    assert.equal(estimateTheta('ML', items, rasch(4, 0).responses, { grid: { min: -2, max: 2.5 } }).theta, -2);
    for (const bounds of [
      [1, 1],
      [2, 1],
      [Number.NaN, 1],
      [0, Number.POSITIVE_INFINITY],
    ] as [number, number][]) {
      for (const m of ['ML', 'MAP', 'WLE'] as const) {
        assert.throws(() => estimateTheta(m, items, responses, { bounds }), {
          name: 'RangeError',
          message: `bounds must be finite with lo < hi, got [${bounds[0]}, ${bounds[1]}]`,
        });
      }
    }
  });
});
