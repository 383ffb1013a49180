import { connectBus } from '@ap/bus';
import { commonEnv, parseConfig, processEnv } from '@ap/config';
import { createLogger } from '@ap/logging';
import { z } from 'zod';
import { seedDemo } from './seed.ts';

// Seeds the demo data into a running platform and prints what it created as JSON.
const config = parseConfig(z.object({ ...commonEnv, DEMO_CANDIDATE_EMAIL: z.email().optional() }), processEnv());
const log = createLogger({ service: 'seed', level: config.LOG_LEVEL });
const bus = await connectBus({ servers: config.NATS_URL, nkeySeed: config.NATS_NKEY_SEED, name: 'seed', log });
try {
  const seed = await seedDemo(bus, config.DEMO_CANDIDATE_EMAIL === undefined ? {} : { candidateEmail: config.DEMO_CANDIDATE_EMAIL });
  process.stdout.write(`${JSON.stringify(seed, null, 2)}\n`);
} finally {
  await bus.close();
}
