import { z } from 'zod';
import { endpoints } from './bus.ts';
import { idSchema } from './common.ts';

/** HTTP bodies accepted by the gateway's /api routes. */
export const httpBodies = {
  /** The client's address is the gateway's to add, so a body cannot carry `ip`. */
  login: endpoints.authLogin.request.omit({ ip: true }).strict(),
  redeem: endpoints.authRedeem.request.omit({ ip: true }).strict(),
  /** POST /api/tests/{test_id}/invitations: the invitation fields; the caller and test come from the token and path. */
  invite: endpoints.authInvite.request.omit({ caller: true, test_id: true }).strict(),
} as const;

/** Query of GET /api/tests/{test_id}/results. */
export const resultsQuerySchema = z
  .object({
    include_unfinished: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    after: idSchema.optional(),
  })
  .strict();

export const httpErrorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
