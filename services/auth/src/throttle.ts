import { isIPv4, isIPv6 } from 'node:net';
import { AppError } from '@ap/protocol';

/** At most `limit` attempts per `windowS` seconds per key, refilled evenly (a token bucket of `limit`). */
export type ThrottleRule = { limit: number; windowS: number };

/** One attempt taken from every bucket it was charged to; `refund` gives it back (the attempt did not count). */
export type Attempt = { refund(): void };

/** Per-key token buckets in this process's memory. */
export type Throttle = {
  /** Takes one attempt from the bucket of `key`; `retryAfterMs` when it has none left. */
  take(key: string): { ok: true; attempt: Attempt } | { ok: false; retryAfterMs: number };
  /** Keys currently tracked. */
  size(): number;
};

type Bucket = { tokens: number; atMs: number };

/**
 * Creates a throttle. Memory is bounded by `maxKeys`: past it, buckets that have refilled are
 * forgotten first, then the oldest.
 */
export function createThrottle(rule: ThrottleRule, options: { now: () => number; maxKeys?: number }): Throttle {
  const { now } = options;
  const maxKeys = options.maxKeys ?? 100_000;
  const perMs = rule.limit / (rule.windowS * 1000);
  const buckets = new Map<string, Bucket>();

  function refilled(bucket: Bucket, atMs: number): Bucket {
    bucket.tokens = Math.min(rule.limit, bucket.tokens + Math.max(0, atMs - bucket.atMs) * perMs);
    bucket.atMs = atMs;
    return bucket;
  }

  function forgetSome(atMs: number): void {
    for (const [key, bucket] of buckets) {
      if (refilled(bucket, atMs).tokens >= rule.limit) buckets.delete(key);
    }
    // Still full of throttled keys (a flood from very many addresses): forget the oldest tenth.
    let excess = buckets.size - Math.floor(maxKeys * 0.9);
    for (const key of buckets.keys()) {
      if (excess-- <= 0) break;
      buckets.delete(key);
    }
  }

  return {
    take(key) {
      const atMs = now();
      let bucket = buckets.get(key);
      if (bucket === undefined) {
        if (buckets.size >= maxKeys) forgetSome(atMs);
        bucket = { tokens: rule.limit, atMs };
        buckets.set(key, bucket);
      }
      refilled(bucket, atMs);
      if (bucket.tokens < 1) return { ok: false, retryAfterMs: Math.ceil((1 - bucket.tokens) / perMs) };
      bucket.tokens -= 1;
      const charged = bucket;
      let refunded = false;
      return {
        ok: true,
        attempt: {
          refund() {
            if (refunded) return;
            refunded = true;
            // The bucket may have been forgotten meanwhile; then it is full anyway.
            if (buckets.get(key) === charged) charged.tokens = Math.min(rule.limit, refilled(charged, now()).tokens + 1);
          },
        },
      };
    },
    size: () => buckets.size,
  };
}

/**
 * Takes one attempt from each `[throttle, key]` pair, all or none: when any bucket is empty the
 * others are refunded and RATE_LIMITED is thrown with `details.retry_after_ms` (the longest wait).
 */
export function takeAttempts(charges: ReadonlyArray<readonly [Throttle, string]>, message: string): Attempt {
  const taken: Attempt[] = [];
  let retryAfterMs = 0;
  for (const [throttle, key] of charges) {
    const result = throttle.take(key);
    if (result.ok) taken.push(result.attempt);
    else retryAfterMs = Math.max(retryAfterMs, result.retryAfterMs);
  }
  const all: Attempt = {
    refund() {
      for (const attempt of taken) attempt.refund();
    },
  };
  if (retryAfterMs > 0) {
    all.refund();
    throw new AppError('RATE_LIMITED', message, { details: { retry_after_ms: retryAfterMs } });
  }
  return all;
}

/**
 * The throttle key of a client address: an IPv4 address (also when IPv4-mapped), or the /64 prefix
 * of an IPv6 address, since one IPv6 subscriber usually holds a whole /64.
 */
export function addressKey(ip: string): string {
  const bare = ip.replace(/%.*$/, '').toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare)?.[1];
  if (mapped !== undefined && isIPv4(mapped)) return mapped;
  if (isIPv4(bare) || !isIPv6(bare)) return bare;
  const [head = '', tail = ''] = bare.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = bare.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
