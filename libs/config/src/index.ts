import { z } from 'zod';

/** Environment variables, as the process received them. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Parses environment variables with a zod object schema once at start-up and freezes the result.
 * Throws an Error whose message names each bad variable.
 */
export function parseConfig<S extends z.ZodObject>(schema: S, env: Env): Readonly<z.output<S>> {
  const result = schema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new Error(`invalid configuration:\n${lines.join('\n')}`);
  }
  return Object.freeze(result.data);
}

/**
 * The NKEY user seed a process authenticates to NATS with (`SU` and 56 base32 characters); unset
 * or empty connects anonymously, which a server with an authorization block refuses.
 */
export const natsNkeySeed = z.preprocess(
  (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
  z
    .string()
    .trim()
    .regex(/^SU[A-Z2-7]{56}$/, 'must be an NKEY user seed (SU followed by 56 base32 characters)')
    .optional(),
);

/** Variables every service reads. */
export const commonEnv = {
  NATS_URL: z.string().min(1).default('nats://127.0.0.1:4222'),
  NATS_NKEY_SEED: natsNkeySeed,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** A request handler still running after this long is answered SERVICE_UNAVAILABLE; keep it below the gateway's REQUEST_TIMEOUT_MS. */
  HANDLER_TIMEOUT_MS: z.coerce.number().int().positive().default(4000),
} as const;

/** Variables of services that create JetStream streams or KV buckets. */
export const jetStreamEnv = {
  /** Copies of each stream and bucket the service creates: 3 on a three-server NATS cluster (one server may fail), 1 on a single server. */
  JETSTREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
} as const;

/** Variables of services that own MongoDB collections. */
export const mongoEnv = {
  MONGO_URL: z.string().min(1).default('mongodb://127.0.0.1:27017'),
  MONGO_DB: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,63}$/, 'must be a database name')
    .default('assessment_platform'),
} as const;

/** Reads the process environment; the single place where `process.env` is touched. */
export function processEnv(): Env {
  return process.env;
}

/** A positive integer from an env string, with a default. */
export const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** Variables of services that serve /metrics, /healthz and /readyz on their own port (0 turns it off). */
export const metricsEnv = {
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  METRICS_HOST: z.string().min(1).default('0.0.0.0'),
} as const;

const emptyIsUnset = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

/**
 * Variables of the xAPI statement sender; XAPI_ENDPOINT unset turns it off. XAPI_AUTH is the whole
 * Authorization header value (`Basic …`); XAPI_USERNAME/XAPI_PASSWORD build one instead.
 */
export const xapiEnv = {
  XAPI_ENDPOINT: z.preprocess(
    emptyIsUnset,
    z
      .url({ protocol: /^https?$/, error: 'must be an http or https URL' })
      .transform((u) => u.replace(/\/+$/u, ''))
      .optional(),
  ),
  XAPI_AUTH: z.preprocess(emptyIsUnset, z.string().trim().min(1).optional()),
  XAPI_USERNAME: z.preprocess(emptyIsUnset, z.string().optional()),
  XAPI_PASSWORD: z.preprocess(emptyIsUnset, z.string().optional()),
  /** IRI prefix of test activities: the activity id is this followed by the test id. */
  XAPI_ACTIVITY_BASE: z.preprocess(emptyIsUnset, z.url({ error: 'must be an IRI (absolute URL)' }).optional()),
  /** The platform's address, the `homePage` of candidate accounts. */
  XAPI_HOME_PAGE: z.preprocess(emptyIsUnset, z.url({ error: 'must be an absolute URL' }).optional()),
  XAPI_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  XAPI_RETRY_MIN_MS: z.coerce.number().int().positive().default(1000),
  XAPI_RETRY_MAX_MS: z.coerce.number().int().positive().default(300_000),
} as const;
