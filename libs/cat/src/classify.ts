/**
 * Classification stopping around a cut score: the sequential probability ratio test
 * (SPRT, Reckase 1983; Eggen 1999) and the confidence-interval rule (Kingsbury &
 * Weiss 1983), and a Monte-Carlo simulation of their decision accuracy and length.
 */
import { z } from 'zod';
import { DEFAULT_PRIOR, EapAccumulator } from './estimate.ts';
import type { Estimate, Prior } from './estimate.ts';
import { DEFAULT_D, prob3pl } from './irt.ts';
import { MAX_ABS_B, logCategoryProbability } from './models.ts';
import type { AnyItemParams } from './models.ts';
import { createRng } from './rng.ts';
import { analyse, selectWithAnalysis } from './select.ts';
import type { SelectableItem } from './select.ts';
import { drawThetas } from './simulate.ts';

const cutTheta = z.number().min(-MAX_ABS_B).max(MAX_ABS_B);
const errorRate = z.number().gt(0).lt(0.5);

/** Schema of a {@link ClassificationRule}. */
export const classificationRuleSchema = z.discriminatedUnion('rule', [
  z.strictObject({ rule: z.literal('SPRT'), cutTheta, delta: z.number().gt(0).max(2), alpha: errorRate, beta: errorRate }),
  z.strictObject({ rule: z.literal('CI'), cutTheta, alpha: errorRate }),
]);

/**
 * SPRT: H0 θ = cut − δ against H1 θ = cut + δ; pass when log LR ≥ log((1 − β)/α), fail
 * when ≤ log(β/(1 − α)). α is the rate of passing at cut − δ, β of failing at cut + δ.
 * CI: pass when θ̂ − z·SE > cut, fail when θ̂ + z·SE < cut, z = Φ⁻¹(1 − α).
 */
export type ClassificationRule = z.infer<typeof classificationRuleSchema>;

/** Outcome of a classification test. */
export type Decision = 'pass' | 'fail' | 'undecided';

