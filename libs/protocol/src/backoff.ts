/** How retries are spaced: see {@link retryDelayMs}. */
export interface BackoffOptions {
  /** The first delay's upper bound (default 250 ms). */
  baseMs?: number;
  /** The largest delay (default 10 000 ms). */
  maxMs?: number;
  /** A random source in [0, 1) (default `Math.random`). */
  random?: () => number;
}

/**
 * The pause before retry number `attempt` (1 for the first) of a request that failed: its bound
 * doubles from `baseMs` up to `maxMs`, and the delay is drawn from the bound's upper half (jitter),
 * so clients that failed together come back spread out instead of in step. Never shorter than the
 * server's `retry_after_ms`.
 */
export function retryDelayMs(attempt: number, options: BackoffOptions & { retryAfterMs?: number | undefined } = {}): number {
  const baseMs = options.baseMs ?? 250;
  const maxMs = options.maxMs ?? 10_000;
  const random = options.random ?? Math.random;
  const bound = Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(attempt, 30) - 1));
  const delay = Math.round(bound * (0.5 + random() / 2));
  return Math.max(delay, options.retryAfterMs ?? 0);
}
