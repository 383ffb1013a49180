import { z } from 'zod';
import { accommodationsSchema, idSchema, roleSchema } from './common.ts';

/** Issuer and audience of every token the auth service signs. */
export const TOKEN_ISSUER = 'assessment-platform/auth';
export const TOKEN_AUDIENCE = 'assessment-platform';

/** Claims of an access token after signature, issuer, audience and time checks. */
export const tokenClaimsSchema = z.object({
  sub: idSchema,
  role: roleSchema,
  tests: z.array(idSchema).optional(),
  app: idSchema.optional(),
  /** Display name or email of the subject. */
  name: z.string().max(254).optional(),
  /** Set on a candidate token from a repeated redemption of a named code (a sign-in again, maybe from someone else). */
  re_sign_in: z.boolean().optional(),
  /** A candidate's time accommodations, from the invitation it redeemed. */
  accommodations: accommodationsSchema.optional(),
  exp: z.number().int(),
  iat: z.number().int().optional(),
  jti: z.string().optional(),
});
export type TokenClaims = z.infer<typeof tokenClaimsSchema>;
