import { connectBus, openEventStream } from '@ap/bus';
import { commonEnv, jetStreamEnv, metricsEnv, mongoEnv, parseConfig, processEnv, xapiEnv } from '@ap/config';
import { connectDatabase, isDatabaseUnavailable } from '@ap/db';
import { runUntilSignal } from '@ap/lifecycle';
import { createLogger } from '@ap/logging';
import { ASSESSMENT_STREAM } from '@ap/protocol';
import { createMetrics, serveServiceMetrics } from '@ap/metrics';
import { z } from 'zod';
import { createAssessmentService } from './service.ts';
import { startXapiSender } from './xapi-sender.ts';
import type { XapiConfig } from './xapi-sender.ts';

const config = parseConfig(
  z
    .object({ ...commonEnv, ...mongoEnv, ...metricsEnv, ...jetStreamEnv, ...xapiEnv })
    .refine((c) => c.XAPI_ENDPOINT === undefined || (c.XAPI_ACTIVITY_BASE !== undefined && c.XAPI_HOME_PAGE !== undefined), {
      path: ['XAPI_ENDPOINT'],
      message: 'needs XAPI_ACTIVITY_BASE and XAPI_HOME_PAGE',
    })
    .refine((c) => c.XAPI_AUTH === undefined || c.XAPI_USERNAME === undefined, {
      path: ['XAPI_AUTH'],
      message: 'give XAPI_AUTH or XAPI_USERNAME/XAPI_PASSWORD, not both',
    }),
  processEnv(),
);
const xapi = xapiConfig(config);
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
    const xapiSender = xapi === undefined ? undefined : startXapiSender({ nc: bus.nc, db: database.db, log, config: xapi });
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
      ...(xapiSender === undefined ? [] : [{ name: 'xapi', close: () => xapiSender.close() }]),
    ];
  },
});

/** The xAPI sender's settings, or undefined when no LRS is configured. */
function xapiConfig(c: typeof config): XapiConfig | undefined {
  if (c.XAPI_ENDPOINT === undefined || c.XAPI_ACTIVITY_BASE === undefined || c.XAPI_HOME_PAGE === undefined) return undefined;
  const basic =
    c.XAPI_USERNAME === undefined ? undefined : `Basic ${Buffer.from(`${c.XAPI_USERNAME}:${c.XAPI_PASSWORD ?? ''}`).toString('base64')}`;
  return {
    endpoint: c.XAPI_ENDPOINT,
    authorization: c.XAPI_AUTH ?? basic,
    identity: { homePage: c.XAPI_HOME_PAGE, activityBase: c.XAPI_ACTIVITY_BASE },
    timeoutMs: c.XAPI_TIMEOUT_MS,
    retryMinMs: c.XAPI_RETRY_MIN_MS,
    retryMaxMs: c.XAPI_RETRY_MAX_MS,
  };
}
