import type { Context, HandlerTable } from './context.ts';
import { finalize, settleDeadline } from './finish.ts';
import { isFinal, isOpen } from './rules.ts';
import type { AssessmentDoc } from './store.ts';

/** Presence rows not refreshed for this long are removed by the sweep. */
const PRESENCE_RETENTION_MS = 24 * 3600 * 1000;
/**
 * Presence rows written per database command. FerretDB 1.24 on SQLite holds a connection of its
 * pool (100) for every update of a command until the command ends, and one more for each
 * update's transaction: a command of n updates needs up to n + 1 connections at once.
 */
const PRESENCE_CHUNK = 5;

/** What the platform itself asks for: the deadline and idleness sweeps (cleanup calls them as admin). */
export function systemHandlers(ctx: Context): HandlerTable {
  const { repo, clock, col } = ctx;

  async function loadAll(ids: readonly string[]): Promise<AssessmentDoc[]> {
    const docs = await Promise.all(ids.map((id) => repo.fresh(id)));
    return docs.filter((a): a is AssessmentDoc => a !== null);
  }

  return {
    async assessmentExpireDue(req) {
      const now = clock();
      // The sweep row is written when the deadline changes; the assessment itself decides.
      const dueIds = await col.active
        .find({ status: { $in: ['in_progress', 'overdue'] }, deadline: { $lt: now } }, { projection: { _id: 1 } })
        .sort({ deadline: 1 })
        .limit(req.limit)
        .toArray();
      const expired: { assessment_id: string; candidate_id: string }[] = [];
      for (const a of await loadAll(dueIds.map((d) => d._id))) {
        const after = await settleDeadline(ctx, a, await ctx.getTest(a.test_id), now);
        if (after.status !== a.status) expired.push({ assessment_id: a._id, candidate_id: a.candidate_id });
      }
      if (expired.length > 0) ctx.log.info({ count: expired.length }, 'expired assessments past their deadline');
      return { expired };
    },

    /** Abandons in-progress assessments of tests that set `abandon_after_s` whose candidate has had no live connection for that long. */
    async assessmentAbandonIdle(req) {
      const now = clock();
      const strict = await col.tests.find({ abandon_after_s: { $exists: true } }, { projection: { _id: 1, abandon_after_s: 1 } }).toArray();
      const abandoned: { assessment_id: string; candidate_id: string }[] = [];
      for (const t of strict) {
        if (t.abandon_after_s === undefined) continue;
        const cutoff = new Date(now.getTime() - t.abandon_after_s * 1000);
        const running = await col.active
          .find({ test_id: t._id, status: 'in_progress', started_at: { $lt: cutoff } }, { projection: { _id: 1 } })
          .toArray();
        const seen = await col.presence
          .find({ _id: { $in: running.map((r) => r._id) }, last_seen_at: { $gte: cutoff } }, { projection: { _id: 1 } })
          .toArray();
        const live = new Set(seen.map((p) => p._id));
        const idleIds = running
          .map((r) => r._id)
          .filter((id) => !live.has(id))
          .slice(0, req.limit - abandoned.length);
        const test = await ctx.getTest(t._id);
        for (const a of await loadAll(idleIds)) {
          if (a.status !== 'in_progress') continue;
          const done = await finalize(ctx, a, test, 'abandoned', 'abandoned', now, { pushToCandidate: true });
          if (done !== null) abandoned.push({ assessment_id: a._id, candidate_id: a.candidate_id });
        }
        if (abandoned.length >= req.limit) break;
      }
      if (abandoned.length > 0) ctx.log.info({ count: abandoned.length }, 'abandoned idle assessments');
      // Old presence rows go: a live connection refreshes its row every few seconds.
      const dropped = await col.presence.deleteMany({ last_seen_at: { $lt: new Date(now.getTime() - PRESENCE_RETENTION_MS) } });
      if (dropped.deletedCount > 0) ctx.log.info({ count: dropped.deletedCount }, 'old presence entries dropped');
      return { abandoned };
    },
  };
}

/** Records the presence batches of the gateways (see {@link createPresenceWriter}). */
export type PresenceWriter = {
  /** Records that `gatewayId` holds a connection for each of `ids` now; resolves once that (or a later batch of it) is written. */
  record(gatewayId: string, ids: readonly string[]): Promise<void>;
};

