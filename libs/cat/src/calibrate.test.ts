import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calibrate, chiSquareP } from './calibrate.ts';
import type { CalibrationReport, ItemCalibration, PolySpec, ResponseRow } from './calibrate.ts';
import { categoryProbabilities } from './models.ts';
import type { AnyItemParams } from './models.ts';
import { createRng } from './rng.ts';

// The reference these tests hold calibrate() to, written from the definitions rather than from
// calibrate.ts: the default 41 quadrature nodes on [−5, 5] with N(0, 1) weights, the category
// probabilities of models.ts, the default priors (log a ~ N(0, 0.5), each b ~ N(0, 3),
// c ~ Beta(5, 17)), and derivatives by finite differences.
const NODES = Array.from({ length: 41 }, (_, q) => -5 + (10 * q) / 40);
const WEIGHTS = ((): number[] => {
  const raw = NODES.map((t) => Math.exp(-0.5 * t * t));
  const total = raw.reduce((s, v) => s + v, 0);
  return raw.map((v) => v / total);
})();
const at = <T>(xs: readonly T[], i: number): T => {
  const v = xs[i];
  assert.ok(v !== undefined, `index ${i}`);
  return v;
};

/** log P(X = k) of an item at each node: entry [q][k]. */
const logTable = (item: AnyItemParams, D: number): number[][] => NODES.map((t) => [...categoryProbabilities(item, t, D)].map(Math.log));

/** Σ over people of log Σ_q w_q Π_j P_j(u_ij | θ_q), and each person's log marginal likelihood. */
function marginal(rows: readonly ResponseRow[], tables: readonly number[][][]): { total: number; persons: number[]; posts: number[][] } {
  const persons: number[] = [];
  const posts: number[][] = [];
  for (const row of rows) {
    const joint = NODES.map((_, q) => {
      let log = 0;
      for (const [j, u] of row) log += at(at(at(tables, j), q), u);
      return at(WEIGHTS, q) * Math.exp(log);
    });
    const sum = joint.reduce((s, v) => s + v, 0);
    persons.push(Math.log(sum));
    posts.push(joint.map((v) => v / sum));
  }
  return { total: persons.reduce((s, v) => s + v, 0), persons, posts };
}

/** Priors of the calibration: log a ~ N(mean, sd), each b ~ N(mean, sd), c ~ Beta(alpha, beta). */
type Priors = { logA: { mean: number; sd: number }; b: { mean: number; sd: number }; c: { alpha: number; beta: number } };
const DEFAULT_PRIORS: Priors = { logA: { mean: 0, sd: 0.5 }, b: { mean: 0, sd: 3 }, c: { alpha: 5, beta: 17 } };

/** The log prior density of an item (up to a constant). */
function logPrior(item: AnyItemParams, threePl: boolean, priors: Priors): number {
  const { logA, b: pb, c: pc } = priors;
  const la = Math.log(item.a);
  const normal = (x: number, m: number, sd: number): number => -((x - m) ** 2) / (2 * sd * sd);
  let v = normal(la, logA.mean, logA.sd);
  if ('model' in item) return item.b.reduce((s, b) => s + normal(b, pb.mean, pb.sd), v);
  v += normal(item.b, pb.mean, pb.sd);
  if (threePl) v += (pc.alpha - 1) * Math.log(item.c) + (pc.beta - 1) * Math.log(1 - item.c);
  return v;
}

/** The free parameters of an item as a vector (a, b or b_1..b_K, and c in 3PL), and back. */
const toVector = (item: AnyItemParams, threePl: boolean): number[] =>
  'model' in item ? [item.a, ...item.b] : threePl ? [item.a, item.b, item.c] : [item.a, item.b];
const fromVector = (item: AnyItemParams, v: readonly number[]): AnyItemParams =>
  'model' in item ? { model: item.model, a: at(v, 0), b: v.slice(1) } : { a: at(v, 0), b: at(v, 1), c: v[2] ?? item.c };

/** The items of a report as model parameters. */
const fitted = (report: CalibrationReport): AnyItemParams[] =>
  report.items.map((i) => (i.model !== undefined ? { model: i.model, a: i.a, b: i.thresholds ?? [] } : { a: i.a, b: i.b, c: i.c }));

/** The inverse of a small matrix by Gauss–Jordan elimination with partial pivoting. */
function inverse(m: readonly (readonly number[])[]): number[][] {
  const n = m.length;
  const w = m.map((row, i) => [...row, ...Array.from({ length: n }, (_, k) => (k === i ? 1 : 0))]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(at(at(w, r), col)) > Math.abs(at(at(w, pivot), col))) pivot = r;
    [w[col], w[pivot]] = [at(w, pivot), at(w, col)];
    const p = at(at(w, col), col);
    w[col] = at(w, col).map((v) => v / p);
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = at(at(w, r), col);
      w[r] = at(w, r).map((v, k) => v - f * at(at(w, col), k));
    }
  }
  return w.map((row) => row.slice(n));
}

