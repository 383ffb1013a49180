import { connectBus } from '@ap/bus';
import { parseConfig, processEnv } from '@ap/config';
import { connectDatabase, isDatabaseUnavailable } from '@ap/db';
import { runUntilSignal } from '@ap/lifecycle';
import { createLogger } from '@ap/logging';
import { authConfigOf, authEnvSchema } from './config.ts';
import { createAuthService } from './service.ts';

const env = parseConfig(authEnvSchema, processEnv());
const log = createLogger({ service: 'auth', level: env.LOG_LEVEL });

await runUntilSignal({
  log,
  timeoutMs: env.SHUTDOWN_TIMEOUT_MS,
  start: async () => {
    const database = await connectDatabase({ url: env.MONGO_URL, name: env.MONGO_DB, log, appName: 'auth' });
    const bus = await connectBus({
      servers: env.NATS_URL,
      name: 'auth',
      log,
      unavailable: isDatabaseUnavailable,
      handlerTimeoutMs: env.HANDLER_TIMEOUT_MS,
    });
    const service = await createAuthService({
      bus,
      db: database.db,
      log,
      clock: () => new Date(),
      config: authConfigOf(env),
    });
    // Closed in reverse: stop serving, drain NATS, then close MongoDB.
    return [{ name: 'db', close: () => database.close() }, { name: 'bus', close: () => bus.close() }, service];
  },
});
