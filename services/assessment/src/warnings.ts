import type { Context } from './context.ts';
import { secondsLeft } from './rules.ts';
import type { AssessmentDoc } from './store.ts';

/**
 * Time warnings, sent by the service that owns the clock: at each of the test's points
 * (`time_warnings_s`) before the deadline, while the assessment runs, as a `time_warning` push.
 *
 * Each replica keeps a timer for the assessments it wrote or was told are online (presence); when
 * one fires, the replica reads the assessment and records the warning as an event before pushing
 * it. That insert is unique per version, so when several replicas hold a timer for the same
 * assessment exactly one of them sends the warning; a replica that stops is replaced by the next
 * that writes the assessment or receives its presence. A deadline moved by extra time gets its
 * warnings again (the record names the deadline); a pause cancels them until the resume.
 */
export type WarningScheduler = {
  /** Schedules the next warning of `a` (or cancels its timer when it is not running). */
  ensure(a: AssessmentDoc): Promise<void>;
  /** Schedules warnings for assessments known to be online, reading those this replica does not hold. */
  ensureIds(ids: readonly string[]): Promise<void>;
  /** Timers held (for tests and metrics). */
  size(): number;
  close(): void;
};

/** A point missed by less than this (a replica that just started, a slow read) is still sent. */
const LATE_MS = 5000;

/** Settled assessments remembered per replica (a write of any of them schedules it again). */
const SETTLED_KEPT = 50_000;

/** The record of a warning sent: its point and the deadline it counted down to. */
export function warningKey(pointS: number, deadline: Date): string {
  return `${pointS}@${deadline.toISOString()}`;
}

/** The next warning to send: the point whose time comes first among those not sent and not long past. */
export function nextWarning(a: AssessmentDoc, pointsS: readonly number[], nowMs: number): { pointS: number; atMs: number } | undefined {
  if (a.status !== 'in_progress' || (a.paused_at ?? null) !== null) return undefined;
  const sent = new Set(a.warnings_sent ?? []);
  let next: { pointS: number; atMs: number } | undefined;
  for (const pointS of pointsS) {
    const atMs = a.deadline.getTime() - pointS * 1000;
    if (atMs < nowMs - LATE_MS || sent.has(warningKey(pointS, a.deadline))) continue;
    if (next === undefined || atMs < next.atMs) next = { pointS, atMs };
  }
  return next;
}

export function createWarnings(ctx: Context): WarningScheduler {
  const timers = new Map<string, { key: string; timer: NodeJS.Timeout }>();
  /** Assessments with no warning left to send, so that presence does not read them again. */
  const settled = new Set<string>();

  function cancel(id: string): void {
    const held = timers.get(id);
    if (held === undefined) return;
    clearTimeout(held.timer);
    timers.delete(id);
  }

  async function ensure(a: AssessmentDoc): Promise<void> {
    const test = await ctx.getTest(a.test_id);
    const now = ctx.clock().getTime();
    const next = nextWarning(a, test.doc.time_warnings_s, now);
    if (next === undefined) {
      cancel(a._id);
      if (settled.size >= SETTLED_KEPT) settled.clear();
      settled.add(a._id);
      return;
    }
    settled.delete(a._id);
    const key = warningKey(next.pointS, a.deadline);
    if (timers.get(a._id)?.key === key) return;
    cancel(a._id);
    const timer = setTimeout(
      () => {
        timers.delete(a._id);
        fire(a._id, next.pointS).catch((err: unknown) => ctx.log.warn({ err, assessment_id: a._id }, 'time warning not sent'));
      },
      Math.min(Math.max(0, next.atMs - now), 2 ** 31 - 1),
    );
    timer.unref();
    timers.set(a._id, { key, timer });
  }

  async function fire(id: string, pointS: number): Promise<void> {
    let a = await ctx.repo.fresh(id);
    for (let attempt = 0; a !== null && attempt < 4; attempt++) {
      const test = await ctx.getTest(a.test_id);
      const due = nextWarning(a, test.doc.time_warnings_s, ctx.clock().getTime());
      // Paused, finished, given more time, or sent by another replica meanwhile: plan again.
      if (due?.pointS !== pointS || due.atMs > ctx.clock().getTime()) return ensure(a);
      const now = ctx.clock();
      const written = await ctx.repo.append(a, {
        set: { warnings_sent: [...(a.warnings_sent ?? []), warningKey(pointS, a.deadline)], updated_at: now },
      });
      if (written !== null) {
        ctx.push(written, 'time_warning', { assessment_id: id, time_remaining_s: secondsLeft(written, now) });
        return ensure(written);
      }
      a = await ctx.repo.refresh(a);
    }
  }

  return {
    ensure,
    async ensureIds(ids) {
      for (const id of ids) {
        if (timers.has(id) || settled.has(id)) continue;
        const a = await ctx.repo.cached(id);
        if (a !== null) await ensure(a);
      }
    },
    size: () => timers.size,
    close() {
      for (const { timer } of timers.values()) clearTimeout(timer);
      timers.clear();
      settled.clear();
    },
  };
}
