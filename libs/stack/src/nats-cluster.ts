import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { processEnvironment } from './config.ts';
import { dataDir } from './launch.ts';
import { HOST, freePort, probeTcp, sleep } from './net.ts';
import { removeTempDir, spawnServer, startupError } from './proc.ts';
import type { LocalServerOptions } from './launch.ts';
import type { LogFn, ServerProcess } from './proc.ts';
import { findTool, installHint } from './tools.ts';

/** One server of a {@link NatsCluster}: its ports stay the same across restarts, and so does its store. */
export interface NatsClusterNode {
  /** `server_name`, e.g. `n1`. */
  readonly name: string;
  /** Client URL, e.g. `nats://127.0.0.1:41234`. */
  readonly url: string;
  readonly port: number;
  /** Where the other servers route to it. */
  readonly clusterPort: number;
  /** HTTP monitoring (`/healthz`, `/jsz`, `/varz`). */
  readonly monitorUrl: string;
  /** The process id while it runs. */
  pid: () => number | undefined;
  running: () => boolean;
  /** SIGKILL, as a crash would: no goodbye to clients or routes. */
  kill: () => Promise<void>;
  /** SIGTERM, SIGKILL after 5 s. */
  stop: () => Promise<void>;
  /** Starts it again on the same ports and store; resolves once it is back in the cluster with JetStream current. */
  start: () => Promise<void>;
}

/** A cluster of local nats-servers with JetStream, routed to each other on 127.0.0.1. */
export interface NatsCluster {
  /** The client URLs of every node, comma-separated: what `NATS_URL` takes. */
  url: string;
  urls: string[];
  nodes: NatsClusterNode[];
  /** Stops every node and removes a temporary store. */
  close: () => Promise<void>;
}

/** Options of {@link startNatsCluster}. */
export type NatsClusterOptions = Omit<LocalServerOptions, 'port'> & {
  /** Number of servers (default 3: JetStream keeps a quorum with one of them down). */
  size?: number | undefined;
  /** A config body every node gets as well (the authorization block of `natsAuthorizationConfig`). */
  config?: string;
  /** The cluster's name (default `ap`). */
  name?: string;
};

// What /healthz answers: 200 {"status":"ok"} once JetStream has a meta leader and its streams are current.
const healthSchema = z.object({ status: z.string(), error: z.string().optional() });
// The part of /jsz that says which peers the meta leader sees (only the leader lists replicas).
const jszSchema = z.object({
  meta_cluster: z
    .object({ replicas: z.array(z.object({ name: z.string(), current: z.boolean(), offline: z.boolean().optional() })).optional() })
    .optional(),
});

/**
 * Starts `size` nats-servers (default three) with JetStream in one cluster: each on its own client,
 * route and monitoring port of 127.0.0.1, each routed to all the others, each with its own store.
 * Resolves once every node answers `/healthz` (JetStream has elected its meta leader), so a stream
 * with replicas up to `size` can be created at once.
 */
