import { connectBus, openEventStream } from '@ap/bus';
import { commonEnv, jetStreamEnv, metricsEnv, mongoEnv, parseConfig, processEnv } from '@ap/config';
import { connectDatabase, isDatabaseUnavailable } from '@ap/db';
import { runUntilSignal } from '@ap/lifecycle';
import { createLogger } from '@ap/logging';
import { ASSESSMENT_STREAM } from '@ap/protocol';
import { createMetrics, serveServiceMetrics } from '@ap/metrics';
import { z } from 'zod';
import { createAssessmentService } from './service.ts';

const config = parseConfig(z.object({ ...commonEnv, ...mongoEnv, ...metricsEnv, ...jetStreamEnv }), processEnv());
const log = createLogger({ service: 'assessment', level: config.LOG_LEVEL });
const metrics = createMetrics({ service: 'assessment' });

await runUntilSignal({
  log,
  timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  start: async () => {
    const bus = await connectBus({
      servers: config.NATS_URL,
      nkeySeed: config.NATS_NKEY_SEED,
      name: 'assessment',
      log,
      unavailable: isDatabaseUnavailable,
      handlerTimeoutMs: config.HANDLER_TIMEOUT_MS,
      metrics,
    });
    const database = await connectDatabase({ url: config.MONGO_URL, name: config.MONGO_DB, log, appName: 'assessment' });
    const eventStream = await openEventStream(bus.nc, {
      name: ASSESSMENT_STREAM.name,
      subjects: [ASSESSMENT_STREAM.subjects],
      replicas: config.JETSTREAM_REPLICAS,
      log,
    });
    const service = await createAssessmentService({ bus, db: database.db, log, eventStream, metrics });
    const metricsEndpoint = await serveServiceMetrics({
      port: config.METRICS_PORT,
      host: config.METRICS_HOST,
      registry: metrics.registry,
      nats: bus.nc,
      database,
    });
    log.info('assessment service ready');
    return [
      metricsEndpoint,
      { name: 'database', close: () => database.close() },
      { name: 'bus', close: () => bus.close() },
      { name: 'assessment', close: () => service.close() },
    ];
  },
});
