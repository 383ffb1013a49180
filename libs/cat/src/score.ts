/**
 * Final results: θ, SE, scaled score, per-skill estimates, trace, percentile rank.
 */
import { classify } from './classification-rule.ts';
import type { Decision } from './classification-rule.ts';
import type { BankItem, CatConfig } from './config.ts';
import { DEFAULT_PRIOR, EapAccumulator } from './estimate.ts';
import type { Estimate } from './estimate.ts';
import { DEFAULT_D } from './irt.ts';
import { estimateForConfig, modelOf, responseOf } from './step.ts';
import { isPoly } from './models.ts';
import type { AnyItemParams } from './models.ts';
import type { HistoryEntry } from './step.ts';

/** Linear map from θ to a reported score: score = intercept + slope·θ, clamped to [min, max], optionally rounded. */
export interface ScoreScale {
  slope: number;
  intercept: number;
  min?: number | undefined;
  max?: number | undefined;
  /** Round the scaled score to this many decimals. */
  decimals?: number | undefined;
}

/**
 * Build a {@link ScoreScale} mapping θ ∈ [thetaMin, thetaMax] linearly onto
 * [scoreMin, scoreMax] (e.g. θ −3..3 → 200..800), clamped to the score range.
 */
export function scaleFromRange(range: {
  thetaMin: number;
  thetaMax: number;
  scoreMin: number;
  scoreMax: number;
  decimals?: number;
}): ScoreScale {
  const { thetaMin, thetaMax, scoreMin, scoreMax } = range;
  if (!(thetaMax > thetaMin)) throw new RangeError('thetaMax must exceed thetaMin');
  const slope = (scoreMax - scoreMin) / (thetaMax - thetaMin);
  const scale: ScoreScale = {
    slope,
    intercept: scoreMin - slope * thetaMin,
    min: Math.min(scoreMin, scoreMax),
    max: Math.max(scoreMin, scoreMax),
  };
  if (range.decimals !== undefined) scale.decimals = range.decimals;
  return scale;
}

/** Apply a {@link ScoreScale} to θ. */
export function toScaledScore(theta: number, scale: ScoreScale): number {
  let s = scale.intercept + scale.slope * theta;
  if (scale.min !== undefined && s < scale.min) s = scale.min;
  if (scale.max !== undefined && s > scale.max) s = scale.max;
  if (scale.decimals !== undefined) {
    const f = 10 ** scale.decimals;
    s = Math.round(s * f) / f;
  }
  return s;
}

/** One answered item in the result trace, with the estimate after that answer. */
export interface TraceEntry {
  itemId: string;
  skill: string;
  correct: boolean;
  theta: number;
  se: number;
}

/** Per-skill result (estimated from that skill's responses only). */
export interface SkillResult extends Estimate {
  administered: number;
  correct: number;
}

/** Result of {@link scoreResult}. */
export interface ScoreResult extends Estimate {
  /** Scaled score (when a scale was given). */
  scaled?: number;
  /** SE on the scaled metric (|slope|·SE, when a scale was given). */
  scaledSe?: number;
  numberCorrect: number;
  numberAdministered: number;
  skills: Record<string, SkillResult>;
  trace: TraceEntry[];
  /** With a classification rule in the configuration: its decision on the whole response pattern. */
  decision?: Decision;
}

/** Input of {@link scoreResult}. */
export interface ScoreInput {
  bank: readonly BankItem[];
  history: readonly HistoryEntry[];
  /** Estimator settings (D, prior, estimator) and the classification rule; other fields are ignored. */
  config?: Partial<CatConfig>;
  scale?: ScoreScale;
}

/**
 * Score a finished (or interrupted) test: overall θ/SE with the configured
 * estimator, the scaled score, per-skill θ/SE from each skill's responses only
 * (same estimator and prior), number correct, and the trace of θ/SE after each answer.
 * @throws Error when the history names an item not in the bank.
 */
export function scoreResult(input: ScoreInput): ScoreResult {
  const config = input.config ?? {};
  const byId = new Map<string, BankItem>();
  for (const it of input.bank) byId.set(it.id, it);
  const D = config.D ?? DEFAULT_D;
  const prior = config.prior ?? DEFAULT_PRIOR;
  const items: AnyItemParams[] = [];
  const responses: number[] = [];
  const perSkill = new Map<string, { items: AnyItemParams[]; responses: number[] }>();
  // The trace follows the configured estimator; the incremental EAP only serves EAP.
  const incrementalEap = config.estimator !== 'mle' && (config.method ?? 'EAP') === 'EAP';
  const trace: TraceEntry[] = [];
  const acc = new EapAccumulator({ D, prior });
  let numberCorrect = 0;
  for (const h of input.history) {
    const it = byId.get(h.itemId);
    if (!it) throw new Error(`history references unknown item id: ${h.itemId}`);
    const u = responseOf(it, h);
    if (!it.poly) numberCorrect += u;
    const model = modelOf(it);
    items.push(model);
    responses.push(u);
    let sk = perSkill.get(it.skill);
    if (!sk) perSkill.set(it.skill, (sk = { items: [], responses: [] }));
    sk.items.push(model);
    sk.responses.push(u);
    let est: Estimate;
    acc.add(model, u);
    if (!incrementalEap) est = estimateForConfig(items, responses, config);
    else est = acc.estimate();
    trace.push({ itemId: it.id, skill: it.skill, correct: h.correct, theta: est.theta, se: est.se });
  }
  const overall = estimateForConfig(items, responses, { ...config, startTheta: prior.mean });
  const skills: Record<string, SkillResult> = {};
  for (const [skill, sk] of perSkill) {
    const e = estimateForConfig(sk.items, sk.responses, { ...config, startTheta: prior.mean });
    let correct = 0;
    sk.responses.forEach((r, j) => (correct += isPoly(sk.items[j] as AnyItemParams) ? 0 : r));
    skills[skill] = { theta: e.theta, se: e.se, administered: sk.items.length, correct };
  }
  const result: ScoreResult = {
    theta: overall.theta,
    se: overall.se,
    numberCorrect,
    numberAdministered: items.length,
    skills,
    trace,
  };
  if (config.classification !== undefined) result.decision = classify(config.classification, items, responses, overall, D);
  if (input.scale) {
    result.scaled = toScaledScore(overall.theta, input.scale);
    result.scaledSe = Math.abs(input.scale.slope) * overall.se;
  }
  return result;
}

/**
 * Percentile rank of `value` among `others`: 100 × (count below + ½ count equal) / N.
 * Returns null when `others` is empty.
 */
export function percentileRank(value: number, others: readonly number[]): number | null {
  if (others.length === 0) return null;
  let below = 0;
  let equal = 0;
  for (const o of others) {
    if (o < value) below++;
    else if (o === value) equal++;
  }
  return (100 * (below + 0.5 * equal)) / others.length;
}
