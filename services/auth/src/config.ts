import { z } from 'zod';
import { commonEnv, metricsEnv, mongoEnv, positiveInt } from '@ap/config';
import { SIGNING_ALGS } from './keys.ts';
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
});
export type AuthEnv = z.output<typeof authEnvSchema>;

/** The service settings within the parsed environment. */
export function authConfigOf(env: AuthEnv): AuthConfig {
  return {
    tokenTtlS: env.TOKEN_TTL_S,
    candidateTokenTtlS: env.CANDIDATE_TOKEN_TTL_S,
    signingAlg: env.SIGNING_ALG,
    keyMaxAgeS: env.KEY_MAX_AGE_S,
  };
}