export async function startNatsCluster(opts: NatsClusterOptions = {}): Promise<NatsCluster> {
  const env = opts.env ?? processEnvironment();
  const bin = findTool('nats-server', env);
  if (bin === undefined) throw new Error(installHint('nats-server', env));
  const size = opts.size ?? 3;
  if (!Number.isInteger(size) || size < 1) throw new Error(`a cluster needs at least one server (size ${size})`);
  const data = await dataDir('nats-cluster', opts.dir);
  const clusterName = opts.name ?? 'ap';
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const specs: { name: string; port: number; clusterPort: number; monitorPort: number; dir: string }[] = [];
  for (let i = 1; i <= size; i++) {
    specs.push({
      name: `n${i}`,
      port: await freePort(),
      clusterPort: await freePort(),
      monitorPort: await freePort(),
      dir: join(data.dir, `n${i}`),
    });
  }
  const routes = specs.map((s) => `nats-route://${HOST}:${s.clusterPort}`);

  async function configFile(spec: (typeof specs)[number]): Promise<string> {
    await mkdir(spec.dir, { recursive: true });
    const file = join(spec.dir, 'nats.conf');
    const body = [
      opts.config ?? '',
      `server_name: ${JSON.stringify(spec.name)}`,
      `listen: "${HOST}:${spec.port}"`,
      `http: "${HOST}:${spec.monitorPort}"`,
      `jetstream { store_dir: ${JSON.stringify(join(spec.dir, 'jetstream-store'))} }`,
      'cluster {',
      `  name: ${JSON.stringify(clusterName)}`,
      `  listen: "${HOST}:${spec.clusterPort}"`,
      // Every node lists every route, itself included (a server ignores its own).
      `  routes: [${routes.map((r) => JSON.stringify(r)).join(', ')}]`,
      '}',
      '',
    ].join('\n');
    await writeFile(file, body, { mode: 0o600 });
    return file;
  }

  const files = await Promise.all(specs.map(configFile));
  const log: LogFn | undefined = opts.log;

  type Member = { node: NatsClusterNode; spawn(): void; proc(): ServerProcess | undefined };
  const members = specs.map((spec, i): Member => {
    let proc: ServerProcess | undefined;
    const running = (): boolean => proc !== undefined && !proc.exited();
    const member: Member = {
      spawn() {
        proc = spawnServer(`nats-${spec.name}`, bin, ['--config', files[i] as string], { env, log });
      },
      proc: () => proc,
      node: {
        name: spec.name,
        url: `nats://${HOST}:${spec.port}`,
        port: spec.port,
        clusterPort: spec.clusterPort,
        monitorUrl: `http://${HOST}:${spec.monitorPort}`,
        pid: () => (running() ? proc?.pid : undefined),
        running,
        async kill() {
          await proc?.kill('SIGKILL');
        },
        async stop() {
          await proc?.stop();
        },
        async start() {
          if (running()) return;
          member.spawn();
          await waitHealthy(member, timeoutMs);
        },
      },
    };
    return member;
  });

  async function waitHealthy(member: Member, ms: number): Promise<void> {
    const { node } = member;
    const deadline = Date.now() + ms;
    let last = 'no answer';
    while (Date.now() < deadline) {
      const proc = member.proc();
      if (proc === undefined || proc.exited()) break;
      try {
        const greeting = await probeTcp(node.port, { firstLine: true, timeoutMs: 1000 });
        if (greeting.startsWith('INFO ')) {
          const res = await fetch(`${node.monitorUrl}/healthz`, { signal: AbortSignal.timeout(2000) });
          const health = healthSchema.safeParse(await res.json());
          if (res.ok && health.success && health.data.status === 'ok') return;
          last = health.success ? (health.data.error ?? health.data.status) : `HTTP ${res.status}`;
        }
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
      }
      await sleep(100);
    }
    const proc = member.proc();
    const what = `nats-server ${node.name} of the cluster not healthy on ${node.url} within ${ms} ms (${last})`;
    throw proc === undefined ? new Error(what) : startupError(proc, what);
  }

  /**
   * Healthy nodes are not enough for an R3 stream: the meta leader may not have seen every peer
   * online yet ("no suitable peers for placement, peer offline"). Waits until one node's /jsz
   * (the leader's) lists every other peer as current and online.
   */
  async function waitMetaPeers(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    let last = 'no meta leader';
    while (Date.now() < deadline) {
      for (const { node } of members) {
        try {
          const res = await fetch(`${node.monitorUrl}/jsz`, { signal: AbortSignal.timeout(2000) });
          const jsz = jszSchema.safeParse(await res.json());
          const replicas = jsz.success ? jsz.data.meta_cluster?.replicas : undefined;
          if (replicas === undefined) continue;
          if (replicas.length === size - 1 && replicas.every((r) => r.current && r.offline !== true)) return;
          last = `meta leader ${node.name} sees ${String(replicas.filter((r) => r.current && r.offline !== true).length)} of ${String(size - 1)} peers`;
        } catch (err) {
          last = err instanceof Error ? err.message : String(err);
        }
      }
      await sleep(100);
    }
    throw new Error(`the cluster's JetStream peers were not all online within ${String(ms)} ms (${last})`);
  }

  const close = async (): Promise<void> => {
    await Promise.all(members.map((m) => m.node.stop()));
    if (data.temp) await removeTempDir(data.dir);
  };
  try {
    // All at once: JetStream elects its meta leader only when a quorum of the routes is up.
    for (const m of members) m.spawn();
    await Promise.all(members.map((m) => waitHealthy(m, timeoutMs)));
    await waitMetaPeers(timeoutMs);
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
  const nodes = members.map((m) => m.node);
  const urls = nodes.map((n) => n.url);
  return { url: urls.join(','), urls, nodes, close };
}
