import { z } from 'zod';
import { commonEnv, metricsEnv, mongoEnv, positiveInt } from '@ap/config';
import { SIGNING_ALGS } from './keys.ts';
import type { GradeReturnConfig } from './lti/grades.ts';
import type { AuthConfig } from './service.ts';

/** Environment variables of the auth service. */
export const authEnvSchema = z.object({
  ...commonEnv,
  ...mongoEnv,
  ...metricsEnv,
  TOKEN_TTL_S: positiveInt(3600),
  CANDIDATE_TOKEN_TTL_S: positiveInt(4 * 3600),
  SIGNING_ALG: z.enum(SIGNING_ALGS).default('EdDSA'),
  KEY_MAX_AGE_S: positiveInt(30 * 24 * 3600),
  /** Failed logins per account (email), per window. */
  LOGIN_ACCOUNT_LIMIT: positiveInt(10),
  LOGIN_ACCOUNT_WINDOW_S: positiveInt(15 * 60),
  /** Failed logins per client address, per window. */
  LOGIN_IP_LIMIT: positiveInt(30),
  LOGIN_IP_WINDOW_S: positiveInt(15 * 60),
  /** Redemptions of unknown codes per client address, per window. */
  REDEEM_IP_LIMIT: positiveInt(20),
  REDEEM_IP_WINDOW_S: positiveInt(10 * 60),
  /** Password hashes running at once, and waiting, per auth process. */
  HASH_CONCURRENCY: positiveInt(2),
  HASH_QUEUE: positiveInt(16),
  /** LTI grade return: how long one call to a platform may take, and the retry delays after a failure. */
  LTI_TIMEOUT_MS: positiveInt(10_000),
  LTI_RETRY_MIN_MS: positiveInt(1000),
  LTI_RETRY_MAX_MS: positiveInt(300_000),
  /** LTI login initiations per client address per minute (each stores a state for ten minutes). */
  LTI_LOGIN_LIMIT: positiveInt(300),
});
export type AuthEnv = z.output<typeof authEnvSchema>;

/** The service settings within the parsed environment. */
export function authConfigOf(env: AuthEnv): AuthConfig {
  return {
    tokenTtlS: env.TOKEN_TTL_S,
    candidateTokenTtlS: env.CANDIDATE_TOKEN_TTL_S,
    signingAlg: env.SIGNING_ALG,
    keyMaxAgeS: env.KEY_MAX_AGE_S,
    limits: {
      loginPerAccount: { limit: env.LOGIN_ACCOUNT_LIMIT, windowS: env.LOGIN_ACCOUNT_WINDOW_S },
      loginPerAddress: { limit: env.LOGIN_IP_LIMIT, windowS: env.LOGIN_IP_WINDOW_S },
      redeemPerAddress: { limit: env.REDEEM_IP_LIMIT, windowS: env.REDEEM_IP_WINDOW_S },
      hashConcurrency: env.HASH_CONCURRENCY,
      hashQueue: env.HASH_QUEUE,
      ltiLoginsPerAddress: { limit: env.LTI_LOGIN_LIMIT, windowS: 60 },
    },
  };
}

/** The limits when no variable sets them (what the README documents). */
export const DEFAULT_AUTH_LIMITS: AuthConfig['limits'] = authConfigOf(authEnvSchema.parse({})).limits;

/** The LTI grade return's settings within the parsed environment. */
export function gradeReturnOf(env: AuthEnv): GradeReturnConfig {
  return { timeoutMs: env.LTI_TIMEOUT_MS, retryMinMs: env.LTI_RETRY_MIN_MS, retryMaxMs: Math.max(env.LTI_RETRY_MIN_MS, env.LTI_RETRY_MAX_MS) };
}
