import { processEnvironment } from './config.ts';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import type { StackEnv } from './config.ts';
import { HOST, freePort, isPortOpen, sleep } from './net.ts';
import { dataDir, launch, type LocalServerOptions } from './launch.ts';
import { findTool, installHint } from './tools.ts';
import { keepFerretTablesIndexed } from './ferret-index.ts';

/** A running MongoDB-wire server child process. */
export interface MongoServer {
  /** Connection string, e.g. `mongodb://127.0.0.1:41235/`. */
  url: string;
  port: number;
  /** Which server runs: a real mongod, or FerretDB on SQLite. */
  kind: 'mongod' | 'ferretdb';
  /** FerretDB's Prometheus metrics (`ferretdb_client_requests_total` counts commands); absent for mongod. */
  metricsUrl?: string;
  /** Stops the server (SIGTERM, SIGKILL after 5 s) and removes its temp dir. */
  close: () => Promise<void>;
  /** Kills the server with SIGKILL, as a crash would (its data directory stays for a restart). */
  kill: () => Promise<void>;
}

/** Sends one `ping` to `url`; resolves true when the server answers ok. */
export async function pingMongo(url: string, timeoutMs = 1000): Promise<boolean> {
  const client = new MongoClient(url, {
    serverSelectionTimeoutMS: timeoutMs,
    connectTimeoutMS: timeoutMs,
    directConnection: true,
  });
  try {
    const res = await client.db('admin').command({ ping: 1 });
    return res['ok'] === 1;
  } catch {
    return false;
  } finally {
    await client.close().catch(() => undefined);
  }
}

/** Polls `pingMongo(url)` until it succeeds or `timeoutMs` passes. */
export async function waitForMongo(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await pingMongo(url)) return;
    await sleep(100);
  }
  throw new Error(`MongoDB at ${url} did not answer ping within ${timeoutMs} ms`);
}

function withoutPrefix(env: StackEnv, prefix: string): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith(prefix)));
}

/**
 * Starts a local MongoDB-wire server on a free 127.0.0.1 port: `mongod` when available,
 * else FerretDB with its SQLite backend. Waits until it answers `ping` (default 30 s).
 */
export async function startMongo(opts: LocalServerOptions = {}): Promise<MongoServer> {
  const env = opts.env ?? processEnvironment();
  const mongod = findTool('mongod', env);
  const ferretdb = mongod === undefined ? findTool('ferretdb', env) : undefined;
  const bin = mongod ?? ferretdb;
  if (bin === undefined) throw new Error(installHint('ferretdb', env));
  const kind = mongod !== undefined ? 'mongod' : 'ferretdb';
  const data = await dataDir(kind, opts.dir);
  const dbDir = join(data.dir, kind === 'mongod' ? 'db' : 'sqlite');
  await mkdir(dbDir, { recursive: true });

  // FerretDB's debug endpoint serves its metrics (commands counted by name) for benchmarks.
  const debugPort = kind === 'ferretdb' ? await freePort() : undefined;
  const args =
    kind === 'mongod'
      ? (port: number) => ['--dbpath', dbDir, '--port', String(port), '--bind_ip', HOST, '--quiet']
      : (port: number) => [
          '--handler=sqlite',
          // Reads through a memory map (up to 1 GiB) share the OS page cache instead of copying
          // pages into each connection's small cache: with 10,000 assessments stored (650 MB) the
          // answer rate fell 11% from an empty database instead of 34% (npm run bench, --stored).
          `--sqlite-url=file:${dbDir}/?_pragma=mmap_size(1073741824)`,
          `--listen-addr=${HOST}:${port}`,
          `--state-dir=${data.dir}`,
          `--debug-addr=${HOST}:${String(debugPort)}`,
          '--telemetry=disable',
          // WARN and below dump every unsupported command (e.g. the driver's endSessions on close)
          // as a multi-line message; ERROR still reports startup failures such as a busy port.
          '--log-level=ERROR',
        ];
  const launched = await launch({
    name: kind,
    bin,
    args,
    ready: async (port) => (await isPortOpen(port)) && pingMongo(`mongodb://${HOST}:${port}/`),
    // FerretDB reads FERRETDB_* variables as flag values; do not leak e.g. FERRETDB_BIN into it.
    env: kind === 'ferretdb' ? withoutPrefix(env, 'FERRETDB_') : env,
    log: opts.log,
    port: opts.port,
    timeoutMs: opts.timeoutMs ?? 30_000,
    ...(data.temp ? { cleanupDir: data.dir } : {}),
  });
  // FerretDB's lookups by _id scan their table unless an index matches the expression they use.
  const indexer = kind === 'ferretdb' ? keepFerretTablesIndexed(dbDir, { log: opts.log }) : undefined;
  return {
    url: `mongodb://${HOST}:${launched.port}/`,
    port: launched.port,
    kind,
    ...(debugPort === undefined ? {} : { metricsUrl: `http://${HOST}:${debugPort}/debug/metrics` }),
    close: async () => {
      indexer?.close();
      await launched.close();
    },
    kill: async () => {
      indexer?.close();
      await launched.proc.kill('SIGKILL');
    },
  };
}
