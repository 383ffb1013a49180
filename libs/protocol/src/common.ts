import { z } from 'zod';
import { ERROR_CODES } from './errors.ts';

/** Identifiers are opaque strings: letters, digits, dash and underscore. */
export const idSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, 'must contain only letters, digits, "-" and "_"');

/**
 * A test id as clients may give it: an id, or a non-negative integer, which means the test whose
 * id is that number's decimal string (`123` is test `"123"`). Always a string once parsed.
 */
export const testIdSchema = z.union([idSchema, z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).transform(String)]);

export const ROLES = ['candidate', 'proctor', 'recruiter', 'admin'] as const;
export const roleSchema = z.enum(ROLES);
export type Role = z.infer<typeof roleSchema>;

export const errorCodeSchema = z.enum(ERROR_CODES);

export const errorBodySchema = z.object({
  code: errorCodeSchema,
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

/** Bounds of a candidate's time accommodations. */
export const ACCOMMODATION_LIMITS = { maxMultiplier: 4, maxExtraSeconds: 4 * 3600 } as const;

/**
 * Standing time accommodations of a candidate, set by staff on the invitation: the test's time
 * limit is multiplied by `time_multiplier` (1 to 4) and `extra_seconds` are added when it starts.
 */
export const accommodationsSchema = z
  .object({
    time_multiplier: z.number().min(1).max(ACCOMMODATION_LIMITS.maxMultiplier).default(1),
    extra_seconds: z.number().int().min(0).max(ACCOMMODATION_LIMITS.maxExtraSeconds).default(0),
  })
  .strict();
export type Accommodations = z.infer<typeof accommodationsSchema>;

/** Who is asking: set by the gateway from a verified token, never by the client. */
export const callerSchema = z.object({
  user_id: idSchema,
  role: roleSchema,
  /** Tests a candidate may take or a proctor/recruiter may see; absent means no restriction for staff. */
  tests: z.array(idSchema).optional(),
  application_id: idSchema.optional(),
  /** Display name (or email) from the token, for people who see the caller: proctors, chat. */
  name: z.string().max(254).optional(),
  /** A candidate's time accommodations from the token, applied to the deadline at start. */
  accommodations: accommodationsSchema.optional(),
});
export type Caller = z.infer<typeof callerSchema>;

export const ASSESSMENT_STATUSES = [
  'created',
  'in_progress',
  'paused',
  'completed',
  'expired',
  'overdue',
  'abandoned',
  'terminated',
] as const;
export const assessmentStatusSchema = z.enum(ASSESSMENT_STATUSES);
export type AssessmentStatus = z.infer<typeof assessmentStatusSchema>;

export const COMPLETION_REASONS = [
  'candidate_ended',
  'max_items',
  'se_target',
  'classified',
  'pool_exhausted',
  'all_answered',
  'time_limit',
  'terminated',
  'abandoned',
] as const;
export const completionReasonSchema = z.enum(COMPLETION_REASONS);
export type CompletionReason = z.infer<typeof completionReasonSchema>;

export const optionSchema = z.object({ id: z.string().min(1).max(16), text: z.string().min(1).max(2000) });
export type Option = z.infer<typeof optionSchema>;