/** The chi-square upper tail for an even df in closed form: e^(−x/2) Σ_{i<df/2} (x/2)^i / i!. */
function chiSquareEven(x: number, df: number): number {
  let term = 1;
  let sum = 1;
  for (let i = 1; i < df / 2; i++) {
    term *= x / 2 / i;
    sum += term;
  }
  return Math.exp(-x / 2) * sum;
}

/**
 * Checks a converged calibration against the reference: the estimated items sit at a maximum of
 * the marginal log posterior, the EAP θ of each person, the standard errors (cross-products of each
 * person's scores plus the priors' curvature), the first cycle's log-likelihood at the start values
 * and Yen's Q1 of each estimated item.
 */
function checkAgainstReference(
  report: CalibrationReport,
  rows: readonly ResponseRow[],
  start: readonly AnyItemParams[],
  opts: { D: number; threePl: boolean; priors?: Priors },
): void {
  const { D, threePl } = opts;
  const priors = opts.priors ?? DEFAULT_PRIORS;
  assert.ok(report.converged, `converged in ${report.cycles} cycles`);
  assert.equal(report.logLikelihood.length, report.cycles);
  const items = fitted(report);
  const tables = items.map((item) => logTable(item, D));
  const base = marginal(rows, tables);
  // The first cycle's E-step runs at the start values, the last at (nearly) the final ones.
  close(
    at(report.logLikelihood, 0),
    marginal(
      rows,
      start.map((item) => logTable(item, D)),
    ).total,
    1e-8,
    'log-likelihood at the start',
  );
  close(at(report.logLikelihood, report.cycles - 1), base.total, 1e-5, 'log-likelihood at the end');
  // EAP θ and posterior SD of each person under the final parameters.
  base.posts.forEach((post, i) => {
    const m = post.reduce((s, g, q) => s + g * at(NODES, q), 0);
    const m2 = post.reduce((s, g, q) => s + g * at(NODES, q) ** 2, 0);
    close(at(report.persons, i).theta, m, 1e-9, `θ of person ${i}`);
    close(at(report.persons, i).se, Math.sqrt(m2 - m * m), 1e-9, `SE of person ${i}`);
  });
  report.items.forEach((est, j) => {
    if (!est.estimated) return;
    const item = at(items, j);
    const v = toVector(item, threePl);
    const posterior = (w: readonly number[]): { total: number; persons: number[] } => {
      const moved = fromVector(item, w);
      const t = [...tables];
      t[j] = logTable(moved, D);
      const m = marginal(rows, t);
      return { persons: m.persons, total: m.total + logPrior(moved, threePl, priors) };
    };
    const h = 1e-5;
    const scores = rows.map(() => new Array<number>(v.length).fill(0));
    v.forEach((_, k) => {
      const up = posterior(v.map((x, l) => (l === k ? x + h : x)));
      const down = posterior(v.map((x, l) => (l === k ? x - h : x)));
      // A stationary point of the log posterior (the EM climbs to it, so a maximum).
      const gradient = (up.total - down.total) / (2 * h);
      assert.ok(Math.abs(gradient) < 2e-3, `item ${j} parameter ${k}: gradient ${gradient}`);
      rows.forEach((row, i) => {
        if (row.has(j)) at(scores, i)[k] = (at(up.persons, i) - at(down.persons, i)) / (2 * h);
      });
    });
    // XPD: Σ_i s_i s_iᵀ over the people who answered, plus the curvature of each prior term
    // (1 / (sd·a)² for a, 1/sd² for a threshold, (α − 1)/c² + (β − 1)/(1 − c)² for c).
    const info = v.map((_, k) => v.map((_, l) => scores.reduce((s, sc) => s + at(sc, k) * at(sc, l), 0)));
    v.forEach((x, k) => {
      const { logA, b: pb, c: pc } = priors;
      const curvature =
        k === 0
          ? 1 / (logA.sd * logA.sd * x * x)
          : threePl && k === 2
            ? (pc.alpha - 1) / (x * x) + (pc.beta - 1) / (1 - x) ** 2
            : 1 / (pb.sd * pb.sd);
      at(info, k)[k] = at(at(info, k), k) + curvature;
    });
    const cov = inverse(info);
    const se = (k: number): number => Math.sqrt(at(at(cov, k), k));
    close(est.se.a, se(0), 2e-4 * se(0), `SE(a) of item ${j}`);
    if (est.model === undefined) {
      close(est.se.b, se(1), 2e-4 * se(1), `SE(b) of item ${j}`);
      if (threePl) close(est.se.c ?? Number.NaN, se(2), 2e-4 * se(2), `SE(c) of item ${j}`);
      else assert.equal(est.se.c, undefined);
    } else {
      const K = v.length - 1;
      est.se.thresholds?.forEach((s, k) => close(s, se(k + 1), 2e-4 * se(k + 1), `SE(b${k + 1}) of item ${j}`));
      assert.equal(est.se.thresholds?.length, K);
      let location = 0;
      for (let k = 1; k <= K; k++) for (let l = 1; l <= K; l++) location += at(at(cov, k), l);
      close(est.se.b, Math.sqrt(location) / K, 2e-4 * est.se.b, `SE of the location of item ${j}`);
    }
    checkQ1(est, j, item, rows, report, D, threePl);
  });
}

