/**
 * Item calibration by marginal maximum likelihood with the EM algorithm of Bock & Aitkin
 * (1981): θ integrated over fixed quadrature nodes of N(0, 1), expected counts per node in the
 * E-step, one Fisher-scoring fit per item in the M-step. 2PL or 3PL (with a Beta prior on c, as
 * BILOG-MG does), weak priors on a and b that keep sparse adaptive data in range, standard errors
 * from the cross-products of each person's scores (XPD), and Yen's Q1 item fit on EAP groups.
 *
 * Responses may be missing (an adaptive test asks each person a few items of the bank): a person
 * contributes to an item's counts only when the item was asked.
 */
import { z } from 'zod';
import { polyDerivatives, polyMStep, polyQ1, polyStandardErrors, polyStart, solve } from './calibrate-poly.ts';
import type { PolyParams, PolySpec } from './calibrate-poly.ts';
import { DEFAULT_D } from './irt.ts';

export type { PolySpec } from './calibrate-poly.ts';

/**
 * One person's answers: item index → 0 or 1, or the category 0..K of a polytomous item (items
 * not asked are absent).
 */
export type ResponseRow = ReadonlyMap<number, number>;

/** Options of {@link calibrate}. */
export const calibrationOptionsSchema = z.strictObject({
  model: z.enum(['2PL', '3PL']).default('2PL'),
  D: z.number().positive().max(2).default(DEFAULT_D),
  /** Quadrature nodes over [−range, range]. */
  nodes: z.int().min(11).max(161).default(41),
  range: z.number().min(3).max(8).default(5),
  maxCycles: z.int().min(1).max(2000).default(500),
  /** EM stops when no parameter moves more than this in a cycle. */
  tolerance: z.number().positive().max(0.1).default(1e-4),
  /** Priors (MAP in the M-step): log a ~ N(mean, sd), b ~ N(mean, sd), c ~ Beta(alpha, beta). */
  priors: z
    .strictObject({
      logA: z.strictObject({ mean: z.number(), sd: z.number().positive() }).default({ mean: 0, sd: 0.5 }),
      b: z.strictObject({ mean: z.number(), sd: z.number().positive() }).default({ mean: 0, sd: 3 }),
      c: z.strictObject({ alpha: z.number().min(1), beta: z.number().min(1) }).default({ alpha: 5, beta: 17 }),
    })
    .default({ logA: { mean: 0, sd: 0.5 }, b: { mean: 0, sd: 3 }, c: { alpha: 5, beta: 17 } }),
  /** Items answered by fewer people are not estimated (reported with `estimated: false`). */
  minResponses: z.int().min(1).default(30),
  /**
   * Per item (as many entries as items): null for a dichotomous item (fitted with `model`), or a
   * GRM or GPCM item with its number of categories. Absent: every item is dichotomous.
   */
  items: z.array(z.strictObject({ model: z.enum(['GRM', 'GPCM']), categories: z.int().min(2).max(11) }).nullable()).optional(),
});
export type CalibrationOptions = z.input<typeof calibrationOptionsSchema>;

/**
 * One item's estimates. For a polytomous item: `model` and `thresholds` (b_1..b_K, with their
 * SEs in `se.thresholds`), `b` their mean (the item's location, SE in `se.b`), `c` 0, and `pValue`
 * the mean category over K.
 */
export interface ItemCalibration {
  a: number;
  b: number;
  c: number;
  se: { a: number; b: number; c?: number; thresholds?: number[] };
  model?: PolySpec['model'];
  thresholds?: number[];
  /** People who answered the item, and the share of them right (mean category / K for a polytomous item). */
  n: number;
  pValue: number;
  /** Yen's Q1 on ten EAP groups, its degrees of freedom and its p-value (null with too few people). */
  fit: { q1: number; df: number; p: number } | null;
  /** False when the item had fewer than `minResponses` answers (parameters are then the start values). */
  estimated: boolean;
}

