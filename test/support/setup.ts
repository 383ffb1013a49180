import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import type { Db } from 'mongodb';
import { WebSocket } from 'ws';
import { connectBus } from '@ap/bus';
import type { Bus } from '@ap/bus';
import { natsNkeySeed, parseConfig, processEnv } from '@ap/config';
import { seedDemo } from '@ap/demo';
import type { DemoSeed } from '@ap/demo';
import { createLogger } from '@ap/logging';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNatsIdentities, natsAuthorizationConfig, publicKeysOf, seedsOf, startInfra, startMongo, startNats } from '@ap/stack';
import { startPlatform } from '@ap/stack';
import { startNatsCluster } from '@ap/stack';
import type { Infra, MongoServer, NatsClusterNode, NatsIdentities } from '@ap/stack';
import type { Platform, PlatformOptions } from '@ap/stack';
import type { TestDefinitionInput } from '@ap/protocol';
import { z } from 'zod';

/** A whole platform for a test: real NATS and database servers, every service as its own process. */
export type TestStack = {
  natsUrl: string;
  mongoUrl: string;
  dbName: string;
  platform: Platform;
  /** http://127.0.0.1:port of the first gateway. */
  httpUrl: string;
  /** ws://127.0.0.1:port of the first gateway. */
  wsUrl: string;
  /** The database, read directly to check what the services stored. */
  db: Db;
  /** A bus connection for the test itself (seeding, invitations), as the operator's `cli` NATS user. */
  bus: Bus;
  /** The NKEY users of the NATS server the stack started (absent with a given NATS_URL). */
  natsIdentities: NatsIdentities | undefined;
  /** Environment for a command-line tool that connects to this stack's NATS as the operator (NATS_URL, NATS_NKEY_SEED). */
  cliEnv: Record<string, string>;
  seed: DemoSeed;
  /** With `natsCluster`: the nodes of the NATS cluster, each of which can be killed and started again. */
  natsNodes: NatsClusterNode[] | undefined;
  /** Service log lines of requests answered INTERNAL so far (each names its subject and request id). */
  internalReplies(): string[];
  /** With `restartable`: stops NATS or the database and starts it again on the same port and data. */
  stopNats(): Promise<void>;
  startNats(): Promise<void>;
  stopDatabase(): Promise<void>;
  /** With `restartable`: kills the database with SIGKILL (`startDatabase` brings it back on the same data). */
  killDatabase(): Promise<void>;
  startDatabase(): Promise<void>;
  /** Creates a test over the first `itemCount` items of the demo bank, as the demo recruiter. */
  createTest(definition: Omit<TestDefinitionInput, 'items'>, itemCount: number): Promise<string>;
  /** Invites `count` candidates, ten at a time. */
  inviteCandidates(count: number, testId?: string): Promise<Awaited<ReturnType<TestStack['inviteCandidate']>>[]>;
  /** Invites a new candidate to a test and returns a token for them. */
  inviteCandidate(testId?: string): Promise<{ token: string; user_id: string; code: string; application_id: string }>;
  /** Creates (or reuses) a staff user scoped to `tests` and returns a login token for them. */
  staffToken(email: string, role: 'proctor' | 'recruiter', tests: string[]): Promise<string>;
  close(): Promise<void>;
};

const envSchema = z.object({
  NATS_URL: z.string().optional(),
  NATS_NKEY_SEED: natsNkeySeed,
  MONGO_URL: z.string().optional(),
  TEST_LOG: z.enum(['0', '1']).default('0'),
});