/** Yen's Q1 of one item: ten groups of the people who answered it, by EAP θ; Σ_g Σ_k N_g (O − E)² / E over categories. */
function checkQ1(
  est: ItemCalibration,
  j: number,
  item: AnyItemParams,
  rows: readonly ResponseRow[],
  report: CalibrationReport,
  D: number,
  threePl: boolean,
): void {
  const people = rows.flatMap((row, i) => (row.has(j) ? [{ theta: at(report.persons, i).theta, u: row.get(j) ?? -1 }] : []));
  people.sort((x, y) => x.theta - y.theta);
  const C = 'model' in item ? item.b.length + 1 : 2;
  let q1 = 0;
  for (let g = 0; g < 10; g++) {
    const part = people.slice(Math.floor((g * people.length) / 10), Math.floor(((g + 1) * people.length) / 10));
    for (let k = 0; k < C; k++) {
      const observed = part.filter((p) => p.u === k).length / part.length;
      const expected = part.reduce((s, p) => s + at([...categoryProbabilities(item, p.theta, D)], k), 0) / part.length;
      q1 += (part.length * (observed - expected) ** 2) / expected;
    }
  }
  // For two categories Σ_k (O − E)²/E is (O − E)²/(E(1 − E)), Yen's form.
  const df = 'model' in item ? 10 * (C - 1) - C : 10 - (threePl ? 3 : 2);
  assert.ok(est.fit !== null, `fit of item ${j}`);
  close(est.fit.q1, q1, 1e-9 * q1, `Q1 of item ${j}`);
  assert.equal(est.fit.df, df);
  close(est.fit.p, df % 2 === 0 ? chiSquareEven(q1, df) : chiSquareP(q1, df), 1e-9, `Q1 p of item ${j}`);
}

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected} (tol ${tol})`);
}

/** People answering items drawn from the model; `asked(i, j)` says who was asked what. */
function simulate(items: readonly AnyItemParams[], people: number, seed: string, asked: (i: number, j: number) => boolean): ResponseRow[] {
  const r = createRng(seed);
  return Array.from({ length: people }, (_, i) => {
    const theta = r.normal();
    const row = new Map<number, number>();
    items.forEach((item, j) => {
      const u = r.next();
      if (!asked(i, j)) return;
      const P = [...categoryProbabilities(item, theta, 1)];
      let k = 0;
      let cumulative = at(P, 0);
      while (u > cumulative && k < P.length - 1) {
        k += 1;
        cumulative += at(P, k);
      }
      row.set(j, k);
    });
    return row;
  });
}

/** Start values from the share of right answers p (clamped to [0.05, 0.95]), corrected for guessing c: a = 1, b = −logit((p − c)/(1 − c))/D. */
function dichotomousStart(rows: readonly ResponseRow[], j: number, D: number, c: number): AnyItemParams {
  const answers = rows.flatMap((row) => (row.has(j) ? [row.get(j) ?? 0] : []));
  const clamp = (v: number): number => Math.min(0.95, Math.max(0.05, v));
  const p = clamp(answers.length === 0 ? 0.5 : answers.reduce((s, u) => s + u, 0) / answers.length);
  const adjusted = clamp((p - c) / (1 - c));
  return { a: 1, b: -Math.log(adjusted / (1 - adjusted)) / D, c };
}

/** How many people answered item j in each of its C categories. */
const categoryCounts = (rows: readonly ResponseRow[], j: number, C: number): number[] =>
  Array.from({ length: C }, (_, k) => rows.filter((row) => row.get(j) === k).length);

/** GRM start thresholds (a = 1): b_k = −logit(share of people in category k or above). */
const grmStart = (n: readonly number[]): number[] =>
  n.slice(1).map((_, k) => {
    const share = n.slice(k + 1).reduce((s, v) => s + v, 0) / n.reduce((s, v) => s + v, 0);
    return -Math.log(share / (1 - share));
  });

const TRUE_2PL: AnyItemParams[] = [
  { a: 1.4, b: -1, c: 0 },
  { a: 0.8, b: 0.3, c: 0 },
  { a: 1.9, b: 0.6, c: 0 },
  { a: 1.1, b: -0.2, c: 0 },
  { a: 1.2, b: 1.2, c: 0 },
  { a: 1, b: 0, c: 0 },
];
// Everyone answers the first five items, except every fifth pair; only people 0..19 answer the last.
const asked = (i: number, j: number): boolean => (j === 5 ? i < 20 : (i + j) % 5 !== 0);

describe('item calibration (Bock–Aitkin EM)', () => {
  it('2PL on 200 people with missing answers: the maximum of the marginal posterior, EAP θ, XPD standard errors and Q1 of the reference', () => {
    const rows = simulate(TRUE_2PL, 200, 'em-2pl', asked);
    const report = calibrate(rows, 6, { tolerance: 1e-6, maxCycles: 2000 });
    assert.equal(report.model, '2PL');
    const start = TRUE_2PL.map((_, j) => dichotomousStart(rows, j, 1, 0));
    checkAgainstReference(report, rows, start, { D: 1, threePl: false });
    report.items.forEach((est, j) => {
      const answers = rows.flatMap((row) => (row.has(j) ? [row.get(j) ?? 0] : []));
      assert.equal(est.n, answers.length);
      assert.equal(est.pValue, answers.reduce((s, u) => s + u, 0) / answers.length);
      assert.equal(est.c, 0);
      assert.equal(est.model, undefined);
    });
    // The item asked of 20 people is not estimated: its start values, no fit.
    const last = at(report.items, 5);
    assert.equal(last.estimated, false);
    assert.equal(last.fit, null);
    assert.equal(last.n, 20);
    assert.deepEqual({ a: last.a, b: last.b, c: last.c }, start[5]);
    assert.ok(report.items.slice(0, 5).every((i) => i.estimated));
  });

  it('3PL with D = 1.7: the same checks, with c under its Beta prior and an SE for c', () => {
    const items = TRUE_2PL.map((i) => ({ ...i, c: 0.2 }));
    const rows = simulate(items, 200, 'em-3pl', asked);
    const report = calibrate(rows, 6, { model: '3PL', D: 1.7, tolerance: 1e-6, maxCycles: 2000 });
    assert.equal(report.model, '3PL');
    const c0 = 5 / 22;
    const start = items.map((_, j) => dichotomousStart(rows, j, 1.7, c0));
    checkAgainstReference(report, rows, start, { D: 1.7, threePl: true });
    const last = at(report.items, 5);
    assert.equal(last.estimated, false);
    assert.deepEqual({ a: last.a, b: last.b, c: last.c }, start[5]);
  });

  it('2PL and 3PL under priors away from the defaults: the same checks against the same reference', () => {
    const priors: Priors = { logA: { mean: 0.3, sd: 0.4 }, b: { mean: 0.5, sd: 1 }, c: { alpha: 3, beta: 12 } };
    const rows = simulate(TRUE_2PL.slice(0, 4), 150, 'em-priors', () => true);
    const two = calibrate(rows, 4, { priors, tolerance: 1e-6, maxCycles: 2000 });
    checkAgainstReference(
      two,
      rows,
      [0, 1, 2, 3].map((j) => dichotomousStart(rows, j, 1, 0)),
      { D: 1, threePl: false, priors },
    );
    const three = calibrate(rows, 4, { model: '3PL', priors, tolerance: 1e-6, maxCycles: 2000 });
    checkAgainstReference(
      three,
      rows,
      [0, 1, 2, 3].map((j) => dichotomousStart(rows, j, 1, 0.2)),
      { D: 1, threePl: true, priors },
    );
    // A GRM item beside a 2PL one, with the same priors on a and on each threshold.
    const mixed: AnyItemParams[] = [{ model: 'GRM', a: 1.2, b: [-0.6, 0.7] }, at(TRUE_2PL, 0)];
    const poly = simulate(mixed, 150, 'em-priors-poly', () => true);
    const report = calibrate(poly, 2, { items: [{ model: 'GRM', categories: 3 }, null], priors, tolerance: 1e-6, maxCycles: 2000 });
    const start: AnyItemParams[] = [{ model: 'GRM', a: 1, b: grmStart(categoryCounts(poly, 0, 3)) }, dichotomousStart(poly, 1, 1, 0)];
    checkAgainstReference(report, poly, start, { D: 1, threePl: false, priors });
  });

  it('GRM and GPCM items beside a 2PL one: the same checks, with threshold SEs and the location SE', () => {
    const items: AnyItemParams[] = [
      { model: 'GRM', a: 1.3, b: [-1.1, 0.1, 1] },
      { model: 'GPCM', a: 0.9, b: [-0.4, 0.5] },
      { a: 1.2, b: 0.2, c: 0 },
      { model: 'GRM', a: 1, b: [-0.5, 0.5] },
    ];
    const rows = simulate(items, 200, 'em-poly', (i, j) => (j === 3 ? i < 25 : true));
    const spec: (PolySpec | null)[] = [
      { model: 'GRM', categories: 4 },
      { model: 'GPCM', categories: 3 },
      null,
      { model: 'GRM', categories: 3 },
    ];
    const report = calibrate(rows, 4, { items: spec, tolerance: 1e-6, maxCycles: 2000 });
    // Start values (a = 1): GRM b_k = −logit(share answering k or above), GPCM b_k = log((n_{k−1} + ½)/(n_k + ½)).
    const counts = (j: number, C: number): number[] => categoryCounts(rows, j, C);
    const gpcm = counts(1, 3);
    const start: AnyItemParams[] = [
      { model: 'GRM', a: 1, b: grmStart(counts(0, 4)) },
      {
        model: 'GPCM',
        a: 1,
        b: [Math.log((at(gpcm, 0) + 0.5) / (at(gpcm, 1) + 0.5)), Math.log((at(gpcm, 1) + 0.5) / (at(gpcm, 2) + 0.5))],
      },
      dichotomousStart(rows, 2, 1, 0),
      { model: 'GRM', a: 1, b: grmStart(counts(3, 3)) },
    ];
    checkAgainstReference(report, rows, start, { D: 1, threePl: false });
    const [grm, gp, dich, rare] = report.items;
    assert.ok(grm !== undefined && gp !== undefined && dich !== undefined && rare !== undefined);
    assert.equal(grm.model, 'GRM');
    assert.equal(gp.model, 'GPCM');
    assert.equal(dich.model, undefined);
    // A polytomous item's b is the mean of its thresholds, c is 0, pValue the mean category over K.
    for (const [est, C, j] of [
      [grm, 4, 0],
      [gp, 3, 1],
    ] as const) {
      close(est.b, (est.thresholds ?? []).reduce((s, v) => s + v, 0) / (C - 1), 1e-12, `location of item ${j}`);
      assert.equal(est.c, 0);
      const n = counts(j, C);
      assert.equal(est.n, 200);
      close(est.pValue, n.reduce((s, v, k) => s + k * v, 0) / (200 * (C - 1)), 1e-12, `pValue of item ${j}`);
    }
    // The GRM item answered by 25 people keeps its start values.
    assert.equal(rare.estimated, false);
    assert.equal(rare.fit, null);
    assert.equal(rare.n, 25);
    assert.equal(rare.a, 1);
    (rare.thresholds ?? []).forEach((b, k) => close(b, at(grmStart(counts(3, 3)), k), 1e-12, `start b${k + 1}`));
  });

  it('with no answers: nothing estimated, start values, SEs of the priors alone, one cycle', () => {
    const report = calibrate([], 2);
    assert.equal(report.cycles, 1);
    assert.equal(report.converged, true);
    assert.deepEqual(report.logLikelihood, [0]);
    assert.deepEqual(report.persons, []);
    for (const item of report.items) {
      assert.deepEqual(
        { a: item.a, c: item.c, n: item.n, pValue: item.pValue, fit: item.fit, estimated: item.estimated },
        { a: 1, c: 0, n: 0, pValue: 0, fit: null, estimated: false },
      );
      close(item.b, 0, 1e-12, 'b at p = ½');
      // With no data the information is the priors' curvature: SE(a) = 0.5·a, SE(b) = 3.
      close(item.se.a, 0.5, 1e-12, 'SE(a)');
      close(item.se.b, 3, 1e-12, 'SE(b)');
    }
    const three = calibrate([], 1, { model: '3PL', D: 1.7 });
    const c = 5 / 22;
    const item = at(three.items, 0);
    assert.equal(item.c, c);
    // p = ½ corrected for guessing: (½ − c)/(1 − c) = 6/17, so b = −logit(6/17)/1.7 = ln(11/6)/1.7.
    close(item.b, Math.log(11 / 6) / 1.7, 1e-12, 'b');
    close(item.se.c ?? Number.NaN, 1 / Math.sqrt(4 / (c * c) + 16 / (1 - c) ** 2), 1e-12, 'SE(c)');
    const poly = calibrate([], 2, {
      items: [
        { model: 'GRM', categories: 3 },
        { model: 'GPCM', categories: 3 },
      ],
    });
    // GRM starts evenly spread (shares 2/3 and 1/3 at or above each threshold), GPCM at 0.
    close(at(at(poly.items, 0).thresholds ?? [], 0), -Math.log(2), 1e-12, 'GRM b1');
    close(at(at(poly.items, 0).thresholds ?? [], 1), Math.log(2), 1e-12, 'GRM b2');
    (at(poly.items, 1).thresholds ?? []).forEach((b) => close(b, 0, 1e-12, 'GPCM start'));
    assert.equal(at(poly.items, 1).thresholds?.length, 2);
    assert.equal(at(poly.items, 1).pValue, 0);
    close(at(poly.items, 1).se.a, 0.5, 1e-12, 'SE(a) of GPCM');
    assert.deepEqual(
      at(poly.items, 1).se.thresholds?.map((s) => s.toFixed(12)),
      ['3.000000000000', '3.000000000000'],
    );
    close(at(poly.items, 1).se.b, Math.sqrt(2 * 9) / 2, 1e-12, 'SE of the location');
  });

  it('uses the priors it is given: start c at the Beta mean, prior SEs with no answers, partial priors filled with the defaults', () => {
    const priors = { logA: { mean: 0.5, sd: 0.3 }, b: { mean: 1, sd: 2 }, c: { alpha: 3, beta: 9 } };
    const item = at(calibrate([], 1, { model: '3PL', priors }).items, 0);
    // c starts at α/(α + β) = 1/4; p = ½ corrected for it is 1/3, so b = −logit(1/3) = ln 2.
    assert.equal(item.c, 0.25);
    close(item.b, Math.log(2), 1e-12, 'b');
    assert.equal(item.a, 1);
    // SE(a) = sd·a, SE(b) = sd, SE(c) = ((α − 1)/c² + (β − 1)/(1 − c)²)^(−½).
    close(item.se.a, 0.3, 1e-12, 'SE(a)');
    close(item.se.b, 2, 1e-12, 'SE(b)');
    close(item.se.c ?? Number.NaN, 1 / Math.sqrt(2 / 0.0625 + 8 / 0.5625), 1e-12, 'SE(c)');
    const partial = at(calibrate([], 1, { model: '3PL', priors: {} }).items, 0);
    const defaults = at(calibrate([], 1, { model: '3PL' }).items, 0);
    assert.deepEqual(partial, defaults);
    close(defaults.se.a, 0.5, 1e-12, 'default SE(a)');
    // The prior moves the estimates: on the same answers, a prior on b at 1 with sd 0.2 pulls b towards 1.
    const rows = simulate(TRUE_2PL.slice(0, 2), 150, 'em-prior', () => true);
    const loose = calibrate(rows, 2);
    const tight = calibrate(rows, 2, { priors: { b: { mean: 1, sd: 0.2 } } });
    for (let j = 0; j < 2; j++) {
      const before = at(loose.items, j).b;
      const after = at(tight.items, j).b;
      assert.ok(Math.abs(after - 1) < Math.abs(before - 1), `item ${j}: b ${before} → ${after}`);
    }
  });

  it('checks its options: bounds of D, nodes, range, cycles, tolerance, minResponses and item specs', () => {
    const ok = [
      { model: '2PL' as const },
      { model: '3PL' as const },
      { D: 2 },
      { nodes: 11 },
      { nodes: 161 },
      { range: 3 },
      { range: 8 },
      { maxCycles: 2000 },
      { tolerance: 0.1 },
      { minResponses: 1 },
      { items: [{ model: 'GRM', categories: 11 } as const] },
      { items: [{ model: 'GPCM', categories: 2 } as const] },
    ];
    for (const options of ok) assert.doesNotThrow(() => calibrate([], 1, options), JSON.stringify(options));
    const bad: object[] = [
      { D: 0 },
      { D: 2.01 },
      { nodes: 10 },
      { nodes: 162 },
      { nodes: 41.5 },
      { range: 2.9 },
      { range: 8.1 },
      { maxCycles: 2001 },
      { maxCycles: 1.5 },
      { tolerance: 0 },
      { tolerance: 0.11 },
      { minResponses: 0 },
      { model: '1PL' },
      { items: [{ model: 'GRM', categories: 1 }] },
      { items: [{ model: 'GRM', categories: 12 }] },
      { items: [{ model: 'PCM', categories: 3 }] },
      { priors: { logA: { mean: 0, sd: 0 } } },
      { priors: { b: { mean: 0, sd: -1 } } },
      { priors: { c: { alpha: 0.5, beta: 2 } } },
      { priors: { c: { alpha: 2, beta: 0.5 } } },
      { extra: 1 },
    ];
    for (const options of bad) assert.throws(() => calibrate([], 1, options), RangeError, JSON.stringify(options));
    assert.throws(() => calibrate([], 1, { nodes: 10 }), /^RangeError: calibrate: nodes: /);
    // The number of nodes and their range change the quadrature, so the estimates.
    const rows = simulate(TRUE_2PL.slice(0, 3), 150, 'em-nodes', () => true);
    const b = (options: object): number => at(calibrate(rows, 3, { ...options, maxCycles: 5 }).items, 0).b;
    assert.notEqual(b({ nodes: 11 }), b({}));
    assert.notEqual(b({ range: 3 }), b({}));
    assert.notEqual(b({ D: 1.7 }), b({}));
  });

  it('keeps the parameters in range under flat priors: a at most 8, b within ±8, c in [0.0001, 0.6]', () => {
    const flat = { logA: { mean: 0, sd: 1e6 }, b: { mean: 0, sd: 1e6 }, c: { alpha: 1, beta: 1 } };
    const r = createRng('em-bounds');
    const rows: ResponseRow[] = Array.from({ length: 120 }, () => {
      const theta = r.normal();
      const u = theta > 0 ? 1 : 0;
      // Items 0 and 1 are the same answer (a → ∞), item 2 is always right (b → −∞ in 2PL, c up
      // in 3PL), item 3 right at random nine times in ten whatever θ, item 4 a plain 2PL item.
      return new Map([
        [0, u],
        [1, u],
        [2, 1],
        [3, r.next() < 0.9 ? 1 : 0],
        [4, r.next() < 1 / (1 + Math.exp(-theta)) ? 1 : 0],
      ]);
    });
    const two = calibrate(rows, 5, { priors: flat, maxCycles: 30 });
    assert.equal(at(two.items, 0).a, 8);
    assert.equal(at(two.items, 1).a, 8);
    assert.equal(at(two.items, 2).b, -8);
    const three = calibrate(rows, 5, { model: '3PL', priors: flat, maxCycles: 30 });
    assert.equal(at(three.items, 2).c, 0.6);
    for (const item of [...two.items, ...three.items])
      assert.ok(item.a >= 0.02 && item.a <= 8 && Math.abs(item.b) <= 8, JSON.stringify(item));
    assert.ok(three.items.every((i) => i.c >= 1e-4 && i.c <= 0.6));
  });

  it('fits Q1 from 100 people who answered an item, and clamps start values to ±4 on the θ scale', () => {
    // 100 answers: Q1 with df 8; 99: estimated, but too few for ten groups of ten.
    const rows = simulate(TRUE_2PL.slice(0, 2), 100, 'em-q1', (i, j) => j === 0 || i < 99);
    const report = calibrate(rows, 2, { maxCycles: 3 });
    assert.equal(at(report.items, 0).fit?.df, 8);
    assert.equal(at(report.items, 1).estimated, true);
    assert.equal(at(report.items, 1).fit, null);
    // Right nine times in ten at most (p clamped to 0.95): b = −logit(0.95)/D, beyond −4 when D = 0.5.
    const right = Array.from({ length: 10 }, () => new Map([[0, 1]]));
    const start = (D: number): number => at(calibrate(right, 1, { D, minResponses: 11 }).items, 0).b;
    close(start(1), -Math.log(19), 1e-12, 'b with D = 1');
    assert.equal(start(0.5), -4);
    const wrong = Array.from({ length: 10 }, () => new Map([[0, 0]]));
    assert.equal(at(calibrate(wrong, 1, { D: 0.5, minResponses: 11 }).items, 0).b, 4);
  });

  it('estimates an item answered by exactly minResponses people, not one answered by one fewer', () => {
    const rows = simulate(TRUE_2PL.slice(0, 3), 40, 'em-min', (i, j) => j === 0 || (j === 1 ? i < 30 : i < 29));
    const report = calibrate(rows, 3, { maxCycles: 2 });
    assert.deepEqual(
      report.items.map((i) => [i.n, i.estimated]),
      [
        [40, true],
        [30, true],
        [29, false],
      ],
    );
  });

  it('polytomous items alone: the EM runs until they stop moving', () => {
    const items: AnyItemParams[] = [
      { model: 'GRM', a: 1.4, b: [-0.8, 0.6] },
      { model: 'GPCM', a: 1, b: [-0.3, 0.4] },
      { model: 'GRM', a: 0.9, b: [-1, 0, 1] },
    ];
    const rows = simulate(items, 150, 'em-poly-only', () => true);
    const spec: PolySpec[] = [
      { model: 'GRM', categories: 3 },
      { model: 'GPCM', categories: 3 },
      { model: 'GRM', categories: 4 },
    ];
    const report = calibrate(rows, 3, { items: spec, tolerance: 1e-6, maxCycles: 2000 });
    assert.ok(report.cycles > 5, `${report.cycles} cycles`);
    const gpcm = categoryCounts(rows, 1, 3);
    const start: AnyItemParams[] = [
      { model: 'GRM', a: 1, b: grmStart(categoryCounts(rows, 0, 3)) },
      { model: 'GPCM', a: 1, b: [0, 1].map((k) => Math.log((at(gpcm, k) + 0.5) / (at(gpcm, k + 1) + 0.5))) },
      { model: 'GRM', a: 1, b: grmStart(categoryCounts(rows, 2, 4)) },
    ];
    checkAgainstReference(report, rows, start, { D: 1, threePl: false });
  });

  it('stops after maxCycles, not converged, with one log-likelihood per cycle', () => {
    const rows = simulate(TRUE_2PL, 120, 'em-short', () => true);
    const report = calibrate(rows, 6, { maxCycles: 3 });
    assert.equal(report.cycles, 3);
    assert.equal(report.converged, false);
    assert.equal(report.logLikelihood.length, 3);
    const full = calibrate(rows, 6, { tolerance: 0.1 });
    assert.ok(full.converged && full.cycles < 500);
    // The last cycle moved no parameter by 0.1 or more, and a tighter tolerance takes more cycles.
    assert.ok(calibrate(rows, 6, { tolerance: 1e-3 }).cycles > full.cycles);
  });

  it('refuses bad input with RangeError', () => {
    assert.throws(() => calibrate([new Map([[3, 1]])], 2), /^RangeError: calibrate: bad response 3=1$/);
    assert.throws(() => calibrate([new Map([[2, 1]])], 2), /^RangeError: calibrate: bad response 2=1$/);
    assert.throws(() => calibrate([new Map([[-1, 1]])], 2), RangeError);
    assert.throws(() => calibrate([new Map([[0.5, 1]])], 2), RangeError);
    assert.throws(() => calibrate([new Map([[0, 2 as 1]])], 2), RangeError);
    assert.throws(() => calibrate([new Map([[0, -1]])], 2), RangeError);
    assert.throws(() => calibrate([new Map([[0, 0.5]])], 2), RangeError);
    assert.throws(() => calibrate([], 0), RangeError);
    assert.throws(() => calibrate([], 1.5), /^RangeError: calibrate: itemCount must be a positive integer, got 1.5$/);
    assert.throws(() => calibrate([], 2, { nodes: 3 }), RangeError);
    assert.throws(() => calibrate([], 2, { items: [null] }), /items has 1 entries for 2 items/);
    assert.throws(() => calibrate([], 2, { maxCycles: 0 }), /calibrate: maxCycles/);
    // Every issue, each with its full path.
    assert.throws(
      () => calibrate([], 2, { nodes: 3, priors: { logA: { mean: 0, sd: 0 } } }),
      /^RangeError: calibrate: nodes: [^;]+; priors\.logA\.sd: /,
    );
    assert.doesNotThrow(() => calibrate([new Map([[1, 1]])], 2));
  });

  it('chi-square tail probabilities match closed forms and tables', () => {
    // Even df: the closed form, on both sides of x = df/2 + 1 (series and continued fraction).
    for (const df of [2, 4, 8, 26])
      for (const x of [0.3, 1, 2.5, 5, 9, 14, 20, 31, 45, 70]) close(chiSquareP(x, df), chiSquareEven(x, df), 1e-12, `χ²(${df}) at ${x}`);
    // Odd df: tabulated quantiles.
    const table: [number, number, number][] = [
      [0.45494, 1, 0.5],
      [3.84146, 1, 0.05],
      [6.6349, 1, 0.01],
      [10.8276, 1, 0.001],
      [2.36597, 3, 0.5],
      [7.81473, 3, 0.05],
      [27.5871, 17, 0.05],
      [16.3382, 17, 0.5],
    ];
    for (const [x, df, p] of table) close(chiSquareP(x, df), p, 2e-5, `χ²(${df}) at ${x}`);
    // Below one degree of freedom (Γ by reflection): Q(¼, x) = ∫_x^∞ t^(−¾) e^(−t) dt / Γ(¼), by Simpson's rule in t = x + v².
    const gammaQuarter = 3.625609908221908;
    for (const x of [0.2, 1.5]) {
      const n = 20000;
      const top = 8;
      const f = (v: number): number => 2 * v * (x + v * v) ** -0.75 * Math.exp(-(x + v * v));
      let integral = f(0) + f(top);
      for (let i = 1; i < n; i++) integral += (i % 2 === 0 ? 2 : 4) * f((top * i) / n);
      integral *= top / n / 3;
      close(chiSquareP(2 * x, 0.5), integral / gammaQuarter, 1e-9, `χ²(0.5) at ${2 * x}`);
    }
    // Far in the tail (where a series for 1 − P would cancel to nothing): χ²(2) at 1000 is e^(−500).
    close(chiSquareP(1000, 2) / Math.exp(-500), 1, 1e-9, 'χ²(2) at 1000 over e^(−500)');
    close(chiSquareP(400, 8) / chiSquareEven(400, 8), 1, 1e-9, 'χ²(8) at 400');
    assert.equal(chiSquareP(0, 3), 1);
    assert.equal(chiSquareP(-1, 3), 1);
  });
});
