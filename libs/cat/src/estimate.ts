/**
 * Ability estimation: EAP (posterior mean on a quadrature grid, computed in log
 * space) and bounded MLE (grid search + safeguarded Newton refinement).
 */
import { DEFAULT_D, THETA_MAX, THETA_MIN, info3pl, logistic, softplus } from './irt.ts';
import type { ItemParams } from './irt.ts';
import { assertD, categoryCount, isPoly, itemProblem, logCategoryProbability } from './models.ts';
import type { AnyItemParams } from './models.ts';

/** A dichotomous response: 1 = correct, 0 = incorrect. */
export type Response = 0 | 1;

/** Normal prior on θ. */
export interface Prior {
  mean: number;
  sd: number;
}

/** Default prior N(0, 1). */
export const DEFAULT_PRIOR: Prior = { mean: 0, sd: 1 };

/** Options shared by the estimators. */
export interface EstimateOptions {
  /** Scaling constant D (default 1). */
  D?: number;
  /** Normal prior for EAP (default N(0, 1)). */
  prior?: Prior;
  /** Quadrature grid / MLE search range (default [−4, 4] with 161 points). */
  grid?: { min?: number; max?: number; points?: number };
}

/** θ estimate with its standard error. */
export interface Estimate {
  theta: number;
  se: number;
}

/** Posterior on a quadrature grid (weights normalised to sum to 1). */
export interface PosteriorGrid extends Estimate {
  nodes: Float64Array;
  weights: Float64Array;
}

const DEFAULT_POINTS = 161;

interface GridSpec {
  min: number;
  max: number;
  points: number;
}

function gridSpec(opts: EstimateOptions | undefined): GridSpec {
  const min = opts?.grid?.min ?? THETA_MIN;
  const max = opts?.grid?.max ?? THETA_MAX;
  const points = Math.max(3, Math.floor(opts?.grid?.points ?? DEFAULT_POINTS));
  if (!(Number.isFinite(min) && Number.isFinite(max) && max > min)) throw new RangeError('grid.max must exceed grid.min (both finite)');
  return { min, max, points };
}

function makeNodes(min: number, max: number, points: number): Float64Array {
  const nodes = new Float64Array(points);
  const h = (max - min) / (points - 1);
  for (let q = 0; q < points; q++) nodes[q] = min + q * h;
  nodes[points - 1] = max;
  return nodes;
}

/** Add the log-likelihood of one response at every node into `ll`. */
function addLogLik(ll: Float64Array, nodes: Float64Array, item: AnyItemParams, u: number, D: number): void {
  if (isPoly(item)) {
    for (let q = 0; q < nodes.length; q++) ll[q] = (ll[q] as number) + logCategoryProbability(item, u, nodes[q] as number, D);
    return;
  }
  const da = D * item.a;
  const { b, c } = item;
  const logOneMinusC = Math.log1p(-c);
  for (let q = 0; q < nodes.length; q++) {
    const z = da * ((nodes[q] as number) - b);
    if (u === 1) {
      ll[q] = (ll[q] as number) + (c === 0 ? -softplus(-z) : Math.log(c + (1 - c) * logistic(z)));
    } else {
      ll[q] = (ll[q] as number) + logOneMinusC - softplus(z);
    }
  }
}

/** Normalise log-posterior values into trapezoid-weighted probabilities; returns mean and SD. */
function summarise(nodes: Float64Array, logPost: Float64Array, weightsOut: Float64Array): Estimate {
  let mx = -Infinity;
  for (let q = 0; q < logPost.length; q++) if ((logPost[q] as number) > mx) mx = logPost[q] as number;
  const last = nodes.length - 1;
  let s0 = 0;
  let s1 = 0;
  for (let q = 0; q <= last; q++) {
    const w = Math.exp((logPost[q] as number) - mx) * (q === 0 || q === last ? 0.5 : 1);
    weightsOut[q] = w;
    s0 += w;
    s1 += w * (nodes[q] as number);
  }
  const mean = s1 / s0;
  let s2 = 0;
  for (let q = 0; q <= last; q++) {
    const w = (weightsOut[q] as number) / s0;
    weightsOut[q] = w;
    const d = (nodes[q] as number) - mean;
    s2 += w * d * d;
  }
  return { theta: mean, se: Math.sqrt(s2) };
}

