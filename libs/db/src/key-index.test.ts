import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MongoClient } from 'mongodb';
import type { Db } from 'mongodb';
import { startMongo } from '@ap/stack';
import type { MongoServer } from '@ap/stack';
import { createKeyIndex, isDuplicateKey } from './index.ts';
import type { KeyDoc } from './index.ts';

type Person = { _id: string; email: string; name: string };

describe('a unique field looked up by _id through its keys', () => {
  let dir: string;
  let mongo: MongoServer;
  let client: MongoClient;
  let db: Db;
  let n = 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ap-keys-'));
    mongo = await startMongo({ dir });
    client = new MongoClient(mongo.url, { directConnection: true });
    db = client.db('key_index_test');
  });
  after(async () => {
    await client.close();
    await mongo.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function fresh() {
    n += 1;
    const people = db.collection<Person>(`people_${n}`);
    const keys = db.collection<KeyDoc>(`people_${n}_emails`);
    await people.createIndexes([{ key: { email: 1 }, name: 'email_unique', unique: true }]);
    return { people, keys, index: createKeyIndex(people, keys, 'email') };
  }

  test('finds what it inserted, and nothing for an unknown key', async () => {
    const { keys, index } = await fresh();
    await index.insert({ _id: 'u1', email: 'ada@example.com', name: 'Ada' });
    assert.equal((await index.find('ada@example.com'))?.name, 'Ada');
    assert.deepEqual(await keys.findOne({ _id: 'ada@example.com' }), { _id: 'ada@example.com', target: 'u1' });
    assert.equal(await index.find('bob@example.com'), null);
  });

  test('a second document with the same value loses on the unique index, and settle finds the winner', async () => {
    const { index } = await fresh();
    await index.insert({ _id: 'u1', email: 'ada@example.com', name: 'Ada' });
    await assert.rejects(index.insert({ _id: 'u2', email: 'ada@example.com', name: 'Other' }), (err) => isDuplicateKey(err));
    assert.equal((await index.settle('ada@example.com'))?._id, 'u1');
  });

  test('a document whose key was never written is found by settle, which writes the key', async () => {
    const { people, keys, index } = await fresh();
    // A writer that stopped between the document and its key.
    await people.insertOne({ _id: 'u1', email: 'ada@example.com', name: 'Ada' });
    assert.equal(await index.find('ada@example.com'), null);
    assert.equal((await index.settle('ada@example.com'))?._id, 'u1');
    assert.equal((await keys.findOne({ _id: 'ada@example.com' }))?.target, 'u1');
    assert.equal((await index.find('ada@example.com'))?._id, 'u1');
  });

  test('repair writes the missing keys of documents stored before the keys existed', async () => {
    const { people, keys, index } = await fresh();
    await people.insertMany([
      { _id: 'u1', email: 'a@example.com', name: 'A' },
      { _id: 'u2', email: 'b@example.com', name: 'B' },
      { _id: 'u3', email: 'c@example.com', name: 'C' },
    ]);
    await keys.insertOne({ _id: 'a@example.com', target: 'u1' });
    assert.equal(await index.repair(), 2);
    assert.equal((await index.find('c@example.com'))?._id, 'u3');
    // Nothing to do the second time.
    assert.equal(await index.repair(), 0);
  });

  test('a key left by a deleted or changed document names nothing; remove deletes keys', async () => {
    const { people, keys, index } = await fresh();
    await index.insert({ _id: 'u1', email: 'ada@example.com', name: 'Ada' });
    await index.insert({ _id: 'u2', email: 'bob@example.com', name: 'Bob' });
    await people.updateOne({ _id: 'u1' }, { $set: { email: 'ada@elsewhere.example' } });
    assert.equal(await index.find('ada@example.com'), null);
    await people.deleteOne({ _id: 'u2' });
    assert.equal(await index.find('bob@example.com'), null);
    await index.remove(['ada@example.com', 'bob@example.com']);
    assert.equal(await keys.countDocuments({}), 0);
  });
});
