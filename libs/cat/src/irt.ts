/**
 * Item response theory models: 1PL/2PL/3PL logistic models and Fisher information.
 */

/** Parameters of a dichotomous 3PL item (2PL: c = 0; 1PL: a = 1, c = 0). */
export interface ItemParams {
  /** Discrimination (> 0). */
  a: number;
  /** Difficulty (location on the θ scale). */
  b: number;
  /** Pseudo-guessing lower asymptote in [0, 1). */
  c: number;
}

/** Default scaling constant D (1 = logistic metric; use 1.702 for the normal-ogive metric). */
export const DEFAULT_D = 1;

/** Lower and upper θ bounds used by the estimators (quadrature range, MLE clamp). */
export const THETA_MIN = -4;
/** Upper θ bound used by the estimators (quadrature range, MLE clamp). */
export const THETA_MAX = 4;

/** Standard logistic function 1 / (1 + exp(−x)), overflow-safe. */
export function logistic(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** log(1 + exp(x)) computed without overflow. */
export function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/** 3PL probability of a correct answer: c + (1 − c) / (1 + exp(−D·a·(θ − b))). */
export function prob3pl(theta: number, a: number, b: number, c: number, D: number = DEFAULT_D): number {
  return c + (1 - c) * logistic(D * a * (theta - b));
}

/** 2PL probability of a correct answer (3PL with c = 0). */
export function prob2pl(theta: number, a: number, b: number, D: number = DEFAULT_D): number {
  return logistic(D * a * (theta - b));
}

/** 1PL (Rasch-type) probability of a correct answer (a = 1, c = 0). */
export function prob1pl(theta: number, b: number, D: number = DEFAULT_D): number {
  return logistic(D * (theta - b));
}

/** Probability of a correct answer for an item under the 3PL model. */
export function probability(item: ItemParams, theta: number, D: number = DEFAULT_D): number {
  return prob3pl(theta, item.a, item.b, item.c, D);
}

/**
 * Fisher information of a 3PL item at θ:
 * I(θ) = D²a² · (Q/P) · ((P − c)/(1 − c))².
 */
export function info3pl(theta: number, a: number, b: number, c: number, D: number = DEFAULT_D): number {
  const L = logistic(D * a * (theta - b));
  const p = c + (1 - c) * L;
  if (p <= 0) return 0;
  const da = D * a;
  return (da * da * (1 - c) * (1 - L) * L * L) / p;
}

/** Fisher information of an item at θ (3PL formula; covers 2PL/1PL). */
export function information(item: ItemParams, theta: number, D: number = DEFAULT_D): number {
  return info3pl(theta, item.a, item.b, item.c, D);
}

/** Test information (sum of item informations) at θ. */
export function testInformation(items: readonly ItemParams[], theta: number, D: number = DEFAULT_D): number {
  let s = 0;
  for (const it of items) s += info3pl(theta, it.a, it.b, it.c, D);
  return s;
}

/** Difficulty labels recognised by {@link paramsFromLabel}. */
export type DifficultyLabel = 'easy' | 'medium' | 'hard';

const LABEL_B: Record<DifficultyLabel, number> = { easy: -1, medium: 0, hard: 1 };

/**
 * Default IRT parameters for an uncalibrated item from its difficulty label:
 * a = 1, b = −1 / 0 / +1 for easy / medium / hard (unknown labels → medium),
 * c = 1 / optionCount (blind guessing; 0 when optionCount < 2).
 */
export function paramsFromLabel(label: DifficultyLabel | (string & {}), optionCount: number): ItemParams {
  const b = Object.hasOwn(LABEL_B, label) ? LABEL_B[label as DifficultyLabel] : 0;
  const c = Number.isFinite(optionCount) && optionCount >= 2 ? 1 / Math.floor(optionCount) : 0;
  return { a: 1, b, c };
}
