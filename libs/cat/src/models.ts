/**
 * Item models for estimation and selection: the dichotomous 3PL (2PL, 1PL) and the
 * polytomous graded response model (GRM) and generalized partial credit model (GPCM),
 * with category probabilities, their first two θ-derivatives and Fisher information.
 */
import { DEFAULT_D, info3pl, logistic, softplus } from './irt.ts';
import type { ItemParams } from './irt.ts';

/** A polytomous item with categories 0..b.length. */
export interface PolyItemParams {
  /** 'GRM': P(X ≥ k) = logistic(D·a(θ − b_k)), b increasing; 'GPCM': P(X = k) ∝ exp(Σ_{t≤k} D·a(θ − b_t)). */
  model: 'GRM' | 'GPCM';
  /** Discrimination (> 0). */
  a: number;
  /** Thresholds (GRM, strictly increasing) or step difficulties (GPCM), one per category above 0. */
  b: readonly number[];
}

/** Any item the estimators and the selection accept. */
export type AnyItemParams = ItemParams | PolyItemParams;

/** Largest accepted |a|·D and |b|: beyond them information and likelihoods lose all precision. */
export const MAX_A = 10;
/** Largest accepted |b| (and |θ| start values): ten standard deviations of a N(0,1) population. */
export const MAX_ABS_B = 10;
/** Largest accepted scaling constant D. */
export const MAX_D = 5;

/** Whether `item` is a polytomous (GRM or GPCM) item. */
export function isPoly(item: AnyItemParams): item is PolyItemParams {
  return 'model' in item;
}

/** Number of response categories: 2 for a dichotomous item, b.length + 1 for a polytomous one. */
export function categoryCount(item: AnyItemParams): number {
  return isPoly(item) ? item.b.length + 1 : 2;
}

/**
 * Why `item` is unusable (a ∉ (0, MAX_A], |b| > MAX_ABS_B, c ∉ [0, 1), non-finite values,
 * GRM thresholds not increasing, no thresholds), or undefined if it is valid.
 */
export function itemProblem(item: AnyItemParams): string | undefined {
  if (!(Number.isFinite(item.a) && item.a > 0 && item.a <= MAX_A)) return `a must be in (0, ${MAX_A}], got ${item.a}`;
  if (isPoly(item)) {
    if (item.b.length === 0) return 'b must have at least one threshold';
    for (let k = 0; k < item.b.length; k++) {
      const v = item.b[k] as number;
      if (!(Number.isFinite(v) && Math.abs(v) <= MAX_ABS_B)) return `b[${k}] must be finite with |b| ≤ ${MAX_ABS_B}, got ${v}`;
      if (item.model === 'GRM' && k > 0 && !(v > (item.b[k - 1] as number)))
        return `b[${k}] must exceed b[${k - 1}] (GRM thresholds increase)`;
    }
    return undefined;
  }
  if (!(Number.isFinite(item.b) && Math.abs(item.b) <= MAX_ABS_B)) return `b must be finite with |b| ≤ ${MAX_ABS_B}, got ${item.b}`;
  if (!(Number.isFinite(item.c) && item.c >= 0 && item.c < 1)) return `c must be in [0, 1), got ${item.c}`;
  return undefined;
}

/** Throw a RangeError unless D is finite and in (0, MAX_D]. */
export function assertD(D: number): void {
  if (!(Number.isFinite(D) && D > 0 && D <= MAX_D)) throw new RangeError(`D must be in (0, ${MAX_D}], got ${D}`);
}

/** Category probabilities with their first and second derivatives in θ. */
export interface CategoryCurves {
  p: Float64Array;
  d1: Float64Array;
  d2: Float64Array;
}

function grmCurves(item: PolyItemParams, theta: number, D: number): CategoryCurves {
  const m = item.b.length;
  const da = D * item.a;
  // Cumulative P*_k = P(X ≥ k) and its complement, k = 0..m+1 (P*_0 = 1, P*_{m+1} = 0).
  const up = new Float64Array(m + 2);
  const lo = new Float64Array(m + 2);
  const s1 = new Float64Array(m + 2);
  const s2 = new Float64Array(m + 2);
  up[0] = 1;
  for (let k = 1; k <= m; k++) {
    const z = da * (theta - (item.b[k - 1] as number));
    const L = logistic(z);
    const Q = logistic(-z);
    up[k] = L;
    lo[k] = Q;
    s1[k] = da * L * Q;
    s2[k] = da * da * L * Q * (Q - L);
  }
  lo[m + 1] = 1;
  const p = new Float64Array(m + 1);
  const d1 = new Float64Array(m + 1);
  const d2 = new Float64Array(m + 1);
  for (let k = 0; k <= m; k++) {
    // Subtract the smaller pair to avoid cancellation: P*_k − P*_{k+1} = Q*_{k+1} − Q*_k.
    const viaUp = (up[k] as number) - (up[k + 1] as number);
    const viaLo = (lo[k + 1] as number) - (lo[k] as number);
    p[k] = (up[k] as number) < 0.5 ? viaUp : viaLo;
    d1[k] = (s1[k] as number) - (s1[k + 1] as number);
    d2[k] = (s2[k] as number) - (s2[k + 1] as number);
  }
  return { p, d1, d2 };
}

