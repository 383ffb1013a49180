import { AppError, staffMaySee } from '@ap/protocol';
import type { Accommodations, Caller } from '@ap/protocol';
import type { AssessmentDoc } from './store.ts';

// The platform-wide rules (statuses, seconds left, staff scope) live in @ap/protocol; the ones
// below are this service's own.
export { ACTIVE_STATUSES as ACTIVE, FINAL_STATUSES as FINAL, isActive, isFinal, isOpen, secondsLeft, staffMaySee } from '@ap/protocol';

/** Seconds left in the grace period after the deadline. */
export function graceLeft(a: Pick<AssessmentDoc, 'deadline'>, graceS: number, now: Date): number {
  return Math.max(0, Math.floor((a.deadline.getTime() + graceS * 1000 - now.getTime()) / 1000));
}

/** A candidate sees their own assessments; staff the assessments of the tests they may see. */
export function checkAccess(caller: Caller, a: AssessmentDoc): AssessmentDoc {
  if (caller.role === 'candidate' ? a.candidate_id !== caller.user_id : !staffMaySee(caller, a.test_id)) {
    throw new AppError('FORBIDDEN', 'this assessment belongs to someone else');
  }
  return a;
}

/** ASSESSMENT_NOT_ACTIVE with the status, so that a client can tell a pause from the end. */
export function notActive(a: AssessmentDoc, message: string): AppError {
  return new AppError('ASSESSMENT_NOT_ACTIVE', message, { details: { assessment_id: a._id, status: a.status } });
}

/** TIME_EXPIRED in the grace period, with the seconds left to send end_assessment. */
export function overdueError(a: AssessmentDoc, graceS: number, now: Date): AppError {
  const left = graceLeft(a, graceS, now);
  return new AppError('TIME_EXPIRED', `the time is up; send end_assessment within ${left} s to submit what you answered`, {
    details: { status: 'overdue', grace_remaining_s: left },
  });
}

/** What the deadline policy does to an assessment at `now`, if anything. */
export type DeadlineStep = 'none' | 'expire' | 'overdue' | 'abandon';

export function deadlineStep(
  a: Pick<AssessmentDoc, 'status' | 'deadline'>,
  policy: { on_expiry: 'autosubmit' | 'grace'; grace_s: number },
  now: Date,
): DeadlineStep {
  const pastDeadline = now.getTime() > a.deadline.getTime();
  const pastGrace = now.getTime() > a.deadline.getTime() + policy.grace_s * 1000;
  if (a.status === 'in_progress' && pastDeadline && policy.on_expiry === 'autosubmit') return 'expire';
  if ((a.status === 'in_progress' || a.status === 'overdue') && pastGrace && policy.on_expiry === 'grace') return 'abandon';
  if (a.status === 'in_progress' && pastDeadline && policy.on_expiry === 'grace') return 'overdue';
  return 'none';
}

/** A test's time limit with a candidate's accommodations: limit × multiplier + extra seconds, in whole seconds. */
export function accommodatedLimitS(limitS: number, accommodations: Accommodations | undefined): number {
  if (accommodations === undefined) return limitS;
  return Math.round(limitS * accommodations.time_multiplier) + accommodations.extra_seconds;
}
