/**
 * Ability estimators selectable by name: EAP (posterior mean), MAP (posterior mode,
 * Bayes modal), ML (maximum likelihood, bounded) and WLE (Warm's weighted likelihood),
 * for dichotomous and polytomous items alike.
 */
import { DEFAULT_PRIOR, checkPattern, computePosterior } from './estimate.ts';
import type { Estimate, EstimateOptions, Prior } from './estimate.ts';
import { DEFAULT_D, THETA_MAX, THETA_MIN } from './irt.ts';
import { categoryCurves, logCategoryProbability } from './models.ts';
import type { AnyItemParams } from './models.ts';

/** The estimators offered per test and in the CLI. */
export const ESTIMATION_METHODS = ['EAP', 'MAP', 'ML', 'WLE'] as const;
/** One of {@link ESTIMATION_METHODS}. */
export type EstimationMethod = (typeof ESTIMATION_METHODS)[number];

/** Result of {@link estimateTheta}; `bounded` is true when θ̂ sits on a bound of the search range. */
export interface MethodEstimate extends Estimate {
  bounded: boolean;
}

/** Options of {@link estimateTheta}. */
export interface MethodOptions extends EstimateOptions {
  /** Search range of the modal estimators (default [−4, 4]). */
  bounds?: [number, number];
}

/** Log-likelihood, score, Fisher information and Warm's J = Σ_j Σ_k P′P″/P at θ. */
interface PatternTerms {
  logLik: number;
  score: number;
  info: number;
  warmJ: number;
}

function patternTerms(items: readonly AnyItemParams[], responses: readonly number[], theta: number, D: number): PatternTerms {
  let logLik = 0;
  let score = 0;
  let info = 0;
  let warmJ = 0;
  for (let j = 0; j < items.length; j++) {
    const item = items[j] as AnyItemParams;
    const x = responses[j] as number;
    const { p, d1, d2 } = categoryCurves(item, theta, D);
    logLik += logCategoryProbability(item, x, theta, D);
    const px = p[x] as number;
    if (px > 0) score += (d1[x] as number) / px;
    for (let k = 0; k < p.length; k++) {
      const pk = p[k] as number;
      if (!(pk > 0)) continue;
      info += ((d1[k] as number) * (d1[k] as number)) / pk;
      warmJ += ((d1[k] as number) * (d2[k] as number)) / pk;
    }
  }
  return { logLik, score, info, warmJ };
}

/** The objective a modal estimator maximises and the estimating equation (its root). */
interface ModalCriterion {
  objective: (t: PatternTerms, theta: number) => number;
  equation: (t: PatternTerms, theta: number) => number;
  se: (t: PatternTerms) => number;
}

function criterion(method: 'MAP' | 'ML' | 'WLE', prior: Prior): ModalCriterion {
  const v = prior.sd * prior.sd;
  const inv = (x: number): number => (x > 0 ? 1 / Math.sqrt(x) : Infinity);
  switch (method) {
    case 'ML':
      return { objective: (t) => t.logLik, equation: (t) => t.score, se: (t) => inv(t.info) };
    case 'MAP':
      return {
        objective: (t, th) => t.logLik - ((th - prior.mean) * (th - prior.mean)) / (2 * v),
        equation: (t, th) => t.score - (th - prior.mean) / v,
        se: (t) => inv(t.info + 1 / v),
      };
    case 'WLE':
      // Warm (1989): score + J/(2I) = 0. For 1PL/2PL J = I′, so this is the mode of L·√I.
      return {
        objective: (t) => t.logLik + 0.5 * Math.log(Math.max(t.info, 1e-300)),
        equation: (t) => t.score + (t.info > 0 ? t.warmJ / (2 * t.info) : 0),
        se: (t) => inv(t.info),
      };
  }
}

/**
 * Maximum of the objective on [lo, hi]: every + → − sign change of the estimating equation on a
 * grid is refined by bisection into a root; the roots and the bounds where the equation points
 * outwards are the candidates, and the largest objective wins (a bound: `bounded`).
 */
