import { MongoClient } from 'mongodb';
import type { Db, MongoClientOptions } from 'mongodb';
import type { Logger } from '@ap/logging';

export type { Db };

/** An open database with its client, to close on shutdown. */
export type Database = { db: Db; client: MongoClient; close(): Promise<void>; ping(): Promise<boolean> };

/**
 * Connections per process when the connection string does not set `maxPoolSize`. FerretDB 1.24 on
 * SQLite has 100 SQLite connections and an update or delete holds two of them at once (its query
 * and its write), so the processes sharing one server must stay well below 100 connections in all.
 * In the scale test (auth, assessment and chat, two replicas each, 200 candidates) pools of 40 opened
 * 108 connections, 20 opened 67 and 10 opened 49, and 10 was not slower. Set `maxPoolSize` in
 * MONGO_URL for a MongoDB that should get more.
 */
export const DEFAULT_MAX_POOL_SIZE = 10;

/** The pool size a connection string asks for (`maxPoolSize=N` in its query), if any. */
export function poolSizeInUrl(url: string): number | undefined {
  const m = /[?&]maxPoolSize=(\d+)(?:&|$)/i.exec(url);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

/** How often the watchdog checks the client, and after how many failed checks in a row it probes. */
const WATCHDOG_INTERVAL_MS = 5000;
const WATCHDOG_FAILURES = 3;

/** Connects to a MongoDB-wire server (MongoDB 7 or FerretDB) and checks it answers. */
export async function connectDatabase(options: {
  url: string;
  name: string;
  log: Logger;
  appName?: string;
  /** Check interval of the watchdog (0 turns it off). */
  watchdogIntervalMs?: number;
}): Promise<Database> {
  const log = options.log.child({ module: 'db' });
  const clientOptions: MongoClientOptions = {
    appName: options.appName ?? 'assessment-platform',
    // Fail fast while the database is away, so callers get SERVICE_UNAVAILABLE before their own timeout.
    serverSelectionTimeoutMS: 3000,
    connectTimeoutMS: 3000,
    // An option given here would override the connection string's, so the default applies only without one.
    ...(poolSizeInUrl(options.url) === undefined ? { maxPoolSize: DEFAULT_MAX_POOL_SIZE } : {}),
  };
  const client = new MongoClient(options.url, clientOptions);
  await client.connect();
  const db = client.db(options.name);
  await db.command({ ping: 1 });
  log.info({ db: options.name }, 'database connected');

  const ping = async (): Promise<boolean> => {
    try {
      await db.command({ ping: 1 });
      return true;
    } catch {
      return false;
    }
  };

  // Watchdog. After a database restart under load the driver has been seen (with FerretDB 1.24)
  // to stay in "server selection failed" for good while a new client reaches the server at once.
  // When pings keep failing but a fresh client gets through, the client is closed and connected
  // again; collections taken from it keep working, since operations use its current topology.
  let failures = 0;
  let checking = false;
  const state = { closed: false };
  const isClosed = (): boolean => state.closed;
  const intervalMs = options.watchdogIntervalMs ?? WATCHDOG_INTERVAL_MS;
  const watchdog =
    intervalMs > 0
      ? setInterval(() => {
          if (checking || state.closed) return;
          checking = true;
          void (async () => {
            if (await ping()) {
              failures = 0;
              return;
            }
            failures += 1;
            if (failures < WATCHDOG_FAILURES || state.closed) return;
            const probe = new MongoClient(options.url, { ...clientOptions, maxPoolSize: 1 });
            try {
              await probe.connect();
              await probe.db(options.name).command({ ping: 1 });
            } catch {
              return; // the server is really away: nothing to repair
            } finally {
              await probe.close().catch(() => undefined);
            }
            log.warn({ failed_checks: failures }, 'database reachable but this client is stuck: reconnecting it');
            await client.close().catch(() => undefined);
            // close() may have been called while this check ran.
            if (!isClosed()) await client.connect();
            failures = 0;
          })()
            .catch((err: unknown) => log.warn({ err }, 'database watchdog check failed'))
            .finally(() => {
              checking = false;
            });
        }, intervalMs)
      : undefined;
  watchdog?.unref();

  return {
    db,
    client,
    close: async () => {
      state.closed = true;
      clearInterval(watchdog);
      await client.close();
    },
    ping,
  };
}

/** True when an error means the database cannot be reached right now (not a bad request). */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return /^Mongo(ServerSelection|Network|NetworkTimeout|NotConnected|Topology|PoolCleared|ServerClosed)/.test(err.name);
}

/** True when a MongoDB error is a duplicate-key violation. */
export function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && err.code === 11000;
}

export { createGroupInsert, InsertError } from './group-insert.ts';
export type { GroupInsert } from './group-insert.ts';
export { createKeyIndex } from './key-index.ts';
export type { KeyDoc, KeyIndex } from './key-index.ts';
