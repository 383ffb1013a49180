import { MongoClient } from 'mongodb';
import type { Db } from 'mongodb';
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

/** Connects to a MongoDB-wire server (MongoDB 7 or FerretDB) and checks it answers. */
export async function connectDatabase(options: { url: string; name: string; log: Logger; appName?: string }): Promise<Database> {
  const client = new MongoClient(options.url, {
    appName: options.appName ?? 'assessment-platform',
    // Fail fast while the database is away, so callers get SERVICE_UNAVAILABLE before their own timeout.
    serverSelectionTimeoutMS: 3000,
    connectTimeoutMS: 3000,
    // An option given here would override the connection string's, so the default applies only without one.
    ...(poolSizeInUrl(options.url) === undefined ? { maxPoolSize: DEFAULT_MAX_POOL_SIZE } : {}),
  });
  await client.connect();
  const db = client.db(options.name);
  await db.command({ ping: 1 });
  options.log.child({ module: 'db' }).info({ db: options.name }, 'database connected');
  return {
    db,
    client,
    close: () => client.close(),
    ping: async () => {
      try {
        await db.command({ ping: 1 });
        return true;
      } catch {
        return false;
      }
    },
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
