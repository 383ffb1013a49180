import { z } from 'zod';
import { connectBus } from '@ap/bus';
import { commonEnv, parseConfig, positiveInt, processEnv } from '@ap/config';
import { runUntilSignal } from '@ap/lifecycle';
import { createLogger } from '@ap/logging';
import { createCleanupService } from './sweep.ts';

const config = parseConfig(z.object({ ...commonEnv, SWEEP_INTERVAL_MS: positiveInt(5000) }), processEnv());
const log = createLogger({ service: 'cleanup', level: config.LOG_LEVEL });

await runUntilSignal({
  log,
  timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  start: async () => {
    const bus = await connectBus({ servers: config.NATS_URL, name: 'cleanup', log });
    const cleanup = createCleanupService({ bus, log, clock: { now: () => new Date() }, intervalMs: config.SWEEP_INTERVAL_MS });
    cleanup.start();
    return [
      { name: 'nats', close: () => bus.close() },
      { name: 'cleanup', close: () => cleanup.close() },
    ];
  },
});