/** Result of {@link calibrate}. */
export interface CalibrationReport {
  model: '2PL' | '3PL';
  items: ItemCalibration[];
  cycles: number;
  converged: boolean;
  /** Marginal log-likelihood after each cycle (it does not decrease, up to the priors). */
  logLikelihood: number[];
  /** EAP θ and its SE per person, from the final parameters. */
  persons: { theta: number; se: number }[];
}

type Params = { a: number; b: number; c: number };

const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const clampP = (p: number): number => Math.min(1 - 1e-10, Math.max(1e-10, p));

/** P, and its derivatives with respect to a, b and c, at θ. */
function derivatives(p: Params, theta: number, D: number): { P: number; da: number; db: number; dc: number } {
  const s = sigmoid(D * p.a * (theta - p.b));
  const core = (1 - p.c) * s * (1 - s);
  return { P: clampP(p.c + (1 - p.c) * s), da: core * D * (theta - p.b), db: -core * D * p.a, dc: 1 - s };
}

/** Quadrature nodes and normalised N(0, 1) weights. */
function quadrature(count: number, range: number): { x: number[]; w: number[] } {
  const x = Array.from({ length: count }, (_, q) => -range + (2 * range * q) / (count - 1));
  const raw = x.map((t) => Math.exp(-0.5 * t * t));
  const total = raw.reduce((s, v) => s + v, 0);
  return { x, w: raw.map((v) => v / total) };
}

/** An item being calibrated: dichotomous (2PL/3PL) or polytomous (GRM/GPCM). */
type ItemState = { kind: 'dich'; p: Params } | { kind: 'poly'; spec: PolySpec; p: PolyParams };

const categoriesOf = (s: ItemState): number => (s.kind === 'dich' ? 2 : s.spec.categories);

/** log P(X = k) at each node: entry q·C + k for C categories. */
function logTable(state: ItemState, x: readonly number[], D: number): Float64Array {
  const C = categoriesOf(state);
  const out = new Float64Array(x.length * C);
  x.forEach((t, q) => {
    if (state.kind === 'dich') {
      const P = derivatives(state.p, t, D).P;
      out[q * C] = Math.log(1 - P);
      out[q * C + 1] = Math.log(P);
    } else {
      const { P } = polyDerivatives(state.spec.model, state.p, t, D);
      for (let k = 0; k < C; k++) out[q * C + k] = Math.log(P[k] as number);
    }
  });
  return out;
}

/** Posterior weights of each person over the nodes, and the marginal log-likelihood. */
function posterior(rows: readonly ResponseRow[], states: readonly ItemState[], x: number[], w: number[], D: number) {
  const Q = x.length;
  const post: Float64Array[] = [];
  let logLik = 0;
  // log P per item, node and category, once per cycle.
  const tables = states.map((s) => logTable(s, x, D));
  const C = states.map(categoriesOf);
  for (const row of rows) {
    const logL = new Float64Array(Q);
    for (const [j, u] of row) {
      const t = tables[j] as Float64Array;
      const cj = C[j] as number;
      for (let q = 0; q < Q; q++) logL[q] = (logL[q] as number) + (t[q * cj + u] as number);
    }
    let max = -Infinity;
    for (let q = 0; q < Q; q++) max = Math.max(max, logL[q] as number);
    let total = 0;
    const g = new Float64Array(Q);
    for (let q = 0; q < Q; q++) {
      const v = (w[q] as number) * Math.exp((logL[q] as number) - max);
      g[q] = v;
      total += v;
    }
    for (let q = 0; q < Q; q++) g[q] = (g[q] as number) / total;
    logLik += max + Math.log(total);
    post.push(g);
  }
  return { post, logLik };
}

