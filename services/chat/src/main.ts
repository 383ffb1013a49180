import { z } from 'zod';
import { connectBus } from '@ap/bus';
import { commonEnv, mongoEnv, parseConfig, processEnv } from '@ap/config';
import { connectDatabase, isDatabaseUnavailable } from '@ap/db';
import { runUntilSignal } from '@ap/lifecycle';
import { createLogger } from '@ap/logging';
import { createChatService } from './service.ts';

const config = parseConfig(z.object({ ...commonEnv, ...mongoEnv }), processEnv());
const log = createLogger({ service: 'chat', level: config.LOG_LEVEL });

await runUntilSignal({
  log,
  timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  start: async () => {
    const database = await connectDatabase({ url: config.MONGO_URL, name: config.MONGO_DB, log, appName: 'chat' });
    const bus = await connectBus({
      servers: config.NATS_URL,
      name: 'chat',
      log,
      unavailable: isDatabaseUnavailable,
      handlerTimeoutMs: config.HANDLER_TIMEOUT_MS,
    });
    const chat = createChatService({ bus, db: database.db, log, clock: { now: () => new Date() } });
    await chat.start();
    return [
      { name: 'mongodb', close: () => database.close() },
      { name: 'nats', close: () => bus.close() },
      { name: 'chat', close: () => chat.close() },
    ];
  },
});
