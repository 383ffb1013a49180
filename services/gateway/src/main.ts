import { connectBus } from '@ap/bus';
import { commonEnv, metricsEnv, parseConfig, positiveInt, processEnv } from '@ap/config';
import { runUntilSignal } from '@ap/lifecycle';
import { createLogger } from '@ap/logging';
import { createMetrics, startMetricsServer } from '@ap/metrics';
import { z } from 'zod';
import { normalizeOrigin } from './edge.ts';
import { createGateway } from './gateway.ts';

/** `ALLOWED_ORIGINS`: comma-separated `scheme://host[:port]` origins, or `*` for any. */
const originList = z
  .string()
  .default('')
  .transform((text) =>
    text
      .split(',')
      .map((o) => o.trim())
      .filter((o) => o !== ''),
  )
  .pipe(
    z.array(
      z.union([
        z.literal('*'),
        z.string().refine((o) => normalizeOrigin(o) !== undefined, 'must be an origin such as https://exam.example.com'),
      ]),
    ),
  );

const config = parseConfig(
  z.object({
    ...commonEnv,
    HOST: z.string().default('0.0.0.0'),
    PORT: z.coerce.number().int().min(0).max(65535).default(8080),
    AUTH_TIMEOUT_MS: positiveInt(10_000),
    REQUEST_TIMEOUT_MS: positiveInt(5000),
    PING_INTERVAL_MS: positiveInt(30_000),
    MAX_BAD_FRAMES_PER_MINUTE: positiveInt(60),
    PRESENCE_INTERVAL_MS: positiveInt(10_000),
    IDLE_TIMEOUT_MS: positiveInt(300_000),
    FRAME_RATE_PER_SOCKET: positiveInt(20),
    FRAME_BURST_PER_SOCKET: positiveInt(200),
    FRAME_RATE_PER_USER: positiveInt(40),
    FRAME_BURST_PER_USER: positiveInt(400),
    MAX_INFLIGHT_PER_USER: positiveInt(8),
    MAX_QUEUED_PER_STAFF: z.coerce.number().int().min(0).default(200),
    MAX_SOCKETS_PER_USER: positiveInt(10),
    ALLOWED_ORIGINS: originList,
    /** The public origin of the gateway (https://exam.example.com), for the LTI tool's URLs; unset: each request's Host over http. */
    PUBLIC_URL: z.preprocess(
      (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
      z
        .string()
        .refine((o) => normalizeOrigin(o) !== undefined, 'must be an origin such as https://exam.example.com')
        .transform((o) => normalizeOrigin(o) ?? o)
        .optional(),
    ),
    /** Anything but `production` also lets pages on localhost and 127.0.0.1 (any port) open WebSockets. */
    NODE_ENV: z.string().default('development'),
    ...metricsEnv,
  }),
  processEnv(),
);
const log = createLogger({ service: 'gateway', level: config.LOG_LEVEL });
const metrics = createMetrics({ service: 'gateway' });

await runUntilSignal({
  log,
  timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  start: async () => {
    const bus = await connectBus({ servers: config.NATS_URL, nkeySeed: config.NATS_NKEY_SEED, name: 'gateway', log, metrics });
    const gateway = await createGateway({
      bus,
      log,
      metrics,
      host: config.HOST,
      port: config.PORT,
      options: {
        authTimeoutMs: config.AUTH_TIMEOUT_MS,
        requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
        publicUrl: config.PUBLIC_URL,
        pingIntervalMs: config.PING_INTERVAL_MS,
        maxBadFramesPerMinute: config.MAX_BAD_FRAMES_PER_MINUTE,
        presenceIntervalMs: config.PRESENCE_INTERVAL_MS,
        idleTimeoutMs: config.IDLE_TIMEOUT_MS,
        limits: {
          socketPerSecond: config.FRAME_RATE_PER_SOCKET,
          socketBurst: config.FRAME_BURST_PER_SOCKET,
          userPerSecond: config.FRAME_RATE_PER_USER,
          userBurst: config.FRAME_BURST_PER_USER,
          maxInflightPerUser: config.MAX_INFLIGHT_PER_USER,
          maxQueuedPerStaff: config.MAX_QUEUED_PER_STAFF,
          maxSocketsPerUser: config.MAX_SOCKETS_PER_USER,
        },
        origins: { allowed: config.ALLOWED_ORIGINS, allowLoopback: config.NODE_ENV !== 'production' },
      },
    });
    // /metrics (and /healthz, /readyz for probes that prefer it) on their own port, never the public one.
    const metricsServer =
      config.METRICS_PORT === 0
        ? undefined
        : await startMetricsServer({
            port: config.METRICS_PORT,
            host: config.METRICS_HOST,
            registry: metrics.registry,
            ready: () => gateway.ready(),
          });
    return [
      { name: 'bus', close: () => bus.close() },
      { name: 'gateway', close: () => gateway.close() },
      { name: 'metrics', close: async () => metricsServer?.close() },
    ];
  },
});
