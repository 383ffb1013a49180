import type { Logger } from '@ap/logging';

/** Something that must be closed on shutdown. */
export type Closable = { name: string; close(): Promise<void> | void };

/**
 * Runs `start`, then on SIGTERM or SIGINT closes what it returned in reverse order of start,
 * each within the remaining time of `timeoutMs`, and exits (0 when everything closed in time).
 */
export async function runUntilSignal(options: {
  log: Logger;
  timeoutMs: number;
  start: () => Promise<Closable[]>;
}): Promise<void> {
  const { log } = options;
  let closables: Closable[];
  try {
    closables = await options.start();
  } catch (err) {
    log.fatal({ err }, 'start-up failed');
    log.flush();
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 100).unref();
    return;
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      log.error('shutdown deadline passed; exiting');
      log.flush();
      process.exit(1);
    }, options.timeoutMs);
    timer.unref();
    void closeAll(closables, log).then((ok) => {
      log.info('stopped');
      log.flush();
      process.exit(ok ? 0 : 1);
    });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

/** Closes components in reverse order; returns false when one of them failed. */
export async function closeAll(closables: readonly Closable[], log: Logger): Promise<boolean> {
  let ok = true;
  for (const c of [...closables].reverse()) {
    try {
      await c.close();
    } catch (err) {
      ok = false;
      log.error({ err, component: c.name }, 'close failed');
    }
  }
  return ok;
}
