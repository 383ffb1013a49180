/**
 * Classification stopping around a cut score: the sequential probability ratio test
 * (SPRT, Reckase 1983; Eggen 1999) and the confidence-interval rule (Kingsbury &
 * Weiss 1983), and a Monte-Carlo simulation of their decision accuracy and length.
 */
import { classify } from './classification-rule.ts';
import type { ClassificationRule, Decision } from './classification-rule.ts';
import { DEFAULT_PRIOR, EapAccumulator } from './estimate.ts';
import type { Estimate, Prior } from './estimate.ts';
import { DEFAULT_D, prob3pl } from './irt.ts';
import { createRng } from './rng.ts';
import { analyse, selectWithAnalysis } from './select.ts';
import type { SelectableItem } from './select.ts';
import { assertThetaCount, drawThetas } from './simulate.ts';

export { classificationRuleSchema, classify, normalQuantile, sprtLogRatio } from './classification-rule.ts';
export type { ClassificationRule, Decision } from './classification-rule.ts';

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
  /** True abilities, one per simulee (default N(0, 1) draws from the seed). */
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
  assertThetaCount(thetas, opts.simulees);
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