/** Φ⁻¹(p) by Acklam's rational approximation (relative error < 1.2e-9), for 0 < p < 1. */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p must be in (0, 1), got ${p}`);
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const horner = (coefs: readonly number[], x: number): number => coefs.reduce((acc, k) => acc * x + k, 0);
  const tail = (q: number): number => horner(c, q) / horner([...d, 1], q);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return (horner(a, r) * q) / horner([...b, 1], r);
}

/** SPRT log-likelihood ratio Σ log P(x | cut + δ) − log P(x | cut − δ). */
export function sprtLogRatio(
  items: readonly AnyItemParams[],
  responses: readonly number[],
  cut: number,
  delta: number,
  D = DEFAULT_D,
): number {
  let s = 0;
  for (let j = 0; j < items.length; j++) {
    const it = items[j] as AnyItemParams;
    const x = responses[j] as number;
    s += logCategoryProbability(it, x, cut + delta, D) - logCategoryProbability(it, x, cut - delta, D);
  }
  return s;
}

/**
 * The decision the rule reaches after these responses, or 'undecided' when the test
 * should go on. `estimate` is the current θ̂ and SE (used by the CI rule).
 */
export function classify(
  rule: ClassificationRule,
  items: readonly AnyItemParams[],
  responses: readonly number[],
  estimate: Estimate,
  D = DEFAULT_D,
): Decision {
  if (rule.rule === 'SPRT') {
    const lr = sprtLogRatio(items, responses, rule.cutTheta, rule.delta, D);
    if (lr >= Math.log((1 - rule.beta) / rule.alpha)) return 'pass';
    if (lr <= Math.log(rule.beta / (1 - rule.alpha))) return 'fail';
    return 'undecided';
  }
  const z = normalQuantile(1 - rule.alpha);
  if (estimate.theta - z * estimate.se > rule.cutTheta) return 'pass';
  if (estimate.theta + z * estimate.se < rule.cutTheta) return 'fail';
  return 'undecided';
}

/** Options of {@link simulateClassification}. */
export interface ClassificationSimOptions {
  items: readonly SelectableItem[];
  rule: ClassificationRule;
  simulees: number;
  /** No decision before this many items; the test ends undecided at maxItems. */
  minItems: number;
  maxItems: number;
  seed: string;
  /** Select by maximum information at the EAP estimate (default) or at the cut. */
  selectAt?: 'estimate' | 'cut';
  D?: number;
  prior?: Prior;
  /** True abilities (default N(0, 1) draws from the seed). */
  thetas?: readonly number[];
}

/** Decision accuracy and test length of a classification rule. */
export interface ClassificationSimResult {
  simulees: number;
  meanLength: number;
  /** Share with a pass/fail decision before maxItems. */
  decidedShare: number;
  /** Correct decisions / all simulees (undecided counts as wrong). */
  accuracy: number;
  /** Correct decisions / decided simulees. */
  accuracyDecided: number;
  /** Accuracy when undecided tests are classified by θ̂ ≥ cut at maxItems. */
  accuracyWithFallback: number;
  /** Share passed with true θ < cut, and failed with true θ ≥ cut. */
  falsePass: number;
  falseFail: number;
}

/**
 * Simulate classification tests: 3PL responses at each true θ, EAP after every
 * answer, maximum-information selection, and the rule checked after every answer
 * from minItems on. The true class is θ ≥ cut.
 */
export function simulateClassification(opts: ClassificationSimOptions): ClassificationSimResult {
  const { items, rule } = opts;
  const D = opts.D ?? DEFAULT_D;
  const prior = opts.prior ?? DEFAULT_PRIOR;
  const thetas = opts.thetas ?? drawThetas(opts.simulees, opts.seed);
  const N = thetas.length;
  const tally = { length: 0, decided: 0, correct: 0, correctFallback: 0, falsePass: 0, falseFail: 0 };
  for (let s = 0; s < N; s++) {
    const truth = thetas[s] as number;
    const respRng = createRng(`${opts.seed}:class:${s}`);
    const acc = new EapAccumulator({ D, prior });
    const administered: number[] = [];
    const answered: SelectableItem[] = [];
    const responses: number[] = [];
    let est: Estimate = { theta: prior.mean, se: prior.sd };
    let decision: Decision = 'undecided';
    while (administered.length < opts.maxItems) {
      const an = analyse(items, administered, undefined);
      const theta = opts.selectAt === 'cut' ? rule.cutTheta : est.theta;
      const pick = selectWithAnalysis({ items, administered, theta, D }, an);
      if (!pick) break;
      const it = items[pick.index] as SelectableItem;
      const u = respRng.next() < prob3pl(truth, it.a, it.b, it.c, D) ? 1 : 0;
      administered.push(pick.index);
      answered.push(it);
      responses.push(u);
      acc.add(it, u);
      est = acc.estimate();
      if (administered.length >= opts.minItems) decision = classify(rule, answered, responses, est, D);
      if (decision !== 'undecided') break;
    }
    const shouldPass = truth >= rule.cutTheta;
    const final = decision === 'undecided' ? (est.theta >= rule.cutTheta ? 'pass' : 'fail') : decision;
    tally.length += administered.length;
    if (decision !== 'undecided') tally.decided++;
    if (decision === (shouldPass ? 'pass' : 'fail')) tally.correct++;
    if (final === (shouldPass ? 'pass' : 'fail')) tally.correctFallback++;
    if (decision === 'pass' && !shouldPass) tally.falsePass++;
    if (decision === 'fail' && shouldPass) tally.falseFail++;
  }
  return {
    simulees: N,
    meanLength: tally.length / N,
    decidedShare: tally.decided / N,
    accuracy: tally.correct / N,
    accuracyDecided: tally.decided > 0 ? tally.correct / tally.decided : 0,
    accuracyWithFallback: tally.correctFallback / N,
    falsePass: tally.falsePass / N,
    falseFail: tally.falseFail / N,
  };
}
