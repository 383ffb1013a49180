export { createAuthService } from './service.ts';
export type { AuthConfig, AuthDependencies, AuthService } from './service.ts';
export { authConfigOf, authEnvSchema } from './config.ts';
export type { AuthEnv } from './config.ts';
export { SIGNING_ALGS } from './keys.ts';
export type { SigningAlg } from './keys.ts';