/** Starts infrastructure (or uses NATS_URL/MONGO_URL), the five services, and seeds the demo. */
export async function setup(
  options: {
    replicas?: PlatformOptions['replicas'];
    env?: Record<string, string>;
    /** Start our own nats-server and database processes that the test may stop and start again. */
    restartable?: boolean;
    /** Receives every output line of the services (for example to count what each replica handled). */
    onLog?: (line: string) => void;
    /** Give each non-gateway replica its own METRICS_PORT (`platform.processes[i].metricsUrl`). */
    metricsPorts?: boolean;
    /**
     * A NATS cluster of this many nodes (3: what production runs) instead of one server; the
     * services connect with every node's URL and keep their streams and buckets on all of them.
     */
    natsCluster?: number;
    /**
     * The test injects faults (kills, restarts); set by `restartable`. Without faults, `close()`
     * fails when any service answered INTERNAL during the run.
     */
    faults?: boolean;
  } = {},
): Promise<TestStack> {
  const env = parseConfig(envSchema, processEnv());
  const echo = env.TEST_LOG === '1' ? (line: string) => process.stderr.write(`${line}\n`) : undefined;
  // Every INTERNAL reply is logged by the bus at error level as 'answered INTERNAL' (libs/bus).
  const internal: string[] = [];
  const log = (line: string) => {
    echo?.(line);
    options.onLog?.(line);
    if (line.includes('"msg":"answered INTERNAL"') && internal.length < 1000) internal.push(line);
  };
  const clusterSize = options.natsCluster !== undefined && options.natsCluster > 1 ? options.natsCluster : undefined;
  const infra: ControlledInfra =
    options.restartable === true
      ? await restartableInfra(clusterSize)
      : withoutControl(await startInfra({ natsUrl: env.NATS_URL, mongoUrl: env.MONGO_URL, log: echo, natsCluster: clusterSize }));
  const dbName = `test_${randomBytes(5).toString('hex')}`;
  const seeds = infra.natsIdentities === undefined ? undefined : seedsOf(infra.natsIdentities);
  const cliSeed = seeds?.cli ?? env.NATS_NKEY_SEED;
  let platform: Platform | undefined;
  let mongo: MongoClient | undefined;
  let bus: Bus | undefined;
  try {
    platform = await startPlatform({
      natsUrl: infra.natsUrl,
      mongoUrl: infra.mongoUrl,
      dbName,
      log,
      inheritEnv: processEnv(),
      natsSeeds: seeds,
      ...(options.replicas === undefined ? {} : { replicas: options.replicas }),
      ...(options.metricsPorts === undefined ? {} : { metricsPorts: options.metricsPorts }),
      env: {
        LOG_LEVEL: env.TEST_LOG === '1' ? 'info' : 'warn',
        ...(clusterSize === undefined ? {} : { JETSTREAM_REPLICAS: String(Math.min(3, clusterSize)) }),
        ...options.env,
      },
    });
    mongo = new MongoClient(infra.mongoUrl);
    await mongo.connect();
    bus = await connectBus({
      servers: infra.natsUrl,
      nkeySeed: cliSeed,
      name: 'test',
      log: createLogger({ service: 'test', level: 'warn' }),
    });
    const seed = await seedDemo(bus);
    const httpUrl = platform.gatewayUrls[0] as string;
    const testBus = bus;
    const testMongo = mongo;
    const testPlatform = platform;
    const invite = async (testId = seed.test_id) => {
      const email = `c-${randomBytes(4).toString('hex')}@test.example`;
      // A busy machine may answer SERVICE_UNAVAILABLE or TIMEOUT: set-up retries, as a client would.
      const invitation = await transientRetry(() =>
        testBus.request('authInvite', {
          caller: { user_id: seed.recruiter.user_id, role: 'recruiter' },
          test_id: testId,
          candidate_email: email,
        }),
      );
      const redeemed = await transientRetry(() => testBus.request('authRedeem', { code: invitation.code }));
      return { token: redeemed.token, user_id: redeemed.user_id, code: invitation.code, application_id: redeemed.application_id };
    };
    return {
      natsUrl: infra.natsUrl,
      mongoUrl: infra.mongoUrl,
      dbName,
      platform,
      httpUrl,
      wsUrl: httpUrl.replace(/^http/, 'ws'),
      db: mongo.db(dbName),
      bus,
      natsIdentities: infra.natsIdentities,
      natsNodes: infra.natsNodes,
      internalReplies: () => [...internal],
      cliEnv: { NATS_URL: infra.natsUrl, ...(cliSeed === undefined ? {} : { NATS_NKEY_SEED: cliSeed }) },
      seed,
      stopNats: () => infra.control('nats', 'stop'),
      startNats: () => infra.control('nats', 'start'),
      stopDatabase: () => infra.control('mongo', 'stop'),
      killDatabase: () => infra.control('mongo', 'kill'),
      startDatabase: () => infra.control('mongo', 'start'),
      async createTest(definition, itemCount) {
        const demo = await testMongo.db(dbName).collection<{ _id: string; items: string[] }>('tests').findOne({ _id: seed.test_id });
        const items = (demo?.items ?? []).slice(0, itemCount);
        const r = await testBus.request('testCreate', {
          caller: { user_id: seed.recruiter.user_id, role: 'recruiter' },
          definition: { ...definition, items },
        });
        return r.test_id;
      },
      async staffToken(email, role, tests) {
        const password = `${email}-password`;
        await testBus.request('authCreateUser', { caller: { user_id: 'system', role: 'admin' }, email, password, role, tests });
        return (await testBus.request('authLogin', { email, password })).token;
      },
      async inviteCandidates(count, testId) {
        const out: Awaited<ReturnType<TestStack['inviteCandidate']>>[] = [];
        for (let i = 0; i < count; i += 10) {
          out.push(...(await Promise.all(Array.from({ length: Math.min(10, count - i) }, () => invite(testId)))));
        }
        return out;
      },
      inviteCandidate: invite,
      async close() {
        await testBus.close();
        await testPlatform.close();
        await testMongo.close();
        await infra.close();
        if (internal.length > 0 && options.faults !== true && options.restartable !== true) {
          throw new Error(
            `${internal.length} requests were answered INTERNAL in a run without faults:\n${internal.slice(0, 5).join('\n')}`,
          );
        }
      },
    };
  } catch (err) {
    await bus?.close();
    await platform?.close();
    await mongo?.close();
    await infra.close();
    throw err;
  }
}

