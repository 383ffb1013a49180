/** What the endpoint registries are written with: the spec of one endpoint, role sets and shared request fields. */
import { z } from 'zod';
import { callerSchema } from './common.ts';
import type { Role } from './common.ts';

export const withCaller = <T extends z.ZodRawShape>(shape: T) => z.object({ caller: callerSchema, ...shape });

/** What the registry says of one request/reply endpoint. */
export type EndpointSpec = {
  subject: string;
  request: z.ZodType;
  response: z.ZodType;
  /**
   * The roles that may call it, checked by `bus.serve` before the handler runs (others are
   * answered FORBIDDEN); absent, any caller. Only for requests that carry a `caller`.
   */
  roles?: readonly Role[];
  /**
   * How long `bus.serve` lets the handler run before it answers SERVICE_UNAVAILABLE, for admin
   * work that takes longer than a request should (default: the service's HANDLER_TIMEOUT_MS).
   */
  handlerTimeoutMs?: number;
};

export const STAFF = ['proctor', 'recruiter', 'admin'] as const;
export const AUTHORS = ['recruiter', 'admin'] as const;
export const ADMIN = ['admin'] as const;
export const CANDIDATE = ['candidate'] as const;

export const email = z.string().trim().toLowerCase().pipe(z.email().max(254));
/** A client's IPv4 or IPv6 address as its socket reports it (IPv4-mapped and zone ids included). */
export const clientIpSchema = z
  .string()
  .min(2)
  .max(64)
  .regex(/^[0-9A-Za-z:.%_-]+$/, 'must be an IP address');
