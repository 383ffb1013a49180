import { connectBus } from '@ap/bus';
import { parseConfig, processEnv } from '@ap/config';
import { connectDatabase, isDatabaseUnavailable } from '@ap/db';
import { runUntilSignal } from '@ap/lifecycle';
import { createLogger } from '@ap/logging';
import { createMetrics, serveServiceMetrics } from '@ap/metrics';
import { authConfigOf, authEnvSchema, gradeReturnOf } from './config.ts';
import { createAuthService } from './service.ts';

const env = parseConfig(authEnvSchema, processEnv());
const log = createLogger({ service: 'auth', level: env.LOG_LEVEL });
const metrics = createMetrics({ service: 'auth' });

await runUntilSignal({
  log,
  timeoutMs: env.SHUTDOWN_TIMEOUT_MS,
  start: async () => {
    const database = await connectDatabase({ url: env.MONGO_URL, name: env.MONGO_DB, log, appName: 'auth' });
    const bus = await connectBus({
      servers: env.NATS_URL,
      nkeySeed: env.NATS_NKEY_SEED,
      name: 'auth',
      log,
      unavailable: isDatabaseUnavailable,
      handlerTimeoutMs: env.HANDLER_TIMEOUT_MS,
      metrics,
    });
    const service = await createAuthService({
      bus,
      db: database.db,
      log,
      clock: () => new Date(),
      config: authConfigOf(env),
      gradeReturn: gradeReturnOf(env),
    });
    const metricsEndpoint = await serveServiceMetrics({
      port: env.METRICS_PORT,
      host: env.METRICS_HOST,
      registry: metrics.registry,
      nats: bus.nc,
      database,
    });
    // Closed in reverse: stop serving, drain NATS, then close MongoDB (metrics answer until the end).
    return [metricsEndpoint, { name: 'db', close: () => database.close() }, { name: 'bus', close: () => bus.close() }, service];
  },
});
