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

/** What the gateway counts for one user across their sockets. */
type UserState = { bucket: TokenBucket; inflight: number; sockets: number };

/** The per-user side of the limits: a shared token bucket, requests in flight, sockets held. */
export type UserLimits = {
  /** Counts an authenticated socket; false (and nothing counted) when the user already holds the maximum. */
  addSocket(userId: string, nowMs: number): boolean;
  removeSocket(userId: string): void;
  /** Spends a token of the user's bucket; a refusal when it is empty. */
  take(userId: string, nowMs: number): Refusal | undefined;
  /** Counts a request to a service; a refusal when the user already has the maximum in flight. */
  begin(userId: string, nowMs: number): Refusal | undefined;
  end(userId: string): void;
  /** Users with state (sockets or requests in flight). */
  size(): number;
};

/** Per-user state lives while the user has a socket or a request in flight. */
export function createUserLimits(limits: FrameLimits): UserLimits {
  const users = new Map<string, UserState>();
  const stateOf = (userId: string, nowMs: number): UserState => {
    let state = users.get(userId);
    if (state === undefined) {
      state = { bucket: createTokenBucket(limits.userPerSecond, limits.userBurst, nowMs), inflight: 0, sockets: 0 };
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
    begin(userId, nowMs) {
      const state = stateOf(userId, nowMs);
      if (state.inflight >= limits.maxInflightPerUser) return { limit: 'inflight', retryAfterMs: 100 };
      state.inflight += 1;
      return undefined;
    },
    end(userId) {
      const state = users.get(userId);
      if (state === undefined) return;
      state.inflight -= 1;
      forget(userId, state);
    },
    size: () => users.size,
  };
}
