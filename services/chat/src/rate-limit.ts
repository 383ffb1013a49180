import type { Clock } from '@ap/protocol';

/** Settings of a token bucket: `burst` tokens at most, refilled at `refillPerSecond`. */
export type RateLimitSettings = { burst: number; refillPerSecond: number };

/** Per-key token buckets held in memory; each replica limits on its own. */
export type RateLimiter = {
  /** Takes one token for `key`; returns 0 when allowed, else the milliseconds until a token is available. */
  take(key: string): number;
  /** Number of keys currently tracked. */
  size(): number;
};

type Bucket = { tokens: number; updatedMs: number };

/** Creates an in-memory token-bucket limiter; buckets that have refilled completely are forgotten. */
export function createRateLimiter(settings: RateLimitSettings, clock: Clock, options: { maxKeys?: number } = {}): RateLimiter {
  const { burst, refillPerSecond } = settings;
  const maxKeys = options.maxKeys ?? 10_000;
  const buckets = new Map<string, Bucket>();
  const fullAfterMs = (burst / refillPerSecond) * 1000;

  function prune(nowMs: number): void {
    for (const [key, bucket] of buckets) {
      if (nowMs - bucket.updatedMs >= fullAfterMs) buckets.delete(key);
    }
  }

  function take(key: string): number {
    const nowMs = clock().getTime();
    if (buckets.size >= maxKeys) prune(nowMs);
    const bucket = buckets.get(key) ?? { tokens: burst, updatedMs: nowMs };
    const elapsedMs = Math.max(0, nowMs - bucket.updatedMs);
    const tokens = Math.min(burst, bucket.tokens + (elapsedMs / 1000) * refillPerSecond);
    if (tokens < 1) {
      buckets.set(key, { tokens, updatedMs: nowMs });
      return Math.ceil(((1 - tokens) / refillPerSecond) * 1000);
    }
    buckets.set(key, { tokens: tokens - 1, updatedMs: nowMs });
    return 0;
  }

  return { take, size: () => buckets.size };
}
