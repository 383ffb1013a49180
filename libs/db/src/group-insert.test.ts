import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MongoClient } from 'mongodb';
import type { Db } from 'mongodb';
import { startMongo } from '@ap/stack';
import type { MongoServer } from '@ap/stack';
import { createGroupInsert, isDatabaseUnavailable, isDuplicateKey } from './index.ts';

type Doc = { _id: string; n: number };

describe('inserts committed together when they arrive together', () => {
  let dir: string;
  let mongo: MongoServer;
  let client: MongoClient;
  let db: Db;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ap-group-'));
    mongo = await startMongo({ dir });
    client = new MongoClient(mongo.url, { directConnection: true });
    db = client.db('group_insert_test');
  });
  after(async () => {
    await client.close();
    await mongo.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('a lone insert is written at once, in a batch of its own', async () => {
    const col = db.collection<Doc>('lone');
    const group = createGroupInsert(col);
    await group.insert({ _id: 'a', n: 1 });
    assert.deepEqual(group.stats(), { batches: 1, docs: 1 });
    assert.deepEqual(await col.findOne({ _id: 'a' }), { _id: 'a', n: 1 });
  });

  test('concurrent inserts share commands, and each caller gets its own outcome', async () => {
    const col = db.collection<Doc>('many');
    await col.insertOne({ _id: 'k7', n: -1 });
    const group = createGroupInsert(col, { maxBatch: 16 });
    // 60 documents at once: k7 is already stored and k20 is sent twice, so exactly two must fail.
    const ids = Array.from({ length: 60 }, (_, i) => `k${i === 59 ? 20 : i}`);
    const outcomes = await Promise.allSettled(ids.map((_id, n) => group.insert({ _id, n })));
    const rejected = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [{ i, err: o.reason as unknown }] : []));
    assert.deepEqual(
      rejected.map((r) => r.i),
      [7, 59],
    );
    for (const r of rejected) assert.ok(isDuplicateKey(r.err), `duplicate key for ${ids[r.i]}: ${String(r.err)}`);
    const { batches, docs } = group.stats();
    assert.equal(docs, 60);
    // The first goes alone; the rest wait for it and leave in batches of at most 16.
    assert.equal(batches, 1 + Math.ceil(59 / 16));
    const stored = await col.find({}).sort({ n: 1 }).toArray();
    assert.equal(stored.length, 59);
    assert.deepEqual(await col.findOne({ _id: 'k7' }), { _id: 'k7', n: -1 }, 'the stored document is left as it was');
    assert.deepEqual(await col.findOne({ _id: 'k20' }), { _id: 'k20', n: 20 }, 'the first of the two copies won');
  });

  test('a document sent after a failed batch is still written', async () => {
    const col = db.collection<Doc>('after');
    const group = createGroupInsert(col);
    await group.insert({ _id: 'x', n: 1 });
    await assert.rejects(group.insert({ _id: 'x', n: 2 }), (err: unknown) => isDuplicateKey(err));
    await group.insert({ _id: 'y', n: 3 });
    assert.equal(await col.countDocuments({}), 2);
  });

  test('when the command itself fails, every document of its batch is rejected with that error', async () => {
    const col = db.collection<Doc & { pad?: string }>('whole');
    const group = createGroupInsert(col);
    // The first leaves alone; the next three wait and go together, and one of them is too large
    // for any command, so the driver refuses the whole insertMany.
    const outcomes = await Promise.allSettled([
      group.insert({ _id: 'first', n: 0 }),
      group.insert({ _id: 'big', n: 1, pad: 'x'.repeat(17 * 1024 * 1024) }),
      group.insert({ _id: 'c2', n: 2 }),
      group.insert({ _id: 'c3', n: 3 }),
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['fulfilled', 'rejected', 'rejected', 'rejected'],
    );
    for (const o of outcomes.slice(1)) assert.ok(o.status === 'rejected' && !isDuplicateKey(o.reason), o.status);
    assert.deepEqual(group.stats(), { batches: 2, docs: 4 });
    assert.equal(await col.countDocuments({}), 1);
    await group.insert({ _id: 'later', n: 4 });
    assert.equal(await col.countDocuments({}), 2);
  });

  test('with no database to reach, each insert fails as unavailable (the driver error, not the batch wrapper)', async () => {
    const away = new MongoClient('mongodb://127.0.0.1:1/?directConnection=true', { serverSelectionTimeoutMS: 200 });
    try {
      const group = createGroupInsert(away.db('x').collection<Doc>('y'));
      const outcomes = await Promise.allSettled([1, 2].map((n) => group.insert({ _id: `u${n}`, n })));
      for (const o of outcomes) assert.ok(o.status === 'rejected' && isDatabaseUnavailable(o.reason), o.status);
    } finally {
      await away.close();
    }
  });
});
