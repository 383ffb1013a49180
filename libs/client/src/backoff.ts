import type { ServerFrame } from '@ap/protocol';

/**
 * Error codes after which the same request may be sent again after a pause: the service was busy,
 * unreachable or failed. Requests are idempotent (an answer sent twice is stored once), so a
 * retry is safe; what matters is that many clients do not retry at once, or forever.
 */
export const RETRYABLE_CODES: ReadonlySet<string> = new Set(['SERVICE_UNAVAILABLE', 'TIMEOUT', 'RATE_LIMITED', 'INTERNAL']);

export { retryDelayMs } from '@ap/protocol';
export type { BackoffOptions } from '@ap/protocol';

/** The `retry_after_ms` of an error frame (RATE_LIMITED names one), if it has one. */
export function retryAfterOf(frame: ServerFrame): number | undefined {
  if (frame.type !== 'error') return undefined;
  const value = frame.data.details?.['retry_after_ms'];
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}
