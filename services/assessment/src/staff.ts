import { AppError } from '@ap/protocol';
import type { Context, HandlerTable } from './context.ts';
import { MAX_RETRIES } from './context.ts';
import { finalize } from './finish.ts';
import { liveView, resultRow } from './live.ts';
import { found } from './repository.ts';
import { waitingRequests } from './start-approval.ts';
import { checkAccess, FINAL, isFinal, isOpen, notActive, secondsLeft, staffMaySee } from './rules.ts';
import type { AssessmentDoc } from './store.ts';

/** What proctors, recruiters and admins do: extra time, pause, resume, terminate, the live feed, results. */
export function staffHandlers(ctx: Context): HandlerTable {
  const { repo, clock, col } = ctx;

  return {
    /** Adds time to one candidate's deadline; recorded with who and when. A retried command (same key) adds nothing. */
    async assessmentExtraTime(req) {
      let a = checkAccess(req.caller, found(await repo.fresh(req.assessment_id), req.assessment_id));
      for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
        if (!isOpen(a.status)) throw notActive(a, `the assessment is ${a.status}`);
        const now = clock();
        if (req.key !== undefined && a.log.some((e) => e.type === 'extra_time' && e['key'] === req.key)) {
          return { assessment_id: a._id, deadline: a.deadline.toISOString(), time_remaining_s: secondsLeft(a, now), status: a.status };
        }
        const deadline = new Date(a.deadline.getTime() + req.seconds * 1000);
        const status = a.status === 'overdue' && deadline.getTime() > now.getTime() ? 'in_progress' : a.status;
        const entry = {
          type: 'extra_time',
          by: req.caller.user_id,
          role: req.caller.role,
          at: now,
          seconds: req.seconds,
          reason: req.reason,
          ...(req.key === undefined ? {} : { key: req.key }),
        };
        const next = await repo.append(a, { set: { deadline, status, updated_at: now }, log: entry });
        if (next === null) {
          a = await repo.refresh(a);
          continue;
        }
        const left = secondsLeft(next, now);
        ctx.push(a, 'time_extended', {
          assessment_id: a._id,
          deadline: deadline.toISOString(),
          time_remaining_s: left,
          extra_s: req.seconds,
        });
        ctx.log.info({ assessment_id: a._id, seconds: req.seconds, by: req.caller.user_id }, 'extra time given');
        return { assessment_id: a._id, deadline: deadline.toISOString(), time_remaining_s: left, status: next.status };
      }
      throw new AppError('CONFLICT', 'the assessment changed concurrently; try again');
    },

    /** Pause, resume or terminate (recorded with who and when); the candidate is told by a push. */
    async assessmentCommand(req) {
      let a = checkAccess(req.caller, found(await repo.fresh(req.assessment_id), req.assessment_id));
      const test = await ctx.getTest(a.test_id);
      for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
        const now = clock();
        const entry = { type: req.command, by: req.caller.user_id, role: req.caller.role, at: now, reason: req.reason };
        let next: AssessmentDoc | null;
        if (req.command === 'pause') {
          if (a.status !== 'in_progress') throw notActive(a, `cannot pause: the assessment is ${a.status}`);
          next = await repo.append(a, { set: { status: 'paused', paused_at: now, updated_at: now }, log: entry });
          if (next !== null) ctx.push(a, 'assessment_paused', { assessment_id: a._id, reason: req.reason });
        } else if (req.command === 'resume') {
          if (a.status !== 'paused') throw notActive(a, `cannot resume: the assessment is ${a.status}`);
          // The clock stopped while paused: the deadline moves by the paused time.
          const pausedMs = now.getTime() - (a.paused_at ?? now).getTime();
          const deadline = new Date(a.deadline.getTime() + pausedMs);
          next = await repo.append(a, { set: { status: 'in_progress', paused_at: null, deadline, updated_at: now }, log: entry });
          if (next !== null)
            ctx.push(a, 'assessment_resumed', {
              assessment_id: a._id,
              deadline: deadline.toISOString(),
              time_remaining_s: secondsLeft(next, now),
            });
        } else {
          if (!isOpen(a.status)) throw notActive(a, `the assessment is ${a.status}`);
          next = await finalize(ctx, a, test, 'terminated', 'terminated', now, { pushToCandidate: true, log: entry });
        }
        if (next === null) {
          a = await repo.refresh(a);
          continue;
        }
        ctx.log.info({ assessment_id: a._id, command: req.command, by: req.caller.user_id }, 'staff command applied');
        return {
          assessment_id: a._id,
          status: next.status,
          deadline: next.deadline.toISOString(),
          time_remaining_s: secondsLeft(next, now),
        };
      }
      throw new AppError('CONFLICT', 'the assessment changed concurrently; try again');
    },

    /**
     * The live rows of the unfinished assessments a staff member may watch. Scans the small
     * `assessments_active` collection (not the hot path), then reads each assessment as it stands.
     */
    async assessmentLive(req) {
      const { caller } = req;
      if (req.test_id !== undefined && !staffMaySee(caller, req.test_id)) throw new AppError('FORBIDDEN', 'not allowed to watch this test');
      const filter =
        req.test_id !== undefined
          ? { test_id: req.test_id }
          : caller.role === 'admin' || caller.tests === undefined
            ? {}
            : { test_id: { $in: caller.tests } };
      const rows = await col.active
        .find(filter, { projection: { _id: 1 } })
        .limit(req.limit)
        .toArray();
      const docs = await Promise.all(rows.map((r) => repo.fresh(r._id)));
      const now = clock();
      const assessments = docs
        .filter((a): a is AssessmentDoc => a !== null && !isFinal(a.status))
        .sort((x, y) => x.started_at.getTime() - y.started_at.getTime())
        .map((a) => liveView(a, ctx.online.isOnline(a._id, now.getTime()), now));
      return { assessments, start_requests: await waitingRequests(ctx, filter, req.limit) };
    },

    /**
     * A page of a test's results for recruiters. Filters on `test_id` and `status`, which FerretDB
     * answers by reading the whole collection: a page read, never on the answer path.
     */
    async assessmentResults(req) {
      const { caller } = req;
      // The roles (recruiters, admins) are checked by the bus; the test scope here.
      if (!staffMaySee(caller, req.test_id)) throw new AppError('FORBIDDEN', 'only recruiters and admins of this test read its results');
      const filter = {
        test_id: req.test_id,
        ...(req.include_unfinished ? {} : { status: { $in: [...FINAL] } }),
        ...(req.after === undefined ? {} : { _id: { $gt: req.after } }),
      };
      const docs = await col.assessments
        .find(filter, { projection: req.include_unfinished ? { log: 0, seed: 0 } : { responses: 0, log: 0, seed: 0 } })
        .sort({ _id: 1 })
        .limit(req.limit + 1)
        .toArray();
      // The snapshot of an unfinished assessment does not follow its answers: read those as they stand.
      const current = await Promise.all(
        docs.slice(0, req.limit).map(async (a) => (isFinal(a.status) ? a : ((await repo.fresh(a._id)) ?? a))),
      );
      // Without the responses in the projection, the stored result holds the count.
      const page = current.map((a) =>
        resultRow({ ...a, responses: (a.responses as AssessmentDoc['responses'] | undefined) ?? [], log: [] }),
      );
      return { results: page, next_cursor: docs.length > req.limit ? (page.at(-1)?.assessment_id ?? null) : null };
    },
  };
}
