import { systemClock } from '@ap/protocol';
import { z } from 'zod';
import { randomUUID } from 'node:crypto';
import { connectBus, openLease } from '@ap/bus';
import { commonEnv, jetStreamEnv, metricsEnv, parseConfig, positiveInt, processEnv } from '@ap/config';
import { runUntilSignal } from '@ap/lifecycle';
import { createLogger } from '@ap/logging';
import { createMetrics, serveServiceMetrics } from '@ap/metrics';
import { createCleanupService, DEFAULT_INVITATION_RETENTION_S } from './sweep.ts';

const config = parseConfig(
  z.object({
    ...commonEnv,
    ...metricsEnv,
    ...jetStreamEnv,
    SWEEP_INTERVAL_MS: positiveInt(5000),
    INVITATION_RETENTION_S: z.coerce.number().int().nonnegative().default(DEFAULT_INVITATION_RETENTION_S),
  }),
  processEnv(),
);
const log = createLogger({ service: 'cleanup', level: config.LOG_LEVEL });
const metrics = createMetrics({ service: 'cleanup' });

await runUntilSignal({
  log,
  timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  start: async () => {
    const bus = await connectBus({ servers: config.NATS_URL, nkeySeed: config.NATS_NKEY_SEED, name: 'cleanup', log, metrics });
    // Only one replica sweeps at a time: the lease lives in NATS KV and lapses if its holder stops renewing it.
    const lease = await openLease(bus.nc, {
      bucket: 'cleanup_lease',
      key: 'sweep',
      ttlMs: Math.max(3 * config.SWEEP_INTERVAL_MS, 5000),
      holder: randomUUID(),
      replicas: config.JETSTREAM_REPLICAS,
    });
    const cleanup = createCleanupService({
      bus,
      log,
      clock: systemClock,
      intervalMs: config.SWEEP_INTERVAL_MS,
      invitationRetentionS: config.INVITATION_RETENTION_S,
      acquireLease: () => lease.acquire(),
    });
    cleanup.start();
    const metricsEndpoint = await serveServiceMetrics({
      port: config.METRICS_PORT,
      host: config.METRICS_HOST,
      registry: metrics.registry,
      nats: bus.nc,
    });
    return [
      metricsEndpoint,
      { name: 'nats', close: () => bus.close() },
      { name: 'lease', close: () => lease.release() },
      { name: 'cleanup', close: () => cleanup.close() },
    ];
  },
});
