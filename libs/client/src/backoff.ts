import type { ServerFrame } from '@ap/protocol';

/**
 * Error codes after which the same request may be sent again after a pause: the service was busy,
 * unreachable or failed. Requests are idempotent (an answer sent twice is stored once), so a
 * retry is safe; what matters is that many clients do not retry at once, or forever.
 */
export const RETRYABLE_CODES: ReadonlySet<string> = new Set(['SERVICE_UNAVAILABLE', 'TIMEOUT', 'RATE_LIMITED', 'INTERNAL']);

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

/** The `retry_after_ms` of an error frame (RATE_LIMITED names one), if it has one. */
export function retryAfterOf(frame: ServerFrame): number | undefined {
  if (frame.type !== 'error') return undefined;
  const value = frame.data.details?.['retry_after_ms'];
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}
