/**
 * Stopping rules.
 */

/** Why a test stopped. */
export type StopReason = 'max_items' | 'se_target' | 'time_limit' | 'pool_exhausted' | 'classified';

/** Input of {@link checkStop}. */
export interface StopInput {
  /** Items answered so far. */
  administeredCount: number;
  /** Current standard error of θ. */
  se: number;
  /** The SE rule cannot stop the test before this many items. */
  minItems: number;
  /** Hard maximum test length. */
  maxItems: number;
  /** Stop once SE ≤ seTarget (after minItems and content minimums). */
  seTarget?: number | undefined;
  /** Seconds left; ≤ 0 stops the test. */
  timeRemainingS?: number | undefined;
  /** Whether every skill minimum is met; the SE rule waits for it. */
  contentMinsMet: boolean;
  /** Eligible items left in the pool; 0 stops the test. */
  eligibleCount?: number | undefined;
  /** Whether a classification rule has reached pass or fail after these answers. */
  classified?: boolean | undefined;
}

/** Result of {@link checkStop}. */
export interface StopDecision {
  stop: boolean;
  reason?: StopReason;
}

/**
 * Decide whether to stop. Order: classified (a decision reached, count ≥ minItems and content
 * minimums met: the decision is what such a test is for, so it names the end even on the last
 * item), max_items (count ≥ maxItems), time_limit (timeRemainingS ≤ 0), pool_exhausted
 * (eligibleCount = 0), se_target (count ≥ minItems, content minimums met and se ≤ seTarget).
 */
export function checkStop(input: StopInput): StopDecision {
  const n = input.administeredCount;
  if (input.classified === true && n >= input.minItems && input.contentMinsMet) return { stop: true, reason: 'classified' };
  if (n >= input.maxItems) return { stop: true, reason: 'max_items' };
  if (input.timeRemainingS !== undefined && input.timeRemainingS <= 0) return { stop: true, reason: 'time_limit' };
  if (input.eligibleCount !== undefined && input.eligibleCount <= 0) return { stop: true, reason: 'pool_exhausted' };
  if (
    input.seTarget !== undefined &&
    n >= input.minItems &&
    input.contentMinsMet &&
    Number.isFinite(input.se) &&
    input.se <= input.seTarget
  ) {
    return { stop: true, reason: 'se_target' };
  }
  return { stop: false };
}
