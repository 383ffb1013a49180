import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DatabaseSync } from 'node:sqlite';
import { MongoClient } from 'mongodb';
import { indexFerretTables } from './ferret-index.ts';
import { startMongo } from './mongo.ts';

/** The query plan the server reports for a lookup by `_id` (FerretDB runs SQLite's EXPLAIN QUERY PLAN). */
async function lookupPlan(client: MongoClient, collection: string): Promise<string> {
  const res = await client.db('plan_test').command({ explain: { find: collection, filter: { _id: 'a:7' } } });
  return JSON.stringify(res['queryPlanner']);
}

void test('lookups by _id use an index, not a scan, on the stack’s database', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ap-plan-'));
  const mongo = await startMongo({ dir });
  const client = new MongoClient(mongo.url, { directConnection: true });
  try {
    const events = client.db('plan_test').collection<{ _id: string; n: number }>('events');
    await events.insertMany(Array.from({ length: 50 }, (_, n) => ({ _id: `a:${n}`, n })));
    if (mongo.kind !== 'ferretdb') {
      t.diagnostic(`${mongo.kind}: its _id index serves lookups by itself`);
      assert.match(await lookupPlan(client, 'events'), /IDHACK|EXPRESS_IDHACK|IXSCAN|_id_/);
      return;
    }
    const sqliteDir = join(dir, 'sqlite');
    // Without the index (dropped here: the stack's watcher does not make it twice) FerretDB scans.
    const file = new DatabaseSync(join(sqliteDir, 'plan_test.sqlite'));
    try {
      file.exec('PRAGMA busy_timeout = 5000');
      const table = (file.prepare(`SELECT table_name FROM _ferretdb_collections WHERE name = 'events'`).get() as { table_name: string })
        .table_name;
      file.exec(`DROP INDEX IF EXISTS "${table}__id_lookup"`);
    } finally {
      file.close();
    }
    // FerretDB's connections pick up a schema change with their next write.
    await events.insertOne({ _id: 'b:1', n: -1 });
    const unindexed = await lookupPlan(client, 'events');
    t.diagnostic(`without the index: ${unindexed}`);
    assert.match(unindexed, /SCAN/);
    // What the stack does at start and whenever a collection appears (idempotent).
    assert.deepEqual(indexFerretTables(sqliteDir).filter((k) => k.startsWith('plan_test.sqlite/events_')).length, 1);
    assert.deepEqual(indexFerretTables(sqliteDir, new Set()), [], 'a second run creates nothing new');
    await events.insertOne({ _id: 'b:2', n: -2 });
    const plan = await lookupPlan(client, 'events');
    t.diagnostic(plan);
    assert.match(plan, /SEARCH \S+ USING INDEX \S+__id_lookup/, 'the lookup uses the _id lookup index');
    assert.doesNotMatch(plan, /SCAN/, 'no table scan');
    // Updates and deletes by _id go through the same WHERE clause; the answer is found by the index.
    assert.deepEqual(await events.findOne({ _id: 'a:7' }), { _id: 'a:7', n: 7 });
  } finally {
    await client.close();
    await mongo.close();
    await rm(dir, { recursive: true, force: true });
  }
});
