/** The closed list of error codes shared by WebSocket frames, NATS replies and HTTP bodies. */
export const ERROR_CODES = [
  'AUTH_REQUIRED',
  'AUTH_INVALID',
  'FORBIDDEN',
  'VALIDATION_FAILED',
  'INVALID_JSON',
  'UNKNOWN_TYPE',
  'NOT_FOUND',
  'CONFLICT',
  'ASSESSMENT_NOT_ACTIVE',
  'TIME_EXPIRED',
  'RATE_LIMITED',
  'INVITATION_EXPIRED',
  'INVITATION_USED',
  'SERVICE_UNAVAILABLE',
  'TIMEOUT',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** HTTP status for each error code, used only at the HTTP edge. */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  AUTH_REQUIRED: 401,
  AUTH_INVALID: 401,
  FORBIDDEN: 403,
  VALIDATION_FAILED: 400,
  INVALID_JSON: 400,
  UNKNOWN_TYPE: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  ASSESSMENT_NOT_ACTIVE: 409,
  TIME_EXPIRED: 409,
  RATE_LIMITED: 429,
  INVITATION_EXPIRED: 410,
  INVITATION_USED: 409,
  SERVICE_UNAVAILABLE: 503,
  TIMEOUT: 504,
  INTERNAL: 500,
};

/** An application error with a code from the closed list; the edge turns it into a frame, reply or status. */
export class AppError extends Error {
  override name = 'AppError';
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions & { details?: Record<string, unknown> }) {
    super(message, options);
    this.code = code;
    this.details = options?.details;
  }
}

/** Whether a value is an AppError (works across package copies). */
export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError || (value instanceof Error && value.name === 'AppError' && 'code' in value);
}
