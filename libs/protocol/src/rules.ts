import type { AssessmentStatus, Caller } from './common.ts';

/**
 * The platform's shared rules: every service and the gateway decide these questions here, so that
 * one answer holds everywhere.
 */

/** A source of the current time, injected so that time-dependent code is testable. */
export type Clock = () => Date;

/** The wall clock. */
export const systemClock: Clock = () => new Date();

/** Statuses in which the candidate is still taking the test (the clock stands still while paused). */
export const ACTIVE_STATUSES: readonly AssessmentStatus[] = ['in_progress', 'paused'];
/** Statuses after which nothing changes. */
export const FINAL_STATUSES: readonly AssessmentStatus[] = ['completed', 'expired', 'abandoned', 'terminated'];

export function isActive(status: AssessmentStatus): boolean {
  return ACTIVE_STATUSES.includes(status);
}

export function isFinal(status: AssessmentStatus): boolean {
  return FINAL_STATUSES.includes(status);
}

/** Taking it, paused, or past the deadline in its grace period: started and not finished. */
export const OPEN_STATUSES: readonly AssessmentStatus[] = ['in_progress', 'paused', 'overdue'];

export function isOpen(status: AssessmentStatus): boolean {
  return OPEN_STATUSES.includes(status);
}

/** What {@link secondsLeft} needs of an assessment. */
export type Countdown = { deadline: Date; status?: AssessmentStatus; paused_at?: Date | null };

/**
 * Whole seconds left before the deadline. While paused the clock stands still at the moment of
 * the pause, so every frame of a paused assessment reports the same number.
 */
export function secondsLeft(a: Countdown, now: Date): number {
  const at = a.status === 'paused' && a.paused_at ? a.paused_at : now;
  return Math.max(0, Math.floor((a.deadline.getTime() - at.getTime()) / 1000));
}

/** Whether a staff member may see a test: admins and staff without a scope see every test, others those in their `tests`. */
export function staffMaySee(caller: Caller, testId: string): boolean {
  if (caller.role === 'candidate') return false;
  return caller.role === 'admin' || caller.tests === undefined || caller.tests.includes(testId);
}

/** Whether a staff member may see every one of `tests`. */
export function staffMaySeeAll(caller: Caller, tests: readonly string[]): boolean {
  return tests.every((t) => staffMaySee(caller, t));
}

/** Whether a candidate's token was issued for one of `tests` (its `tests` claim). */
export function candidateHolds(caller: Caller, tests: readonly string[]): boolean {
  return caller.role === 'candidate' && caller.tests !== undefined && caller.tests.some((t) => tests.includes(t));
}
