import { z } from 'zod';
import { endpoints } from './bus.ts';

/** HTTP bodies accepted by the gateway's /api routes. */
export const httpBodies = {
  login: endpoints.authLogin.request,
  redeem: endpoints.authRedeem.request,
} as const;

export const httpErrorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
