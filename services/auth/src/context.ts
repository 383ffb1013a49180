import { cleanDisplayName, isAppError } from '@ap/protocol';
import type { Clock, EndpointName } from '@ap/protocol';
import type { Bus, Handler } from '@ap/bus';
import type { Logger } from '@ap/logging';
import type { HashGate } from './hash-gate.ts';
import type { KeyRing } from './keys.ts';
import type { AuthCollections, UserDoc } from './store.ts';
import type { Attempt, Throttle, ThrottleRule } from './throttle.ts';
import type { SigningAlg } from './keys.ts';

/** Settings of the auth service, parsed from the environment by main.ts. */
export type AuthConfig = {
  /** Lifetime of staff tokens (login). */
  tokenTtlS: number;
  /** Lifetime of candidate tokens (invitation redemption). */
  candidateTokenTtlS: number;
  signingAlg: SigningAlg;
  /** How long a signing key signs before a new one replaces it. */
  keyMaxAgeS: number;
  limits: AuthLimits;
};

/** Throttles and hashing limits, per auth process (see the README's Security section). */
export type AuthLimits = {
  /** Failed logins per account (email). */
  loginPerAccount: ThrottleRule;
  /** Failed logins per client address. */
  loginPerAddress: ThrottleRule;
  /** Redemptions of unknown codes per client address. */
  redeemPerAddress: ThrottleRule;
  /** Password hashes running at once. */
  hashConcurrency: number;
  /** Password hashes waiting for a slot; more are refused with RATE_LIMITED. */
  hashQueue: number;
  /** LTI login initiations per client address (each stores a state until it is used or expires). */
  ltiLoginsPerAddress: ThrottleRule;
};

/** What every handler group of the auth service is built from: wired once in service.ts. */
export type AuthContext = {
  bus: Bus;
  log: Logger;
  clock: Clock;
  config: AuthConfig;
  col: AuthCollections;
  keyRing: KeyRing;
  /** In this process's memory: see the README (Security, Auth) for why not in the database. */
  throttles: { loginPerAccount: Throttle; loginPerAddress: Throttle; redeemPerAddress: Throttle };
  hashGate: HashGate;
};

/** Request handlers by endpoint name, as each group gives them to service.ts. */
export type HandlerTable = { [E in EndpointName]?: Handler<E> };

/** Runs `work`; the attempt counts only when it fails with `failure`, and is refunded otherwise. */
export async function countFailure<T>(attempt: Attempt, failure: 'AUTH_INVALID', work: () => Promise<T>): Promise<T> {
  let result: T;
  try {
    result = await work();
  } catch (err) {
    if (!isAppError(err) || err.code !== failure) attempt.refund();
    throw err;
  }
  attempt.refund();
  return result;
}

/** The name a user is shown by: the cleaned display name, or the email without one. */
export function displayName(user: UserDoc): string {
  const name = cleanDisplayName(user.name);
  return name.length > 0 ? name : user.email;
}
