// `npm start`: the whole platform on one machine. Uses NATS_URL / MONGO_URL when set, otherwise
// starts a local nats-server and a MongoDB-compatible server (mongod, else FerretDB) as children,
// building them into the tools cache first when they are missing, starts the five services (their
// logs go to .stack/logs/services.log), seeds the demo, and prints how to take the demo test.
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { connectBus } from '@ap/bus';
import { natsNkeySeed, parseConfig, processEnv } from '@ap/config';
import { seedDemo } from '@ap/demo';
import { createLogger } from '@ap/logging';
import { ProvisionError, provisionTools, seedsOf, startInfra, startPlatform } from '@ap/stack';
import type { Infra, Platform } from '@ap/stack';
import { z } from 'zod';

const config = parseConfig(
  z.object({
    NATS_URL: z.string().min(1).optional(),
    // Credentials for a given NATS_URL (services and the seed use it); a local nats-server gets generated ones.
    NATS_NKEY_SEED: natsNkeySeed,
    MONGO_URL: z.string().min(1).optional(),
    MONGO_DB: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,63}$/)
      .default('assessment_platform'),
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
const logFile = resolve(config.STACK_DIR, 'logs', 'services.log');
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

/** A start-up step that failed: which component, and what the user can do about it. */
class StartFailure extends Error {
  override name = 'StartFailure';
  readonly component: string;
  readonly fix: string;
  constructor(component: string, fix: string, cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.component = component;
    this.fix = fix;
  }
}

async function phase<T>(component: string, fix: (message: string) => string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (err) {
    throw new StartFailure(component, fix(err instanceof Error ? err.message : String(err)), err);
  }
}

const pinoLine = z.object({ level: z.number(), msg: z.string().optional(), err: z.object({ message: z.string() }).optional() });
/**
 * Every service line goes to the log file; the terminal shows warnings and errors only, one short
 * line each (and lines that are not JSON, such as a crash's stack), so the address block stays on
 * the first screen.
 */
function serviceLog(file: ReturnType<typeof createWriteStream>): (line: string) => void {
  return (line) => {
    file.write(`${line}\n`);
    if (stopping) return;
    const m = /^(\[[^\]]+\]) (\{.*)$/.exec(line);
    let json: unknown;
    try {
      json = m === null ? undefined : JSON.parse(m[2] ?? '');
    } catch {
      json = undefined;
    }
    const entry = pinoLine.safeParse(json);
    if (!entry.success) {
      process.stderr.write(`${line}\n`);
      return;
    }
    if (entry.data.level < 40) return;
    const level = entry.data.level >= 50 ? 'error' : 'warn';
    const err = entry.data.err === undefined ? '' : `: ${entry.data.err.message}`;
    process.stderr.write(`${m?.[1] ?? ''} ${level}: ${entry.data.msg ?? ''}${err}  (details: ${shownPath(logFile)})\n`);
  };
}

try {
  await mkdir(dataDir, { recursive: true });
  await mkdir(resolve(config.STACK_DIR, 'logs'), { recursive: true });
  const logStream = createWriteStream(logFile, { flags: 'w' });
  await phase(
    'the tools (nats-server, FerretDB)',
    () =>
      'the Go build failed (its last lines are above): check that the Go module proxy is reachable (GOPROXY), or run the system in containers: docker compose up --build',
    () => provisionTools('start', { report: say }),
  );
  say('starting NATS and the database…');
  infra = await phase(
    'NATS and the database',
    () =>
      `a server from an earlier run may still hold ${shownPath(dataDir)}: stop it, or remove ${shownPath(dataDir)} to start afresh; ` +
      'or give running servers with NATS_URL and MONGO_URL',
    () => startInfra({ natsUrl: config.NATS_URL, mongoUrl: config.MONGO_URL, dir: dataDir }),
  );
  say(`  nats:     ${infra.natsUrl} (${infra.natsSource}${infra.natsIdentities === undefined ? '' : ', one NKEY user per service'})`);
  // A NATS server started here admits only the generated users: each service gets its own seed,
  // and the operator's tools (npm run seed, npm run admin) the `cli` one, kept in a 0600 file.
  const seeds = infra.natsIdentities === undefined ? undefined : seedsOf(infra.natsIdentities);
  const cliSeedFile = resolve(config.STACK_DIR, 'nats-cli.nk');
  if (seeds !== undefined) await writeFile(cliSeedFile, `${seeds.cli}\n`, { mode: 0o600 });
  say(`  database: ${infra.mongoUrl} (${infra.mongoSource})`);
  say(`starting auth, assessment, chat, cleanup and gateway (logs: ${shownPath(logFile)})…`);
  const started = infra;
  platform = await phase(
    'the services',
    (message) =>
      /EADDRINUSE|address already in use/i.test(message)
        ? `port ${config.PORT} is taken: stop what listens there, or choose another port (PORT=8081 npm start)`
        : `the failing service's last lines are above; all service output is in ${shownPath(logFile)} (LOG_LEVEL=debug npm start logs more)`,
    () =>
      startPlatform({
        natsUrl: started.natsUrl,
        mongoUrl: started.mongoUrl,
        dbName: config.MONGO_DB,
        gatewayPorts: [config.PORT],
        inheritEnv: processEnv(),
        natsSeeds: seeds,
        env: { LOG_LEVEL: config.LOG_LEVEL },
        log: serviceLog(logStream),
      }),
  );
  const bus = await connectBus({
    servers: infra.natsUrl,
    nkeySeed: seeds?.cli ?? config.NATS_NKEY_SEED,
    name: 'seed',
    log: createLogger({ service: 'seed', level: 'warn' }),
  });
  const seed = await phase(
    'the demo seed',
    () => `the services run but did not accept the demo; see ${shownPath(logFile)}`,
    () => seedDemo(bus),
  );
  await bus.close();
  const http = `http://127.0.0.1:${config.PORT}`;
  const ws = `ws://127.0.0.1:${config.PORT}/ws/assessment`;
  say('');
  say('The assessment platform is running.');
  say(`  WebSocket:        ${ws}`);
  say(`  candidate page:   ${http}/  (sign in with an invitation code below)`);
  say(`  proctor page:     ${http}/proctor  (sign in as the proctor below)`);
  say(
    `  HTTP:             ${http}  (GET /healthz, /readyz, /api/tests/{id}/results; POST /api/auth/login, /api/auth/invitations/redeem, /api/tests/{id}/invitations)`,
  );
  say(`  API documents:    ${http}/asyncapi.yaml (WebSocket and NATS), ${http}/openapi.yaml (HTTP)`);
  say(`  service logs:     ${shownPath(logFile)}`);
  say(`  test_id:          ${seed.test_id}`);
  say(`  invitation code:  ${seed.candidate.invitation_code}`);
  say(`  adaptive test:    test_id ${seed.adaptive_test_id}, invitation code ${seed.adaptive_invitation_code}`);
  say(
    `  example test:     test_id ${seed.example_test_id} (the protocol's example frames), invitation code ${seed.example_invitation_code}`,
  );
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
      if (p.proc.exited() && !reported.has(name) && !stopping) {
        reported.add(name);
        process.stderr.write(`${p.service} stopped (${p.proc.exitReason()}); its output is in ${shownPath(logFile)}\n`);
      }
    }
  }, 2000);
} catch (err) {
  if (err instanceof StartFailure) {
    const provision = err.cause instanceof ProvisionError;
    process.stderr.write(`\ncould not start ${err.component}: ${err.message}\n${provision ? '' : `fix: ${err.fix}\n`}`);
  } else {
    process.stderr.write(`\ncould not start: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  await stop(1);
}