function solveModal(
  items: readonly AnyItemParams[],
  responses: readonly number[],
  D: number,
  c: ModalCriterion,
  lo: number,
  hi: number,
  points: number,
): MethodEstimate {
  const at = (theta: number): PatternTerms => patternTerms(items, responses, theta, D);
  const h = (hi - lo) / (points - 1);
  let best: { theta: number; obj: number } | undefined;
  let prevX = lo;
  let prevF = c.equation(at(lo), lo);
  for (let q = 1; q < points; q++) {
    const x = q === points - 1 ? hi : lo + q * h;
    const f = c.equation(at(x), x);
    if (prevF > 0 && f <= 0) {
      let a = prevX;
      let b = x;
      for (let it = 0; it < 200 && b - a > 1e-13 * Math.max(1, Math.abs(a)); it++) {
        const m = 0.5 * (a + b);
        if (c.equation(at(m), m) > 0) a = m;
        else b = m;
      }
      const root = 0.5 * (a + b);
      const obj = c.objective(at(root), root);
      if (best === undefined || obj > best.obj) best = { theta: root, obj };
    }
    prevX = x;
    prevF = f;
  }
  // A bound where the equation points outwards is a local maximum too (all-correct-like patterns
  // push to hi, all-wrong-like to lo); it wins when its objective is higher than every root's.
  let bound: { theta: number; obj: number } | undefined;
  for (const [edge, outwards] of [
    [lo, c.equation(at(lo), lo) <= 0],
    [hi, c.equation(at(hi), hi) >= 0],
  ] as const) {
    if (!outwards) continue;
    const obj = c.objective(at(edge), edge);
    if (bound === undefined || obj > bound.obj) bound = { theta: edge, obj };
  }
  if (bound !== undefined && (best === undefined || bound.obj > best.obj)) {
    return { theta: bound.theta, se: c.se(at(bound.theta)), bounded: true };
  }
  // Without a sign change one of the bounds points outwards, so a root exists here.
  const root = best as { theta: number; obj: number };
  return { theta: root.theta, se: c.se(at(root.theta)), bounded: false };
}

/**
 * Estimate θ with the named method.
 *
 * - EAP: posterior mean and SD on the quadrature grid (see {@link computePosterior}).
 * - MAP: root of score − (θ − μ)/σ² = 0; SE = 1/√(I(θ̂) + 1/σ²).
 * - ML: root of the score; SE = 1/√I(θ̂). All-correct and all-wrong patterns (and any
 *   pattern whose likelihood keeps rising to a bound) give the bound of the search range,
 *   +4 or −4 by default, with `bounded: true`.
 * - WLE: root of score + J/(2I) = 0 (Warm 1989), J = Σ P′P″/P; SE = 1/√I(θ̂). Finite for
 *   extreme patterns of 1PL/2PL items.
 *
 * With no responses every method returns the prior: θ = prior mean, SE = prior SD.
 * @throws RangeError for invalid items, responses, D, prior or bounds.
 */
export function estimateTheta(
  method: EstimationMethod,
  items: readonly AnyItemParams[],
  responses: readonly number[],
  opts?: MethodOptions,
): MethodEstimate {
  const D = opts?.D ?? DEFAULT_D;
  const prior = opts?.prior ?? DEFAULT_PRIOR;
  checkPattern(items, responses, D, prior);
  if (items.length === 0) return { theta: prior.mean, se: prior.sd, bounded: false };
  if (method === 'EAP') {
    const p = computePosterior(items, responses, opts);
    return { theta: p.theta, se: p.se, bounded: false };
  }
  const [lo, hi] = opts?.bounds ?? [opts?.grid?.min ?? THETA_MIN, opts?.grid?.max ?? THETA_MAX];
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && hi > lo))
    throw new RangeError(`bounds must be finite with lo < hi, got [${lo}, ${hi}]`);
  const points = Math.max(3, Math.floor(opts?.grid?.points ?? 161));
  return solveModal(items, responses, D, criterion(method, prior), lo, hi, points);
}
