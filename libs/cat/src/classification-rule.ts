/**
 * Classification around a cut score, the rule itself: the sequential probability ratio test
 * (SPRT, Reckase 1983; Eggen 1999) and the confidence-interval rule (Kingsbury & Weiss 1983).
 * The CAT step stops on it and the scorer reports its decision; `classify.ts` simulates it.
 */
import { z } from 'zod';
import type { Estimate } from './estimate.ts';
import { DEFAULT_D } from './irt.ts';
import { MAX_ABS_B, logCategoryProbability } from './models.ts';
import type { AnyItemParams } from './models.ts';

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
