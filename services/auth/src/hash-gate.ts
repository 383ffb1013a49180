import { AppError } from '@ap/protocol';

/** Limits of password hashing in one process. */
export type HashGateLimits = {
  /** Hashes running at once (scrypt runs on libuv's thread pool, four threads by default, which signing shares). */
  concurrency: number;
  /** Hashes waiting for a slot; beyond that a request is refused at once. */
  queue: number;
  /** Hashes running or waiting for one key (a client address, an account); beyond that it is refused. */
  perKey: number;
};

/** Runs password hashing with bounded concurrency, a short queue, and a share per key. */
export type HashGate = {
  /** Runs `work` when a slot is free; throws RATE_LIMITED when the queue or a key's share is full. */
  run<T>(keys: readonly string[], work: () => Promise<T>): Promise<T>;
  /** Hashes running and waiting now. */
  load(): { running: number; waiting: number };
};

// What a refused caller is told to wait: a few hashes' time, not a throttle window.
const RETRY_AFTER_MS = 1000;

/**
 * Creates a gate. Wrong passwords cost as much to check as right ones, so a flood of them must
 * not take every thread: a few hashes run at once, a few wait, one key may hold only `perKey` of
 * them, and the rest are refused at once (RATE_LIMITED) instead of queueing into timeouts.
 */
export function createHashGate(limits: HashGateLimits): HashGate {
  let running = 0;
  const waiting: Array<() => void> = [];
  const held = new Map<string, number>();

  function refuse(message: string): AppError {
    return new AppError('RATE_LIMITED', message, { details: { retry_after_ms: RETRY_AFTER_MS } });
  }

  function release(keys: readonly string[]): void {
    for (const key of keys) {
      const n = (held.get(key) ?? 1) - 1;
      if (n <= 0) held.delete(key);
      else held.set(key, n);
    }
  }

  return {
    async run(keys, work) {
      if (keys.some((k) => (held.get(k) ?? 0) >= limits.perKey)) throw refuse('too many sign-in attempts at once; try again shortly');
      if (running >= limits.concurrency && waiting.length >= limits.queue)
        throw refuse('too many sign-ins are being checked; try again shortly');
      for (const key of keys) held.set(key, (held.get(key) ?? 0) + 1);
      try {
        if (running >= limits.concurrency) await new Promise<void>((resolve) => waiting.push(resolve));
        else running += 1;
        try {
          return await work();
        } finally {
          // Hand the slot straight to the next waiter, so `running` never drops below what runs.
          const next = waiting.shift();
          if (next === undefined) running -= 1;
          else next();
        }
      } finally {
        release(keys);
      }
    },
    load: () => ({ running, waiting: waiting.length }),
  };
}
