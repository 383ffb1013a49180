import { isAppError } from '@ap/protocol';
import type { Caller, ErrorCode } from '@ap/protocol';
import type { Bus } from '@ap/bus';
import type { Logger } from '@ap/logging';

/** A source of the current time, injected so that time-dependent code is testable. */
export type { Clock } from '@ap/protocol';
import type { Clock } from '@ap/protocol';

/**
 * Asks whether this replica may sweep now. The seam for a lease (NATS KV with a TTL) so that
 * only one replica sweeps at a time; the default always says yes.
 */
export type AcquireLease = () => Promise<boolean> | boolean;

/** What one sweep did. */
export type SweepReport = {
  started_at: string;
  duration_ms: number;
  /** False when another replica holds the lease and nothing was done. */
  leased: boolean;
  /** Pages requested from the assessment service. */
  pages: number;
  /** Assessments the assessment service finalized (or moved to overdue) at their deadline in this sweep. */
  expired: string[];
  /** Assessments abandoned because nobody was connected for longer than their test allows. */
  abandoned: string[];
  /** Expired invitations removed. */
  invitations_removed: number;
  /** Secondary steps that failed (the next tick tries again). */
  warnings: string[];
  /** True when the page bound stopped the sweep while full pages still came back. */
  truncated: boolean;
  /** The error that stopped the sweep early, if any; the next tick tries again. */
  error?: { code: ErrorCode | 'INTERNAL'; message: string };
};

/** Periodic sweeps that drive the owning services to finalize what is overdue. */
export type CleanupService = {
  /** Starts sweeping every `intervalMs`; a tick is skipped while a sweep runs. */
  start(): void;
  /** Runs one sweep now, or joins the one that is running; never rejects. */
  sweepOnce(): Promise<SweepReport>;
  /** Stops the timer, ends the running sweep after its current page and waits for it. */
  close(): Promise<void>;
};

/** What the cleanup service needs. */
export type CleanupServiceDeps = {
  bus: Bus;
  log: Logger;
  clock: Clock;
  intervalMs: number;
  acquireLease?: AcquireLease;
  /** Assessments asked for per request; default 100. */
  pageSize?: number;
  /** Requests per sweep at most; default 20. */
  maxPages?: number;
  /** Timeout of each request; default 15 s, as one page finalizes many assessments. */
  requestTimeoutMs?: number;
  /**
   * How long an expired invitation is kept before it is purged; default 7 days. Until then its
   * code is refused as expired (410 `INVITATION_EXPIRED`), not as unknown.
   */
  invitationRetentionS?: number;
};

/** Seven days: how long an expired invitation is kept by default. */
export const DEFAULT_INVITATION_RETENTION_S = 7 * 24 * 3600;

/** The identity cleanup uses on the bus. */
export const CLEANUP_CALLER: Caller = { user_id: 'cleanup', role: 'admin' };

/** Creates the cleanup service; nothing runs until `start()` or `sweepOnce()`. */
export function createCleanupService(deps: CleanupServiceDeps): CleanupService {
  const { bus, clock, intervalMs } = deps;
  const log = deps.log.child({ module: 'sweep' });
  const acquireLease = deps.acquireLease ?? (() => true);
  const pageSize = deps.pageSize ?? 100;
  const maxPages = deps.maxPages ?? 20;
  const requestTimeoutMs = deps.requestTimeoutMs ?? 15_000;
  const invitationRetentionS = deps.invitationRetentionS ?? DEFAULT_INVITATION_RETENTION_S;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<SweepReport> | undefined;
  let closing = false;

  async function sweep(): Promise<SweepReport> {
    const started = clock();
    const report: SweepReport = {
      started_at: started.toISOString(),
      duration_ms: 0,
      leased: false,
      pages: 0,
      expired: [],
      abandoned: [],
      invitations_removed: 0,
      warnings: [],
      truncated: false,
    };
    try {
      report.leased = await acquireLease();
      if (report.leased) {
        let full = true;
        while (full && !closing && report.pages < maxPages) {
          const page = await bus.request(
            'assessmentExpireDue',
            { caller: CLEANUP_CALLER, limit: pageSize },
            { timeoutMs: requestTimeoutMs },
          );
          report.pages += 1;
          report.expired.push(...page.expired.map((e) => e.assessment_id));
          full = page.expired.length >= pageSize;
        }
        report.truncated = full && report.pages >= maxPages;
        if (!closing) await secondary(report);
      }
    } catch (err) {
      report.error = isAppError(err)
        ? { code: err.code, message: err.message }
        : { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
    }
    report.duration_ms = clock().getTime() - started.getTime();
    logReport(report);
    return report;
  }

  /** Idle assessments and expired invitations; a failure here does not undo or block the expiry step. */
  async function secondary(report: SweepReport): Promise<void> {
    try {
      const idle = await bus.request('assessmentAbandonIdle', { caller: CLEANUP_CALLER, limit: pageSize }, { timeoutMs: requestTimeoutMs });
      report.abandoned.push(...idle.abandoned.map((a) => a.assessment_id));
    } catch (err) {
      report.warnings.push(`abandon idle: ${err instanceof Error ? err.message : String(err)}`);
    }
    try {
      const purge = await bus.request(
        'authPurgeInvitations',
        { caller: CLEANUP_CALLER, older_than_s: invitationRetentionS },
        { timeoutMs: requestTimeoutMs },
      );
      report.invitations_removed = purge.removed;
    } catch (err) {
      report.warnings.push(`purge invitations: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  function logReport(report: SweepReport): void {
    const fields = {
      pages: report.pages,
      count: report.expired.length,
      assessment_ids: report.expired,
      abandoned: report.abandoned,
      invitations_removed: report.invitations_removed,
      truncated: report.truncated,
      duration_ms: report.duration_ms,
    };
    if (report.error !== undefined) {
      log.warn({ ...fields, error: report.error }, 'sweep stopped by an error; retrying on the next tick');
    } else if (!report.leased) {
      log.debug('another replica holds the sweep lease');
    } else if (report.expired.length > 0 || report.abandoned.length > 0 || report.invitations_removed > 0 || report.truncated) {
      log.info(fields, 'sweep finished');
    } else {
      log.debug(fields, 'nothing to expire');
    }
  }

  function sweepOnce(): Promise<SweepReport> {
    if (running === undefined) {
      running = sweep().finally(() => {
        running = undefined;
      });
    }
    return running;
  }

  function tick(): void {
    if (running !== undefined) {
      log.debug('previous sweep still running; tick skipped');
      return;
    }
    void sweepOnce();
  }

  function start(): void {
    if (timer !== undefined || closing) return;
    timer = setInterval(tick, intervalMs);
    log.info({ interval_ms: intervalMs }, 'sweeps started');
  }

  async function close(): Promise<void> {
    closing = true;
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
    if (running !== undefined) await running;
  }

  return { start, sweepOnce, close };
}
