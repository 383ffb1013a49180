import { connectBus } from '@ap/bus';
import { commonEnv, parseConfig, positiveInt, processEnv } from '@ap/config';
import { runUntilSignal } from '@ap/lifecycle';
import { createLogger } from '@ap/logging';
import { createMetrics } from '@ap/metrics';
import { z } from 'zod';
import { createGateway } from './gateway.ts';

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
  }),
  processEnv(),
);
const log = createLogger({ service: 'gateway', level: config.LOG_LEVEL });
const metrics = createMetrics({ service: 'gateway' });

await runUntilSignal({
  log,
  timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  start: async () => {
    const bus = await connectBus({ servers: config.NATS_URL, name: 'gateway', log, metrics });
    const gateway = await createGateway({
      bus,
      log,
      metrics,
      host: config.HOST,
      port: config.PORT,
      options: {
        authTimeoutMs: config.AUTH_TIMEOUT_MS,
        requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
        pingIntervalMs: config.PING_INTERVAL_MS,
        maxBadFramesPerMinute: config.MAX_BAD_FRAMES_PER_MINUTE,
        presenceIntervalMs: config.PRESENCE_INTERVAL_MS,
      },
    });
    return [
      { name: 'bus', close: () => bus.close() },
      { name: 'gateway', close: () => gateway.close() },
    ];
  },
});
