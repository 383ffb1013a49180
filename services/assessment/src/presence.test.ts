import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createLogger } from '@ap/logging';
import { startMongo } from '@ap/stack';
import type { MongoServer } from '@ap/stack';
import { MongoClient } from 'mongodb';
import { openCollections } from './store.ts';
import type { Collections } from './store.ts';
import { createPresenceWriter } from './system.ts';

let mongo: MongoServer;
let client: MongoClient;
let col: Collections;

before(async () => {
  mongo = await startMongo();
  client = new MongoClient(mongo.url, { directConnection: true });
  col = await openCollections(client.db('presence_test'));
});

after(async () => {
  await client.close();
  await mongo.close();
});

const within = <T>(ms: number, p: Promise<T>, what: string): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms).unref())]);

// The scale test's flake: presence batches written as they arrived overlapped once the database
// slowed down, and twenty overlapping bulk writes of twenty updates took every connection of
// FerretDB 1.24's SQLite pool (one per update until its command ends, plus one per transaction):
// FerretDB deadlocked and every later answer waited until the handler timed out, again and again.
test('forty presence batches from four gateways at once are written one at a time, the newest of each gateway last, and the database keeps answering', async () => {
  let writes = 0;
  const writer = createPresenceWriter({
    col,
    log: createLogger({ service: 'test', level: 'silent' }),
    clock: () => new Date(Date.UTC(2030, 0, 1, 0, 0, (writes += 1))),
  });
  const gateways = ['gw-a', 'gw-b', 'gw-c', 'gw-d'];
  const idsOf = (g: string) => Array.from({ length: 100 }, (_, i) => `${g}-asm-${i}`);
  const startedAt = Date.now();
  const batches = [];
  for (let round = 0; round < 10; round++) for (const g of gateways) batches.push(writer.record(g, idsOf(g)));
  await within(60_000, Promise.all(batches), 'presence batches');
  const tookMs = Date.now() - startedAt;

  // The database still answers a write and a read at once.
  await within(
    5000,
    col.presence.updateOne({ _id: 'probe' }, { $set: { last_seen_at: new Date() } }, { upsert: true }),
    'a write after the batches',
  );
  const rows = await within(5000, col.presence.find({}).toArray(), 'a read after the batches');
  assert.equal(rows.length, 401);
  // The first batch of each gateway, then only its newest: 8 writes, not 40.
  assert.ok(writes <= 8, `${writes} writes for 40 batches`);
  const last = new Map<string, number>();
  for (const r of rows.filter((row) => row._id !== 'probe')) {
    const g = r._id.slice(0, 4);
    last.set(g, Math.max(last.get(g) ?? 0, r.last_seen_at.getTime()));
  }
  assert.equal(last.size, 4);
  process.stdout.write(`# 40 presence batches of 100 rows from 4 gateways at once: ${writes} writes, ${tookMs} ms (${mongo.kind})\n`);
});