/** Log prior and its gradient/curvature terms for one item, in the order a, b, c. */
function priorTerms(p: Params, o: z.output<typeof calibrationOptionsSchema>, free: number) {
  const { logA, b, c } = o.priors;
  const la = Math.log(p.a);
  // A normal prior on log a (mode a = e^mean), as BILOG-MG's: d/da of −(log a − m)²/(2s²).
  const ga = -(la - logA.mean) / (logA.sd * logA.sd * p.a);
  const gb = -(p.b - b.mean) / (b.sd * b.sd);
  const grad = [ga, gb];
  const curv = [1 / (logA.sd * logA.sd * p.a * p.a), 1 / (b.sd * b.sd)];
  let value = -((la - logA.mean) ** 2) / (2 * logA.sd * logA.sd) - (p.b - b.mean) ** 2 / (2 * b.sd * b.sd);
  if (free === 3) {
    grad.push((c.alpha - 1) / p.c - (c.beta - 1) / (1 - p.c));
    curv.push((c.alpha - 1) / (p.c * p.c) + (c.beta - 1) / ((1 - p.c) * (1 - p.c)));
    value += (c.alpha - 1) * Math.log(p.c) + (c.beta - 1) * Math.log(1 - p.c);
  }
  return { grad, curv, value };
}

/** The expected complete-data log posterior of one item over the nodes. */
function itemObjective(p: Params, n: Float64Array, r: Float64Array, x: number[], D: number, o: Options, free: number) {
  let v = priorTerms(p, o, free).value;
  for (let q = 0; q < x.length; q++) {
    const P = derivatives(p, x[q] as number, D).P;
    v += (r[q] as number) * Math.log(P) + ((n[q] as number) - (r[q] as number)) * Math.log(1 - P);
  }
  return v;
}

/** A few Fisher-scoring steps for one item on its expected counts, with step halving. */
function mStep(start: Params, n: Float64Array, r: Float64Array, x: number[], D: number, o: Options): Params {
  const free = o.model === '3PL' ? 3 : 2;
  let p = start;
  for (let it = 0; it < 10; it++) {
    const grad = new Array<number>(free).fill(0);
    const info = Array.from({ length: free }, () => new Array<number>(free).fill(0));
    for (let q = 0; q < x.length; q++) {
      const d = derivatives(p, x[q] as number, D);
      const dv = [d.da, d.db, d.dc].slice(0, free);
      const resid = ((r[q] as number) - (n[q] as number) * d.P) / (d.P * (1 - d.P));
      const weight = (n[q] as number) / (d.P * (1 - d.P));
      for (let i = 0; i < free; i++) {
        grad[i] = (grad[i] as number) + resid * (dv[i] as number);
        for (let k = 0; k < free; k++)
          (info[i] as number[])[k] = ((info[i] as number[])[k] as number) + weight * (dv[i] as number) * (dv[k] as number);
      }
    }
    const prior = priorTerms(p, o, free);
    for (let i = 0; i < free; i++) {
      grad[i] = (grad[i] as number) + (prior.grad[i] as number);
      (info[i] as number[])[i] = ((info[i] as number[])[i] as number) + (prior.curv[i] as number) + 1e-9;
    }
    const step = solve(info, grad);
    const before = itemObjective(p, n, r, x, D, o, free);
    let scale = 1;
    let next = p;
    for (let h = 0; h < 20; h++, scale /= 2) {
      const cand = {
        a: Math.min(8, Math.max(0.02, p.a + scale * (step[0] as number))),
        b: Math.min(8, Math.max(-8, p.b + scale * (step[1] as number))),
        c: free === 3 ? Math.min(0.6, Math.max(1e-4, p.c + scale * (step[2] as number))) : p.c,
      };
      if (itemObjective(cand, n, r, x, D, o, free) >= before - 1e-12) {
        next = cand;
        break;
      }
    }
    const moved = Math.max(Math.abs(next.a - p.a), Math.abs(next.b - p.b), Math.abs(next.c - p.c));
    p = next;
    if (moved < 1e-7) break;
  }
  return p;
}

