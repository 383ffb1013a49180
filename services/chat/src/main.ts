import { systemClock } from '@ap/protocol';
import { z } from 'zod';
import { connectBus } from '@ap/bus';
import { commonEnv, metricsEnv, mongoEnv, parseConfig, processEnv } from '@ap/config';
import { connectDatabase, isDatabaseUnavailable } from '@ap/db';
import { runUntilSignal } from '@ap/lifecycle';
import { createLogger } from '@ap/logging';
import { createMetrics, serveServiceMetrics } from '@ap/metrics';
import { createChatService } from './service.ts';

const config = parseConfig(z.object({ ...commonEnv, ...mongoEnv, ...metricsEnv }), processEnv());
const log = createLogger({ service: 'chat', level: config.LOG_LEVEL });
const metrics = createMetrics({ service: 'chat' });

await runUntilSignal({
  log,
  timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  start: async () => {
    const database = await connectDatabase({ url: config.MONGO_URL, name: config.MONGO_DB, log, appName: 'chat' });
    const bus = await connectBus({
      servers: config.NATS_URL,
      nkeySeed: config.NATS_NKEY_SEED,
      name: 'chat',
      log,
      unavailable: isDatabaseUnavailable,
      handlerTimeoutMs: config.HANDLER_TIMEOUT_MS,
      metrics,
    });
    const chat = createChatService({ bus, db: database.db, log, clock: systemClock });
    await chat.start();
    const metricsEndpoint = await serveServiceMetrics({
      port: config.METRICS_PORT,
      host: config.METRICS_HOST,
      registry: metrics.registry,
      nats: bus.nc,
      database,
    });
    return [
      metricsEndpoint,
      { name: 'mongodb', close: () => database.close() },
      { name: 'nats', close: () => bus.close() },
      { name: 'chat', close: () => chat.close() },
    ];
  },
});