/**
 * Records which assessments each gateway holds a connection for (one replica per batch), one
 * write at a time. Batches arrive every few seconds from every gateway whatever the database's
 * pace; while a write runs, a gateway's newer batch replaces its waiting one (it says all the
 * older one said, later). Written concurrently, they deadlocked FerretDB 1.24: twenty
 * overlapping commands of twenty updates took every connection of its SQLite pool, each waiting
 * for one more, and every later command (answers, sweeps) waited for ever.
 */
export function createPresenceWriter(deps: Pick<Context, 'col' | 'clock' | 'log'>): PresenceWriter {
  const waiting = new Map<string, { ids: readonly string[]; done: Array<{ resolve: () => void; reject: (err: unknown) => void }> }>();
  let writing = false;

  async function write(ids: readonly string[]): Promise<void> {
    const now = deps.clock();
    // Small commands one after another, for the same reason.
    for (let i = 0; i < ids.length; i += PRESENCE_CHUNK) {
      await deps.col.presence.bulkWrite(
        ids
          .slice(i, i + PRESENCE_CHUNK)
          .map((id) => ({ updateOne: { filter: { _id: id }, update: { $set: { last_seen_at: now } }, upsert: true } })),
        { ordered: false },
      );
    }
  }

  async function drain(): Promise<void> {
    writing = true;
    try {
      for (let next = waiting.entries().next(); next.done !== true; next = waiting.entries().next()) {
        const [gatewayId, batch] = next.value;
        waiting.delete(gatewayId);
        try {
          await write(batch.ids);
          for (const d of batch.done) d.resolve();
        } catch (err) {
          for (const d of batch.done) d.reject(err);
        }
      }
    } finally {
      writing = false;
    }
  }

  return {
    record(gatewayId, ids) {
      return new Promise<void>((resolve, reject) => {
        const earlier = waiting.get(gatewayId);
        waiting.set(gatewayId, { ids, done: [...(earlier?.done ?? []), { resolve, reject }] });
        if (!writing) void drain();
      });
    },
  };
}

/** Tells proctors when a candidate comes or goes (one replica per event). */
export async function connectionChanged(ctx: Context, e: { assessment_id: string; online: boolean }): Promise<void> {
  // The socket of a candidate who just finished closes: nothing to tell, and nothing to read.
  if (ctx.repo.knownFinal(e.assessment_id)) return;
  const a = await ctx.repo.fresh(e.assessment_id);
  if (a === null || isFinal(a.status)) return;
  ctx.publishLive(a, e.online);
}

/** Incidents kept per assessment; more are counted no further. */
export const MAX_INCIDENTS = 200;

/**
 * A candidate signed in again with their invitation code while their assessment runs: recorded
 * as an incident (on the live row, and counted in the result) so that a proctor sees a possible
 * takeover. On a test with `re_sign_in: approve` the assessment is also paused, in the same
 * write, until a proctor resumes it. One replica records each event.
 */
export async function signedInAgain(ctx: Context, e: { candidate_id: string; test_id: string; at: string }): Promise<void> {
  const attempt = await ctx.col.attempts.findOne({ _id: `${e.candidate_id}:${e.test_id}:1` });
  if (attempt === null) return;
  let a = await ctx.repo.fresh(attempt.assessment_id);
  if (a === null) return;
  const test = await ctx.getTest(a.test_id);
  for (let i = 0; i < 8; i++) {
    if (!isOpen(a.status) || (a.incidents?.length ?? 0) >= MAX_INCIDENTS) return;
    const now = ctx.clock();
    const incident = { kind: 're_sign_in', at: e.at, received_at: now };
    const hold = test.doc.re_sign_in === 'approve' && a.status === 'in_progress';
    const reason = 'signed in again with the invitation code: a proctor will resume the test';
    const next = await ctx.repo.append(
      a,
      hold
        ? {
            set: { status: 'paused', paused_at: now, updated_at: now },
            incident,
            log: { type: 'pause', by: 'system', role: 'admin', at: now, reason },
          }
        : { set: { updated_at: now }, incident },
    );
    if (next !== null) {
      if (hold) ctx.push(a, 'assessment_paused', { assessment_id: a._id, reason });
      ctx.log.info({ assessment_id: a._id, candidate_id: e.candidate_id, paused: hold }, 'candidate signed in again during the assessment');
      return;
    }
    a = await ctx.repo.refresh(a);
  }
}
