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
import { DEFAULT_D } from './irt.ts';

/** One person's answers: item index → 0 or 1 (items not asked are absent). */
export type ResponseRow = ReadonlyMap<number, 0 | 1>;

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
});
export type CalibrationOptions = z.input<typeof calibrationOptionsSchema>;

/** One item's estimates. */
export interface ItemCalibration {
  a: number;
  b: number;
  c: number;
  se: { a: number; b: number; c?: number };
  /** People who answered the item, and the share of them right. */
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

/** Posterior weights of each person over the nodes, and the marginal log-likelihood. */
function posterior(rows: readonly ResponseRow[], params: readonly Params[], x: number[], w: number[], D: number) {
  const Q = x.length;
  const post: Float64Array[] = [];
  let logLik = 0;
  // P per item and node, once per cycle.
  const P = params.map((p) => x.map((t) => derivatives(p, t, D).P));
  for (const row of rows) {
    const logL = new Float64Array(Q);
    for (const [j, u] of row) {
      const pj = P[j] as number[];
      for (let q = 0; q < Q; q++) logL[q] = (logL[q] as number) + Math.log(u === 1 ? (pj[q] as number) : 1 - (pj[q] as number));
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

/** Solves a small symmetric positive-definite system by Gaussian elimination. */
function solve(A: number[][], g: number[]): number[] {
  const n = g.length;
  const M = A.map((row, i) => [...row, g[i] as number]);
  for (let i = 0; i < n; i++) {
    const pivot = (M[i] as number[])[i] as number;
    for (let k = i + 1; k < n; k++) {
      const f = ((M[k] as number[])[i] as number) / pivot;
      for (let m = i; m <= n; m++) (M[k] as number[])[m] = ((M[k] as number[])[m] as number) - f * ((M[i] as number[])[m] as number);
    }
  }
  const out = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = (M[i] as number[])[n] as number;
    for (let m = i + 1; m < n; m++) s -= ((M[i] as number[])[m] as number) * (out[m] as number);
    out[i] = s / ((M[i] as number[])[i] as number);
  }
  return out;
}

/** The expected complete-data log posterior of one item over the nodes. */
function itemObjective(
  p: Params,
  n: Float64Array,
  r: Float64Array,
  x: number[],
  D: number,
  o: z.output<typeof calibrationOptionsSchema>,
  free: number,
) {
  let v = priorTerms(p, o, free).value;
  for (let q = 0; q < x.length; q++) {
    const P = derivatives(p, x[q] as number, D).P;
    v += (r[q] as number) * Math.log(P) + ((n[q] as number) - (r[q] as number)) * Math.log(1 - P);
  }
  return v;
}

/** A few Fisher-scoring steps for one item on its expected counts, with step halving. */
function mStep(
  start: Params,
  n: Float64Array,
  r: Float64Array,
  x: number[],
  D: number,
  o: z.output<typeof calibrationOptionsSchema>,
): Params {
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

/**
 * Calibrates `itemCount` items from the response rows. Start values: a = 1, b from the item's
 * proportion correct, c = the prior's mean (3PL) or 0. Throws RangeError on bad input.
 */
export function calibrate(rows: readonly ResponseRow[], itemCount: number, options: CalibrationOptions = {}): CalibrationReport {
  const parsed = calibrationOptionsSchema.safeParse(options);
  if (!parsed.success) throw new RangeError(`calibrate: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const o = parsed.data;
  if (!Number.isInteger(itemCount) || itemCount < 1)
    throw new RangeError(`calibrate: itemCount must be a positive integer, got ${itemCount}`);
  for (const row of rows) {
    for (const [j, u] of row) {
      const value: number = u;
      if (!Number.isInteger(j) || j < 0 || j >= itemCount || (value !== 0 && value !== 1))
        throw new RangeError(`calibrate: bad response ${j}=${String(u)}`);
    }
  }
  const free = o.model === '3PL' ? 3 : 2;
  const { x, w } = quadrature(o.nodes, o.range);
  const counts = Array.from({ length: itemCount }, () => ({ n: 0, right: 0 }));
  for (const row of rows) {
    for (const [j, u] of row) {
      const c = counts[j] as { n: number; right: number };
      c.n += 1;
      c.right += u;
    }
  }
  const c0 = o.model === '3PL' ? o.priors.c.alpha / (o.priors.c.alpha + o.priors.c.beta) : 0;
  const estimated = counts.map((c) => c.n >= o.minResponses);
  let params: Params[] = counts.map((c) => {
    const pv = Math.min(0.95, Math.max(0.05, c.n === 0 ? 0.5 : c.right / c.n));
    const adj = Math.min(0.95, Math.max(0.05, (pv - c0) / (1 - c0)));
    return { a: 1, b: Math.max(-4, Math.min(4, -Math.log(adj / (1 - adj)) / o.D)), c: c0 };
  });
  const logLikelihood: number[] = [];
  let converged = false;
  let cycles = 0;
  for (; cycles < o.maxCycles;) {
    cycles += 1;
    const { post, logLik } = posterior(rows, params, x, w, o.D);
    logLikelihood.push(logLik);
    const n = Array.from({ length: itemCount }, () => new Float64Array(x.length));
    const r = Array.from({ length: itemCount }, () => new Float64Array(x.length));
    rows.forEach((row, i) => {
      const g = post[i] as Float64Array;
      for (const [j, u] of row) {
        const nj = n[j] as Float64Array;
        const rj = r[j] as Float64Array;
        for (let q = 0; q < x.length; q++) {
          nj[q] = (nj[q] as number) + (g[q] as number);
          if (u === 1) rj[q] = (rj[q] as number) + (g[q] as number);
        }
      }
    });
    let moved = 0;
    params = params.map((p, j) => {
      if (!estimated[j]) return p;
      const next = mStep(p, n[j] as Float64Array, r[j] as Float64Array, x, o.D, o);
      moved = Math.max(moved, Math.abs(next.a - p.a), Math.abs(next.b - p.b), Math.abs(next.c - p.c));
      return next;
    });
    if (moved < o.tolerance) {
      converged = true;
      break;
    }
  }
  const { post } = posterior(rows, params, x, w, o.D);
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
  const items = params.map((p, j) =>
    itemReport(j, p, rows, post, x, o, free, thetas, counts[j] as { n: number; right: number }, estimated[j] === true),
  );
  return { model: o.model, items, cycles, converged, logLikelihood, persons };
}

/** One item's report: standard errors from the cross-products of the people's scores (plus the prior's curvature), and its fit. */
function itemReport(
  j: number,
  p: Params,
  rows: readonly ResponseRow[],
  post: readonly Float64Array[],
  x: number[],
  o: z.output<typeof calibrationOptionsSchema>,
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
