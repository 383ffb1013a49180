// `npm start`: the whole platform on one machine. Uses NATS_URL / MONGO_URL when set, otherwise
// starts a local nats-server and a MongoDB-compatible server (mongod, else FerretDB) as children,
// starts the five services, seeds the demo, and prints how to take the demo test.
import { mkdir, writeFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { connectBus } from '@ap/bus';
import { natsNkeySeed, parseConfig, processEnv } from '@ap/config';
import { seedDemo } from '@ap/demo';
import { createLogger } from '@ap/logging';
import { seedsOf, startInfra, startPlatform } from '@ap/stack';
import type { Infra, Platform } from '@ap/stack';
import { z } from 'zod';

const config = parseConfig(
  z.object({
    NATS_URL: z.string().min(1).optional(),
    // Credentials for a given NATS_URL (services and the seed use it); a local nats-server gets generated ones.
    NATS_NKEY_SEED: natsNkeySeed,
    MONGO_URL: z.string().min(1).optional(),
    MONGO_DB: z.string().regex(/^[A-Za-z0-9_-]{1,63}$/).default('assessment_platform'),
    PORT: z.coerce.number().int().min(1).max(65535).default(8080),
    STACK_DIR: z.string().default('.stack'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  }),
  processEnv(),
);

const say = (line: string) => process.stdout.write(`${line}\n`);
/** A path as the user would type it: relative below the working directory, else absolute. */
const shownPath = (path: string) => (relative(process.cwd(), path).startsWith('..') ? path : relative(process.cwd(), path));
const dataDir = resolve(config.STACK_DIR, 'data');
let infra: Infra | undefined;
let platform: Platform | undefined;
let stopping = false;

async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    say('\nstopping: gateway first, then the services, then NATS and the database…');
    await platform?.close();
    await infra?.close();
    say('stopped.');
  }
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

try {
  await mkdir(dataDir, { recursive: true });
  say('starting NATS and the database…');
  infra = await startInfra({ natsUrl: config.NATS_URL, mongoUrl: config.MONGO_URL, dir: dataDir });
  say(`  nats:     ${infra.natsUrl} (${infra.natsSource}${infra.natsIdentities === undefined ? '' : ', one NKEY user per service'})`);
  // A NATS server started here admits only the generated users: each service gets its own seed,
  // and the operator's tools (npm run seed, npm run admin) the `cli` one, kept in a 0600 file.
  const seeds = infra.natsIdentities === undefined ? undefined : seedsOf(infra.natsIdentities);
  const cliSeedFile = resolve(config.STACK_DIR, 'nats-cli.nk');
  if (seeds !== undefined) await writeFile(cliSeedFile, `${seeds.cli}\n`, { mode: 0o600 });
  say(`  database: ${infra.mongoUrl} (${infra.mongoSource})`);
  say('starting auth, assessment, chat, cleanup and gateway…');
  platform = await startPlatform({
    natsUrl: infra.natsUrl,
    mongoUrl: infra.mongoUrl,
    dbName: config.MONGO_DB,
    gatewayPorts: [config.PORT],
    inheritEnv: processEnv(),
    natsSeeds: seeds,
    env: { LOG_LEVEL: config.LOG_LEVEL },
    log: (line) => process.stdout.write(`${line}\n`),
  });
  const bus = await connectBus({
    servers: infra.natsUrl,
    nkeySeed: seeds?.cli ?? config.NATS_NKEY_SEED,
    name: 'seed',
    log: createLogger({ service: 'seed', level: 'warn' }),
  });
  const seed = await seedDemo(bus);
  await bus.close();
  const http = `http://127.0.0.1:${config.PORT}`;
  const ws = `ws://127.0.0.1:${config.PORT}/ws/assessment`;
  say('');
  say('The assessment platform is running.');
  say(`  WebSocket:        ${ws}`);
  say(`  candidate page:   ${http}/  (sign in with an invitation code below)`);
  say(`  proctor page:     ${http}/proctor  (sign in as the proctor below)`);
  say(`  HTTP:             ${http}  (GET /healthz, /readyz, /api/tests/{id}/results; POST /api/auth/login, /api/auth/invitations/redeem, /api/tests/{id}/invitations)`);
  say(`  test_id:          ${seed.test_id}`);
  say(`  invitation code:  ${seed.candidate.invitation_code}`);
  say(`  adaptive test:    test_id ${seed.adaptive_test_id}, invitation code ${seed.adaptive_invitation_code}`);
  say(`  candidate token:  ${seed.candidate.token}`);
  say(`  recruiter:        ${seed.recruiter.email} / ${seed.recruiter.password}`);
  say(`  proctor:          ${seed.proctor.email} / ${seed.proctor.password}`);
  say('');
  say('Take the demo test with the CLI client, in another terminal:');
  say(`  npm run client -- --url ${ws} --code ${seed.candidate.invitation_code}`);
  say(`  npm run client -- --url ${ws} --code ${seed.adaptive_invitation_code}   # the adaptive test`);
  say(
    seeds === undefined
      ? `Each \`NATS_URL=${infra.natsUrl} npm run seed\` invites another candidate. Ctrl-C stops everything.`
      : `Each \`NATS_URL=${infra.natsUrl} NATS_NKEY_SEED=$(cat ${shownPath(cliSeedFile)}) npm run seed\` invites another candidate. Ctrl-C stops everything.`,
  );
  // Child processes do not hold the event loop; this watch does, and reports a service that died.
  const running = platform;
  const reported = new Set<string>();
  setInterval(() => {
    for (const p of running.processes) {
      const name = `${p.service}-${p.index}`;
      if (p.proc.exited() && !reported.has(name)) {
        reported.add(name);
        process.stderr.write(`${p.service} stopped (${p.proc.exitReason()}); see its log lines above\n`);
      }
    }
  }, 2000);
} catch (err) {
  process.stderr.write(`\ncould not start: ${err instanceof Error ? err.message : String(err)}\n`);
  await stop(1);
}