/**
 * Throw a RangeError unless every item is valid, D and the prior (when given) are usable and each
 * response is a category index of its item (0..K; 0/1 for a dichotomous item).
 */
export function checkPattern(items: readonly AnyItemParams[], responses: readonly number[], D: number, prior?: Prior): void {
  if (items.length !== responses.length) {
    throw new RangeError(`items (${items.length}) and responses (${responses.length}) differ in length`);
  }
  assertD(D);
  if (prior && !(Number.isFinite(prior.mean) && Number.isFinite(prior.sd) && prior.sd > 0)) {
    throw new RangeError(`prior must have a finite mean and a finite sd > 0, got N(${prior.mean}, ${prior.sd})`);
  }
  for (let j = 0; j < items.length; j++) checkResponse(items[j] as AnyItemParams, responses[j] as number, j);
}

function checkResponse(item: AnyItemParams, x: number, j: number): void {
  const problem = itemProblem(item);
  if (problem !== undefined) throw new RangeError(`items[${j}]: ${problem}`);
  const k = categoryCount(item);
  if (!(Number.isInteger(x) && x >= 0 && x < k)) throw new RangeError(`responses[${j}] must be a category in 0..${k - 1}, got ${x}`);
}

function posteriorOnGrid(
  items: readonly AnyItemParams[],
  responses: readonly number[],
  nodes: Float64Array,
  D: number,
  prior: Prior,
): PosteriorGrid {
  const lp = new Float64Array(nodes.length);
  const inv = 1 / (2 * prior.sd * prior.sd);
  for (let q = 0; q < nodes.length; q++) {
    const d = (nodes[q] as number) - prior.mean;
    lp[q] = -d * d * inv;
  }
  for (let j = 0; j < items.length; j++) addLogLik(lp, nodes, items[j] as AnyItemParams, responses[j] as number, D);
  const weights = new Float64Array(nodes.length);
  const est = summarise(nodes, lp, weights);
  return { ...est, nodes, weights };
}

/**
 * Posterior of θ on the quadrature grid (normal prior × 3PL likelihood, trapezoid rule).
 * When the posterior is narrow relative to the grid step (SD < 2 steps) it is
 * recomputed on a local grid of the same size spanning ±10 SD (at least ±10 steps), so the result does
 * not depend on the grid to better than 1e-3 even for very long tests.
 */
export function computePosterior(items: readonly AnyItemParams[], responses: readonly number[], opts?: EstimateOptions): PosteriorGrid {
  const g = gridSpec(opts);
  const D = opts?.D ?? DEFAULT_D;
  const prior = opts?.prior ?? DEFAULT_PRIOR;
  checkPattern(items, responses, D, prior);
  const post = posteriorOnGrid(items, responses, makeNodes(g.min, g.max, g.points), D, prior);
  return refineIfNarrow(post, g, (nodes) => posteriorOnGrid(items, responses, nodes, D, prior));
}

function refineIfNarrow(post: PosteriorGrid, g: GridSpec, recompute: (nodes: Float64Array) => PosteriorGrid): PosteriorGrid {
  const h = (g.max - g.min) / (g.points - 1);
  if (!(post.se < 2 * h)) return post;
  // Below one step the coarse SD understates the spread (the mass sits on one or two nodes), so
  // the local grid spans at least ±10 steps around the coarse mean.
  const half = 10 * Math.max(post.se, h);
  const lo = Math.max(g.min, post.theta - half);
  const hi = Math.min(g.max, post.theta + half);
  if (!(hi > lo)) return post;
  return recompute(makeNodes(lo, hi, g.points));
}

