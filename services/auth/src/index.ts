export { createAuthService } from './service.ts';
export type { AuthConfig, AuthDependencies, AuthLimits, AuthService } from './service.ts';
export { DEFAULT_AUTH_LIMITS, authConfigOf, authEnvSchema } from './config.ts';
export type { AuthEnv } from './config.ts';
export { SIGNING_ALGS } from './keys.ts';
export type { SigningAlg } from './keys.ts';
