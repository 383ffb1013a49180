import { MongoClient } from 'mongodb';
import type { Db } from 'mongodb';
import type { Logger } from '@ap/logging';

export type { Db };

/** An open database with its client, to close on shutdown. */
export type Database = { db: Db; client: MongoClient; close(): Promise<void>; ping(): Promise<boolean> };

/** Connects to a MongoDB-wire server (MongoDB 7 or FerretDB) and checks it answers. */
export async function connectDatabase(options: { url: string; name: string; log: Logger; appName?: string }): Promise<Database> {
  const client = new MongoClient(options.url, {
    appName: options.appName ?? 'assessment-platform',
    // Fail fast while the database is away, so callers get SERVICE_UNAVAILABLE before their own timeout.
    serverSelectionTimeoutMS: 3000,
    connectTimeoutMS: 3000,
    maxPoolSize: 20,
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