/**
 * Expected a posteriori estimate: θ = posterior mean, SE = posterior SD, with a
 * normal prior (default N(0,1)) on a 161-point grid over [−4, 4], in log space.
 */
export function estimateEap(items: readonly AnyItemParams[], responses: readonly number[], opts?: EstimateOptions): Estimate {
  const p = computePosterior(items, responses, opts);
  return { theta: p.theta, se: p.se };
}

/**
 * Incremental EAP: keeps the log-posterior on the grid and adds one response at a
 * time (O(grid) per response). Gives the same results as {@link estimateEap}.
 */
export class EapAccumulator {
  readonly #nodes: Float64Array;
  readonly #lp: Float64Array;
  readonly #weights: Float64Array;
  readonly #items: AnyItemParams[] = [];
  readonly #responses: number[] = [];
  readonly #D: number;
  readonly #prior: Prior;
  readonly #grid: GridSpec;

  /** Create an accumulator holding the prior only. */
  constructor(opts?: EstimateOptions) {
    this.#grid = gridSpec(opts);
    this.#D = opts?.D ?? DEFAULT_D;
    this.#prior = opts?.prior ?? DEFAULT_PRIOR;
    checkPattern([], [], this.#D, this.#prior);
    this.#nodes = makeNodes(this.#grid.min, this.#grid.max, this.#grid.points);
    this.#lp = new Float64Array(this.#nodes.length);
    this.#weights = new Float64Array(this.#nodes.length);
    const inv = 1 / (2 * this.#prior.sd * this.#prior.sd);
    for (let q = 0; q < this.#nodes.length; q++) {
      const d = (this.#nodes[q] as number) - this.#prior.mean;
      this.#lp[q] = -d * d * inv;
    }
  }

  /** Number of responses added so far. */
  get count(): number {
    return this.#items.length;
  }

  /** Add one scored response (0/1, or a category index for a polytomous item). */
  add(item: AnyItemParams, response: number): void {
    const u = isPoly(item) ? response : response === 1 ? 1 : 0;
    checkResponse(item, u, this.#items.length);
    this.#items.push(item);
    this.#responses.push(u);
    addLogLik(this.#lp, this.#nodes, item, u, this.#D);
  }

  /** Current EAP estimate. */
  estimate(): Estimate {
    const est = summarise(this.#nodes, this.#lp, this.#weights);
    const post = refineIfNarrow({ ...est, nodes: this.#nodes, weights: this.#weights }, this.#grid, (nodes) =>
      posteriorOnGrid(this.#items, this.#responses, nodes, this.#D, this.#prior),
    );
    return { theta: post.theta, se: post.se };
  }
}

/** Options for {@link estimateMle}. */
export interface MleOptions extends EstimateOptions {
  /** Clamp range for θ (default: the grid range, [−4, 4]). */
  bounds?: [number, number];
}

/** MLE result; `bounded` is true when the maximum lies on a bound (e.g. all-correct / all-wrong). */
export interface MleEstimate extends Estimate {
  bounded: boolean;
}

function logLikAt(items: readonly ItemParams[], responses: readonly number[], theta: number, D: number): number {
  let s = 0;
  for (let j = 0; j < items.length; j++) {
    const it = items[j] as ItemParams;
    const z = D * it.a * (theta - it.b);
    if (responses[j] === 1) s += it.c === 0 ? -softplus(-z) : Math.log(it.c + (1 - it.c) * logistic(z));
    else s += Math.log1p(-it.c) - softplus(z);
  }
  return s;
}

/** Score (first derivative of the log-likelihood) and Fisher information at θ. */
function scoreAndInfo(items: readonly ItemParams[], responses: readonly number[], theta: number, D: number): [number, number] {
  let s = 0;
  let inf = 0;
  for (let j = 0; j < items.length; j++) {
    const it = items[j] as ItemParams;
    const L = logistic(D * it.a * (theta - it.b));
    const p = it.c + (1 - it.c) * L;
    const u = responses[j] === 1 ? 1 : 0;
    // d/dθ log L_j = D·a·(u − P)·L / P   (since (P − c)/(1 − c) = L)
    s += (D * it.a * (u - p) * L) / p;
    inf += info3pl(theta, it.a, it.b, it.c, D);
  }
  return [s, inf];
}

/**
 * The root of a decreasing score inside [x0, x1] (score(x0) > 0 > score(x1)), from `x`: Fisher
 * scoring steps while they stay in the bracket and at least halve from one step to the next,
 * bisection otherwise. Fisher scoring alone can crawl: with guessing, the Fisher information can
 * be many times the curvature of a flat likelihood, and each step then covers a small part of
 * the way.
 */
function rootInBracket(scoreInfo: (x: number) => [number, number], x: number, x0: number, x1: number): number {
  let lo = x0;
  let hi = x1;
  let last = hi - lo;
  for (let iter = 0; iter < 200; iter++) {
    const [s, inf] = scoreInfo(x);
    if (s === 0) return x;
    if (s > 0) lo = x;
    else hi = x;
    const newton = inf > 0 ? s / inf : NaN;
    let next = x + newton;
    if (!(next > lo && next < hi && Math.abs(newton) <= 0.5 * Math.abs(last))) next = 0.5 * (lo + hi);
    last = next - x;
    x = next;
    if (Math.abs(last) < 1e-12) break;
  }
  return x;
}

/**
 * Maximum-likelihood θ, restricted to `bounds` (default [−4, 4]).
 *
 * Rule for patterns without a finite maximum: the likelihood is maximised over
 * the closed interval, so all-correct gives the upper bound (+4) and all-wrong the
 * lower bound (−4), flagged with `bounded: true`. Method: log-likelihood on the
 * grid (161 points) to find the global maximum, then Newton–Raphson (Fisher
 * scoring) on the score inside the neighbouring bracket with bisection fallback.
 * SE = 1/√(test information at θ̂); with no responses θ = 0 (or the prior mean)
 * and SE = +∞.
 */
export function estimateMle(items: readonly ItemParams[], responses: readonly number[], opts?: MleOptions): MleEstimate {
  const g = gridSpec(opts);
  const D = opts?.D ?? DEFAULT_D;
  checkPattern(items, responses, D);
  const [lo, hi] = opts?.bounds ?? [g.min, g.max];
  if (items.length === 0) {
    return { theta: Math.min(hi, Math.max(lo, opts?.prior?.mean ?? 0)), se: Infinity, bounded: false };
  }
  const nodes = makeNodes(lo, hi, g.points);
  let best = 0;
  let bestLl = -Infinity;
  for (let q = 0; q < nodes.length; q++) {
    const ll = logLikAt(items, responses, nodes[q] as number, D);
    if (ll > bestLl) {
      bestLl = ll;
      best = q;
    }
  }
  let theta = nodes[best] as number;
  let bounded = false;
  const last = nodes.length - 1;
  if (best === 0 && scoreAndInfo(items, responses, lo, D)[0] <= 0) {
    bounded = true;
  } else if (best === last && scoreAndInfo(items, responses, hi, D)[0] >= 0) {
    bounded = true;
  } else {
    // Bracket [x0, x1] with score(x0) > 0 > score(x1) around the grid maximum.
    const x0 = nodes[Math.max(0, best - 1)] as number;
    const x1 = nodes[Math.min(last, best + 1)] as number;
    if (scoreAndInfo(items, responses, x0, D)[0] > 0 && scoreAndInfo(items, responses, x1, D)[0] < 0) {
      theta = rootInBracket((x) => scoreAndInfo(items, responses, x, D), theta, x0, x1);
    }
  }
  const inf = scoreAndInfo(items, responses, theta, D)[1];
  return { theta, se: inf > 0 ? 1 / Math.sqrt(inf) : Infinity, bounded };
}