function gpcmCurves(item: PolyItemParams, theta: number, D: number): CategoryCurves {
  const m = item.b.length;
  const da = D * item.a;
  const z = new Float64Array(m + 1);
  let mx = 0;
  for (let k = 1; k <= m; k++) {
    z[k] = (z[k - 1] as number) + da * (theta - (item.b[k - 1] as number));
    if ((z[k] as number) > mx) mx = z[k] as number;
  }
  const p = new Float64Array(m + 1);
  let sum = 0;
  for (let k = 0; k <= m; k++) {
    p[k] = Math.exp((z[k] as number) - mx);
    sum += p[k] as number;
  }
  let mean = 0;
  for (let k = 0; k <= m; k++) {
    p[k] = (p[k] as number) / sum;
    mean += k * (p[k] as number);
  }
  let variance = 0;
  for (let k = 0; k <= m; k++) variance += (k - mean) ** 2 * (p[k] as number);
  const d1 = new Float64Array(m + 1);
  const d2 = new Float64Array(m + 1);
  for (let k = 0; k <= m; k++) {
    const pk = p[k] as number;
    d1[k] = da * pk * (k - mean);
    d2[k] = da * da * pk * ((k - mean) ** 2 - variance);
  }
  return { p, d1, d2 };
}

function dichotomousCurves(item: ItemParams, theta: number, D: number): CategoryCurves {
  const da = D * item.a;
  const z = da * (theta - item.b);
  const L = logistic(z);
  const Q = logistic(-z);
  const g = 1 - item.c;
  const d1 = g * da * L * Q;
  const d2 = g * da * da * L * Q * (Q - L);
  return {
    p: Float64Array.of(g * Q, item.c + g * L),
    d1: Float64Array.of(-d1, d1),
    d2: Float64Array.of(-d2, d2),
  };
}

/** Category probabilities P_k(θ) and their first and second θ-derivatives for any item. */
export function categoryCurves(item: AnyItemParams, theta: number, D: number = DEFAULT_D): CategoryCurves {
  if (!isPoly(item)) return dichotomousCurves(item, theta, D);
  return item.model === 'GRM' ? grmCurves(item, theta, D) : gpcmCurves(item, theta, D);
}

/** Category probabilities P_0..P_K of an item at θ (they sum to 1). */
export function categoryProbabilities(item: AnyItemParams, theta: number, D: number = DEFAULT_D): Float64Array {
  return categoryCurves(item, theta, D).p;
}

const TINY = 1e-300;

/** log P(X = x | θ), computed in log space where the model allows it. */
export function logCategoryProbability(item: AnyItemParams, x: number, theta: number, D: number = DEFAULT_D): number {
  if (!isPoly(item)) {
    const z = D * item.a * (theta - item.b);
    if (x === 1) return item.c === 0 ? -softplus(-z) : Math.log(item.c + (1 - item.c) * logistic(z));
    return Math.log1p(-item.c) - softplus(z);
  }
  if (item.model === 'GPCM') {
    const da = D * item.a;
    let zk = 0;
    let mx = 0;
    const z: number[] = [0];
    for (let k = 1; k <= item.b.length; k++) {
      zk += da * (theta - (item.b[k - 1] as number));
      z.push(zk);
      if (zk > mx) mx = zk;
    }
    let sum = 0;
    for (const v of z) sum += Math.exp(v - mx);
    return (z[x] as number) - mx - Math.log(sum);
  }
  return Math.log(Math.max(TINY, grmCurves(item, theta, D).p[x] as number));
}

/** Fisher information of any item at θ: Σ_k P_k′² / P_k (the 3PL closed form for dichotomous items). */
export function itemInformation(item: AnyItemParams, theta: number, D: number = DEFAULT_D): number {
  if (!isPoly(item)) return info3pl(theta, item.a, item.b, item.c, D);
  const { p, d1 } = categoryCurves(item, theta, D);
  let s = 0;
  for (let k = 0; k < p.length; k++) {
    const pk = p[k] as number;
    if (pk > TINY) s += ((d1[k] as number) * (d1[k] as number)) / pk;
  }
  return s;
}

/** Expected score E[X | θ] = Σ k·P_k (P(correct) for a dichotomous item). */
export function expectedScore(item: AnyItemParams, theta: number, D: number = DEFAULT_D): number {
  const p = categoryProbabilities(item, theta, D);
  let s = 0;
  for (let k = 1; k < p.length; k++) s += k * (p[k] as number);
  return s;
}

/** The category whose cumulative probability first exceeds the uniform draw `u` ∈ [0, 1). */
export function drawCategory(item: AnyItemParams, theta: number, u: number, D: number = DEFAULT_D): number {
  const p = categoryProbabilities(item, theta, D);
  let s = 0;
  for (let k = 0; k < p.length - 1; k++) {
    s += p[k] as number;
    if (u < s) return k;
  }
  return p.length - 1;
}