type ControlledInfra = Pick<Infra, 'natsUrl' | 'mongoUrl' | 'natsIdentities' | 'close'> & {
  natsNodes?: NatsClusterNode[];
  control(which: 'nats' | 'mongo', action: 'stop' | 'start' | 'kill'): Promise<void>;
};

async function transientRetry<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (attempt >= 8 || (code !== 'SERVICE_UNAVAILABLE' && code !== 'TIMEOUT')) throw err;
      await new Promise((r) => setTimeout(r, 250 * attempt));
    }
  }
}

function withoutControl(infra: Infra): ControlledInfra {
  return {
    natsUrl: infra.natsUrl,
    mongoUrl: infra.mongoUrl,
    ...(infra.natsIdentities === undefined ? {} : { natsIdentities: infra.natsIdentities }),
    ...(infra.natsCluster === undefined ? {} : { natsNodes: infra.natsCluster.nodes }),
    close: () => infra.close(),
    control: () => Promise.reject(new Error('start the stack with { restartable: true } to stop and start its servers')),
  };
}

/**
 * nats-server (or a cluster of `clusterSize` nodes) and the database as our own children, each
 * restartable on the same port and data directory.
 */
async function restartableInfra(clusterSize?: number): Promise<ControlledInfra> {
  const dir = await mkdtemp(join(tmpdir(), 'ap-faults-'));
  // The same users and permissions on every start, as a restarted production server keeps its config.
  const natsIdentities = createNatsIdentities();
  const natsConfig = natsAuthorizationConfig(publicKeysOf(natsIdentities));
  if (clusterSize !== undefined) {
    const cluster = await startNatsCluster({ dir: join(dir, 'nats-cluster'), config: natsConfig, size: clusterSize });
    let mongo: MongoServer | undefined = await startMongo({ dir: join(dir, 'mongo') });
    const mongoPort = mongo.port;
    return {
      natsUrl: cluster.url,
      mongoUrl: `mongodb://127.0.0.1:${mongoPort}/`,
      natsIdentities,
      natsNodes: cluster.nodes,
      async control(which, action) {
        if (which === 'nats') {
          await Promise.all(cluster.nodes.map((n) => (action === 'start' ? n.start() : action === 'kill' ? n.kill() : n.stop())));
        } else if (action === 'start') {
          mongo ??= await startMongo({ dir: join(dir, 'mongo'), port: mongoPort });
        } else {
          await (action === 'kill' ? mongo?.kill() : mongo?.close());
          mongo = undefined;
        }
      },
      async close() {
        await cluster.close();
        await mongo?.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
  let nats: { port: number; close(): Promise<void> } | undefined = await startNats({ dir: join(dir, 'nats'), config: natsConfig });
  let mongo: MongoServer | undefined = await startMongo({ dir: join(dir, 'mongo') });
  const natsPort = nats.port;
  const mongoPort = mongo.port;
  return {
    natsUrl: `nats://127.0.0.1:${natsPort}`,
    mongoUrl: `mongodb://127.0.0.1:${mongoPort}/`,
    natsIdentities,
    async control(which, action) {
      if (which === 'nats') {
        if (action !== 'start') {
          await nats?.close();
          nats = undefined;
        } else nats ??= await startNats({ dir: join(dir, 'nats'), port: natsPort, config: natsConfig });
      } else if (action === 'start') {
        mongo ??= await startMongo({ dir: join(dir, 'mongo'), port: mongoPort });
      } else {
        await (action === 'kill' ? mongo?.kill() : mongo?.close());
        mongo = undefined;
      }
    },
    async close() {
      await nats?.close();
      await mongo?.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A raw WebSocket to the gateway that records every frame, for tests that need byte-level control. */
export type RawSocket = {
  ws: WebSocket;
  frames: { type: string; data: Record<string, unknown>; reply_to?: string }[];
  send(frame: unknown): void;
  sendText(text: string): void;
  /** Waits for the first frame (from now on, or already received after `since`) matching the predicate. */
  waitFor(pred: (f: RawSocket['frames'][number]) => boolean, timeoutMs?: number): Promise<RawSocket['frames'][number]>;
  reply(id: string, timeoutMs?: number): Promise<RawSocket['frames'][number]>;
  closed: Promise<{ code: number; reason: string }>;
};

/** Opens a raw socket; resolves once open. */
export function openRaw(url: string, headers: Record<string, string> = {}): Promise<RawSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const frames: RawSocket['frames'] = [];
    const waiters = new Set<() => void>();
    const closed = new Promise<{ code: number; reason: string }>((r) =>
      ws.on('close', (code, reason) => r({ code, reason: reason.toString() })),
    );
    ws.on('message', (raw) => {
      frames.push(JSON.parse((raw as Buffer).toString('utf8')) as RawSocket['frames'][number]);
      for (const w of waiters) w();
    });
    ws.once('error', reject);
    ws.once('open', () => {
      const raw: RawSocket = {
        ws,
        frames,
        closed,
        send: (frame) => ws.send(JSON.stringify(frame)),
        sendText: (text) => ws.send(text),
        waitFor(pred, timeoutMs = 10_000) {
          return new Promise((res, rej) => {
            const check = () => {
              const hit = frames.find(pred);
              if (hit !== undefined) {
                waiters.delete(check);
                clearTimeout(timer);
                res(hit);
              }
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              rej(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(frames.slice(-5))}`));
            }, timeoutMs);
            waiters.add(check);
            check();
          });
        },
        reply(id, timeoutMs) {
          return raw.waitFor((f) => f.reply_to === id, timeoutMs);
        },
      };
      resolve(raw);
    });
  });
}

/** Opens a socket with `token` in the query and waits for `auth_success`. */
export async function openAuthed(url: string, token: string): Promise<RawSocket> {
  const s = await openRaw(`${url}?token=${encodeURIComponent(token)}`);
  await s.waitFor((f) => f.type === 'auth_success');
  return s;
}

let askSeq = 0;
/** Sends a frame with a fresh request id and returns the frame that answers it. */
export async function ask(s: RawSocket, type: string, data: Record<string, unknown> = {}): Promise<RawSocket['frames'][number]> {
  const id = `r${String((askSeq += 1))}`;
  s.send({ type, data, id });
  return s.reply(id);
}

/** Waits for a frame that arrives after `since` frames were already there. */
export function nextFrame(
  s: RawSocket,
  since: number,
  pred: (f: RawSocket['frames'][number]) => boolean,
  timeoutMs = 10_000,
): Promise<RawSocket['frames'][number]> {
  return s.waitFor((f) => s.frames.indexOf(f) >= since && pred(f), timeoutMs);
}
