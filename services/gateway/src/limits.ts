/** Limits on valid frames, per socket and per user, on one gateway. */
export type FrameLimits = {
  /** Frames a socket may send per second, on average, and at once. */
  socketPerSecond: number;
  socketBurst: number;
  /** Frames all of one user's sockets may send per second, on average, and at once. */
  userPerSecond: number;
  userBurst: number;
  /** Requests of one user that may wait for a service at the same time. */
  maxInflightPerUser: number;
  /** Requests of one staff user that may wait, in order, for one of those places; more are refused. */
  maxQueuedPerStaff: number;
  /** Authenticated sockets one user may hold. */
  maxSocketsPerUser: number;
};

/** A token bucket: starts full at `burst` tokens and gains `perSecond` tokens a second, up to `burst`. */
export type TokenBucket = {
  /** Spends one token: 0 when there was one, else the milliseconds until there is. */
  take(nowMs: number): number;
};

/** Creates a full token bucket. */
export function createTokenBucket(perSecond: number, burst: number, nowMs: number): TokenBucket {
  let tokens = burst;
  let at = nowMs;
  return {
    take(now) {
      if (now > at) {
        tokens = Math.min(burst, tokens + ((now - at) * perSecond) / 1000);
        at = now;
      }
      if (tokens >= 1) {
        tokens -= 1;
        return 0;
      }
      return Math.max(1, Math.ceil(((1 - tokens) * 1000) / perSecond));
    },
  };
}

/** Why a frame was refused: which limit, and when to try again. */
export type Refusal = { limit: 'socket' | 'user' | 'inflight'; retryAfterMs: number };

/** A place for a request to a service: now (`wait` undefined), once an earlier request ends, or refused. */
export type Slot = { refusal: Refusal } | { wait: Promise<void> | undefined };

/** What the gateway counts for one user across their sockets. */
type UserState = { bucket: TokenBucket; inflight: number; queue: (() => void)[]; sockets: number };

/** The per-user side of the limits: a shared token bucket, requests in flight, sockets held. */
export type UserLimits = {
  /** Counts an authenticated socket; false (and nothing counted) when the user already holds the maximum. */
  addSocket(userId: string, nowMs: number): boolean;
  removeSocket(userId: string): void;
  /** Spends a token of the user's bucket; a refusal when it is empty. */
  take(userId: string, nowMs: number): Refusal | undefined;
  /**
   * A place for a request to a service: at once while the user has fewer than the maximum in
   * flight; else, when `mayWait`, after those before it (first come, first served) while the
   * queue has room; else a refusal. Every place granted must be given back with `release`.
   */
  acquire(userId: string, nowMs: number, mayWait: boolean): Slot;
  release(userId: string): void;
  /** Users with state (sockets or requests in flight). */
  size(): number;
};

/** Per-user state lives while the user has a socket or a request in flight. */
export function createUserLimits(limits: FrameLimits): UserLimits {
  const users = new Map<string, UserState>();
  const stateOf = (userId: string, nowMs: number): UserState => {
    let state = users.get(userId);
    if (state === undefined) {
      state = { bucket: createTokenBucket(limits.userPerSecond, limits.userBurst, nowMs), inflight: 0, queue: [], sockets: 0 };
      users.set(userId, state);
    }
    return state;
  };
  const forget = (userId: string, state: UserState) => {
    if (state.sockets <= 0 && state.inflight <= 0) users.delete(userId);
  };
  return {
    addSocket(userId, nowMs) {
      const state = stateOf(userId, nowMs);
      if (state.sockets >= limits.maxSocketsPerUser) return false;
      state.sockets += 1;
      return true;
    },
    removeSocket(userId) {
      const state = users.get(userId);
      if (state === undefined) return;
      state.sockets -= 1;
      forget(userId, state);
    },
    take(userId, nowMs) {
      const wait = stateOf(userId, nowMs).bucket.take(nowMs);
      return wait === 0 ? undefined : { limit: 'user', retryAfterMs: wait };
    },
    acquire(userId, nowMs, mayWait) {
      const state = stateOf(userId, nowMs);
      if (state.inflight < limits.maxInflightPerUser) {
        state.inflight += 1;
        return { wait: undefined };
      }
      if (!mayWait || state.queue.length >= limits.maxQueuedPerStaff) return { refusal: { limit: 'inflight', retryAfterMs: 100 } };
      return { wait: new Promise<void>((resolve) => state.queue.push(resolve)) };
    },
    release(userId) {
      const state = users.get(userId);
      if (state === undefined) return;
      // The place goes to the next request in line, if any; it stays counted in flight.
      const next = state.queue.shift();
      if (next !== undefined) {
        next();
        return;
      }
      state.inflight -= 1;
      forget(userId, state);
    },
    size: () => users.size,
  };
}
