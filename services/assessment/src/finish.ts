import type { CompletionReason } from '@ap/protocol';
import type { Context } from './context.ts';
import { MAX_RETRIES } from './context.ts';
import type { Change } from './repository.ts';
import { deadlineStep } from './rules.ts';
import { computeResult } from './selection.ts';
import type { LoadedTest } from './selection.ts';
import type { AssessmentDoc, LogEntry, ResultDoc } from './store.ts';
import { completedView, gradeOf } from './views.ts';

export type FinalStatus = 'completed' | 'expired' | 'abandoned' | 'terminated';

/** The result of what was answered, with the percentile rank where there is a θ. */
export async function scoreOf(
  ctx: Context,
  a: AssessmentDoc,
  test: LoadedTest,
  responses: AssessmentDoc['responses'],
  status: FinalStatus,
): Promise<ResultDoc> {
  const result: ResultDoc = {
    ...computeResult(test, responses),
    incidents: a.incidents?.length ?? 0,
    ...(a.accommodations === undefined ? {} : { accommodations: a.accommodations }),
  };
  if (status === 'terminated' || result.theta === undefined || result.answered === 0) return result;
  return { ...result, percentile: await ctx.percentiles.rank(a.test_id, result.theta) };
}

/** The fields that end an assessment. */
export function finishing(status: FinalStatus, reason: CompletionReason, finishedAt: Date, result: ResultDoc, now: Date): Change['set'] {
  return { status, reason, finished_at: finishedAt, current: null, result, updated_at: now };
}

/** Moves an assessment to a final status; null when another writer changed it first. */
export async function finalize(
  ctx: Context,
  a: AssessmentDoc,
  test: LoadedTest,
  status: FinalStatus,
  reason: CompletionReason,
  finishedAt: Date,
  options: { pushToCandidate?: boolean; log?: LogEntry } = {},
): Promise<AssessmentDoc | null> {
  const result = await scoreOf(ctx, a, test, a.responses, status);
  const next = await ctx.repo.append(a, {
    set: finishing(status, reason, finishedAt, result, ctx.clock()),
    ...(options.log === undefined ? {} : { log: options.log }),
  });
  if (next !== null) await afterFinish(ctx, next, test, options.pushToCandidate ?? false);
  return next;
}

/** What follows the end of an assessment: the score for percentiles, the application, the event, the push. */
export async function afterFinish(ctx: Context, a: AssessmentDoc, test: LoadedTest, pushToCandidate: boolean): Promise<void> {
  // Independent writes, sent together.
  const theta = a.result?.theta;
  await Promise.all([
    (a.status === 'completed' || a.status === 'expired') && theta !== undefined && (a.result?.answered ?? 0) > 0
      ? ctx.percentiles.add(a.test_id, a._id, theta)
      : undefined,
    a.application_id === null
      ? undefined
      : ctx.col.applications.updateOne({ _id: a.application_id }, { $set: { status: a.status, updated_at: ctx.clock() } }),
  ]);
  const view = completedView(a, test);
  const grade = gradeOf(a, test);
  ctx.emit(a.status === 'completed' ? 'completed' : 'expired', `${a._id}:finished`, {
    ...view,
    candidate_id: a.candidate_id,
    test_id: a.test_id,
    ...(grade === undefined ? {} : { grade }),
  });
  if (pushToCandidate) ctx.push(a, 'assessment_completed', view);
  ctx.metrics?.assessmentFinished(a.status);
  ctx.log.info({ assessment_id: a._id, status: a.status, reason: a.reason, answered: a.responses.length }, 'assessment finished');
}

/**
 * Applies the test's policy once the deadline has passed: `autosubmit` finalizes with what was
 * answered (status `expired`, finish time = the deadline even if the candidate was away);
 * `grace` moves to `overdue` (the candidate may still submit) and, after the grace period, to
 * `abandoned`. The candidate is told by a push.
 */
export async function settleDeadline(ctx: Context, a: AssessmentDoc, test: LoadedTest, now: Date): Promise<AssessmentDoc> {
  for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
    const step = deadlineStep(a, test.doc, now);
    let next: AssessmentDoc | null;
    if (step === 'none') return a;
    if (step === 'expire') {
      next = await finalize(ctx, a, test, 'expired', 'time_limit', a.deadline, { pushToCandidate: true });
    } else if (step === 'abandon') {
      next = await finalize(ctx, a, test, 'abandoned', 'time_limit', a.deadline, { pushToCandidate: true });
    } else {
      next = await ctx.repo.append(a, { set: { status: 'overdue', current: null, updated_at: now } });
      if (next !== null) {
        ctx.bus.publish('pushToUser', a.candidate_id, {
          type: 'time_warning',
          data: { assessment_id: a._id, time_remaining_s: 0 },
          assessment_id: a._id,
        });
      }
    }
    if (next !== null) return next;
    a = await ctx.repo.refresh(a);
  }
  return a;
}