/** Regularised upper incomplete gamma Q(s, x), for the chi-square p-value. */
function gammaQ(s: number, x: number): number {
  if (x <= 0) return 1;
  const lg = logGamma(s);
  if (x < s + 1) {
    let sum = 1 / s;
    let term = sum;
    for (let k = 1; k < 500; k++) {
      term *= x / (s + k);
      sum += term;
      if (term < sum * 1e-15) break;
    }
    return 1 - sum * Math.exp(-x + s * Math.log(x) - lg);
  }
  // Continued fraction (Lentz).
  let b = x + 1 - s;
  let c = 1e300;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 500; i++) {
    const an = -i * (i - s);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (Math.abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return Math.exp(-x + s * Math.log(x) - lg) * h;
}

function logGamma(z: number): number {
  const g = [
    676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
    9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - logGamma(1 - z);
  let x = 0.99999999999980993;
  for (let i = 0; i < g.length; i++) x += (g[i] as number) / (z - 1 + i + 1);
  const t = z - 1 + g.length - 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (z - 0.5) * Math.log(t) - t + Math.log(x);
}

/** Chi-square upper tail probability. */
export function chiSquareP(x: number, df: number): number {
  return gammaQ(df / 2, x / 2);
}

/** Yen's Q1: people who answered the item in ten groups by EAP θ, observed against expected proportions. */
function yenQ1(j: number, p: Params, rows: readonly ResponseRow[], thetas: readonly number[], D: number, free: number) {
  const people: { theta: number; u: number }[] = [];
  rows.forEach((row, i) => {
    const u = row.get(j);
    if (u !== undefined) people.push({ theta: thetas[i] as number, u });
  });
  const groups = 10;
  if (people.length < groups * 10) return null;
  people.sort((x, y) => x.theta - y.theta);
  let q1 = 0;
  for (let g = 0; g < groups; g++) {
    const part = people.slice(Math.floor((g * people.length) / groups), Math.floor(((g + 1) * people.length) / groups));
    const observed = part.reduce((s, v) => s + v.u, 0) / part.length;
    const expected = part.reduce((s, v) => s + derivatives(p, v.theta, D).P, 0) / part.length;
    q1 += (part.length * (observed - expected) ** 2) / (expected * (1 - expected));
  }
  const df = groups - free;
  return { q1, df, p: chiSquareP(q1, df) };
}

type Options = z.output<typeof calibrationOptionsSchema>;

/** The options parsed, and every response checked against its item (0/1, or a category 0..K). */
function checkedOptions(rows: readonly ResponseRow[], itemCount: number, options: CalibrationOptions): Options {
  const parsed = calibrationOptionsSchema.safeParse(options);
  if (!parsed.success) throw new RangeError(`calibrate: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const o = parsed.data;
  if (!Number.isInteger(itemCount) || itemCount < 1)
    throw new RangeError(`calibrate: itemCount must be a positive integer, got ${itemCount}`);
  if (o.items !== undefined && o.items.length !== itemCount)
    throw new RangeError(`calibrate: items has ${o.items.length} entries for ${itemCount} items`);
  for (const row of rows) {
    for (const [j, u] of row) {
      const categories = o.items?.[j]?.categories ?? 2;
      if (!Number.isInteger(j) || j < 0 || j >= itemCount || !Number.isInteger(u) || u < 0 || u >= categories)
        throw new RangeError(`calibrate: bad response ${j}=${String(u)}`);
    }
  }
  return o;
}

/** Start values: a = 1, b from the proportion correct, c = the prior's mean (3PL) or 0; see polyStart for GRM/GPCM. */
function startStates(freq: readonly number[][], o: Options): ItemState[] {
  const c0 = o.model === '3PL' ? o.priors.c.alpha / (o.priors.c.alpha + o.priors.c.beta) : 0;
  return freq.map((f, j) => {
    const spec = o.items?.[j];
    if (spec !== undefined && spec !== null) return { kind: 'poly', spec, p: polyStart(spec, f, o.D) };
    const n = (f[0] as number) + (f[1] as number);
    const pv = Math.min(0.95, Math.max(0.05, n === 0 ? 0.5 : (f[1] as number) / n));
    const adj = Math.min(0.95, Math.max(0.05, (pv - c0) / (1 - c0)));
    return { kind: 'dich', p: { a: 1, b: Math.max(-4, Math.min(4, -Math.log(adj / (1 - adj)) / o.D)), c: c0 } };
  });
}

/** One M-step: each estimated item refitted on its expected counts; returns the items and the largest move. */
function refit(states: readonly ItemState[], counts: readonly Float64Array[], estimated: readonly boolean[], x: number[], o: Options) {
  let moved = 0;
  const next = states.map((s, j): ItemState => {
    if (!estimated[j]) return s;
    const cj = counts[j] as Float64Array;
    if (s.kind === 'poly') {
      const p = polyMStep(s.spec, s.p, cj, x, o.D, o.priors);
      moved = Math.max(moved, Math.abs(p.a - s.p.a), ...p.b.map((b, k) => Math.abs(b - (s.p.b[k] as number))));
      return { ...s, p };
    }
    const n = new Float64Array(x.length);
    const r = new Float64Array(x.length);
    for (let q = 0; q < x.length; q++) {
      r[q] = cj[2 * q + 1] as number;
      n[q] = (cj[2 * q] as number) + (r[q] as number);
    }
    const p = mStep(s.p, n, r, x, o.D, o);
    moved = Math.max(moved, Math.abs(p.a - s.p.a), Math.abs(p.b - s.p.b), Math.abs(p.c - s.p.c));
    return { kind: 'dich', p };
  });
  return { states: next, moved };
}

/**
 * Calibrates `itemCount` items from the response rows: dichotomous ones with `model` (2PL or
 * 3PL), and GRM or GPCM ones where `items` says so. Throws RangeError on bad input.
 */
export function calibrate(rows: readonly ResponseRow[], itemCount: number, options: CalibrationOptions = {}): CalibrationReport {
  const o = checkedOptions(rows, itemCount, options);
  const { x, w } = quadrature(o.nodes, o.range);
  const freq = Array.from({ length: itemCount }, (_, j) => new Array<number>(o.items?.[j]?.categories ?? 2).fill(0));
  for (const row of rows) for (const [j, u] of row) (freq[j] as number[])[u] = ((freq[j] as number[])[u] as number) + 1;
  const answered = freq.map((f) => f.reduce((s, v) => s + v, 0));
  const estimated = answered.map((n) => n >= o.minResponses);
  let states = startStates(freq, o);
  const logLikelihood: number[] = [];
  let converged = false;
  let cycles = 0;
  for (; cycles < o.maxCycles;) {
    cycles += 1;
    const { post, logLik } = posterior(rows, states, x, w, o.D);
    logLikelihood.push(logLik);
    const counts = states.map((s) => new Float64Array(x.length * categoriesOf(s)));
    const C = states.map(categoriesOf);
    rows.forEach((row, i) => {
      const g = post[i] as Float64Array;
      for (const [j, u] of row) {
        const cj = counts[j] as Float64Array;
        const width = C[j] as number;
        for (let q = 0; q < x.length; q++) cj[q * width + u] = (cj[q * width + u] as number) + (g[q] as number);
      }
    });
    const step = refit(states, counts, estimated, x, o);
    states = step.states;
    if (step.moved < o.tolerance) {
      converged = true;
      break;
    }
  }
  const { post } = posterior(rows, states, x, w, o.D);
  const persons = post.map((g) => {
    let m = 0;
    let m2 = 0;
    for (let q = 0; q < x.length; q++) {
      m += (g[q] as number) * (x[q] as number);
      m2 += (g[q] as number) * (x[q] as number) ** 2;
    }
    return { theta: m, se: Math.sqrt(Math.max(0, m2 - m * m)) };
  });
  const thetas = persons.map((p) => p.theta);
  const free = o.model === '3PL' ? 3 : 2;
  const items = states.map((s, j) => {
    const f = freq[j] as number[];
    const n = answered[j] as number;
    if (s.kind === 'poly') return polyReport(j, s.spec, s.p, rows, post, x, o, thetas, f, estimated[j] === true);
    return itemReport(j, s.p, rows, post, x, o, free, thetas, { n, right: f[1] as number }, estimated[j] === true);
  });
  return { model: o.model, items, cycles, converged, logLikelihood, persons };
}

/** A polytomous item's report: its thresholds and their mean, standard errors and fit. */
function polyReport(
  j: number,
  spec: PolySpec,
  p: PolyParams,
  rows: readonly ResponseRow[],
  post: readonly Float64Array[],
  x: number[],
  o: Options,
  thetas: readonly number[],
  freq: readonly number[],
  estimated: boolean,
): ItemCalibration {
  const answers: { category: number; post: Float64Array }[] = [];
  const people: { theta: number; category: number }[] = [];
  rows.forEach((row, i) => {
    const u = row.get(j);
    if (u === undefined) return;
    answers.push({ category: u, post: post[i] as Float64Array });
    people.push({ theta: thetas[i] as number, category: u });
  });
  const se = polyStandardErrors(spec, p, answers, x, o.D, o.priors);
  const n = answers.length;
  const K = spec.categories - 1;
  const sum = freq.reduce((s, v, k) => s + k * v, 0);
  return {
    a: p.a,
    b: p.b.reduce((s, v) => s + v, 0) / K,
    c: 0,
    se: { a: se.a, b: se.location, thresholds: se.b },
    model: spec.model,
    thresholds: [...p.b],
    n,
    pValue: n === 0 ? 0 : sum / (n * K),
    fit: estimated ? polyQ1(spec, p, people, o.D, chiSquareP) : null,
    estimated,
  };
}

/** One item's report: standard errors from the cross-products of the people's scores (plus the prior's curvature), and its fit. */
function itemReport(
  j: number,
  p: Params,
  rows: readonly ResponseRow[],
  post: readonly Float64Array[],
  x: number[],
  o: Options,
  free: number,
  thetas: readonly number[],
  count: { n: number; right: number },
  estimated: boolean,
): ItemCalibration {
  const info = Array.from({ length: free }, () => new Array<number>(free).fill(0));
  const nodes = x.map((t) => derivatives(p, t, o.D));
  rows.forEach((row, i) => {
    const u = row.get(j);
    if (u === undefined) return;
    const g = post[i] as Float64Array;
    const s = new Array<number>(free).fill(0);
    for (let q = 0; q < x.length; q++) {
      const d = nodes[q] as ReturnType<typeof derivatives>;
      const f = ((g[q] as number) * (u - d.P)) / (d.P * (1 - d.P));
      s[0] = (s[0] as number) + f * d.da;
      s[1] = (s[1] as number) + f * d.db;
      if (free === 3) s[2] = (s[2] as number) + f * d.dc;
    }
    for (let a = 0; a < free; a++)
      for (let b = 0; b < free; b++) (info[a] as number[])[b] = ((info[a] as number[])[b] as number) + (s[a] as number) * (s[b] as number);
  });
  const prior = priorTerms(p, o, free);
  for (let i = 0; i < free; i++) (info[i] as number[])[i] = ((info[i] as number[])[i] as number) + (prior.curv[i] as number);
  const variance = (k: number): number => {
    const e = new Array<number>(free).fill(0);
    e[k] = 1;
    return solve(info, e)[k] as number;
  };
  const se = { a: Math.sqrt(variance(0)), b: Math.sqrt(variance(1)), ...(free === 3 ? { c: Math.sqrt(variance(2)) } : {}) };
  return {
    a: p.a,
    b: p.b,
    c: p.c,
    se,
    n: count.n,
    pValue: count.n === 0 ? 0 : count.right / count.n,
    fit: estimated ? yenQ1(j, p, rows, thetas, o.D, free) : null,
    estimated,
  };
}
