import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startMongo } from '@ap/stack';
import type { MongoServer } from '@ap/stack';
import { MongoClient } from 'mongodb';
import { createRepository, eventId, findAssessment } from './repository.ts';
import { openCollections } from './store.ts';
import type { AssessmentDoc, Collections } from './store.ts';

let mongo: MongoServer;
let client: MongoClient;
let col: Collections;

before(async () => {
  mongo = await startMongo();
  client = new MongoClient(mongo.url, { directConnection: true });
  col = await openCollections(client.db('repository_test'));
});

after(async () => {
  await client.close();
  await mongo.close();
});

let n = 0;
function head(): AssessmentDoc {
  const now = new Date();
  n += 1;
  return {
    _id: `a${n}-${Date.now()}`,
    attempt_key: `c${n}:t:1`,
    test_id: 't',
    candidate_id: `c${n}`,
    application_id: null,
    status: 'in_progress',
    strategy: 'fixed',
    seed: 's',
    planned: { min: 3, max: 3 },
    started_at: now,
    deadline: new Date(now.getTime() + 600_000),
    finished_at: null,
    reason: null,
    current: { item_id: 'q0', index: 0, asked_at: now },
    responses: [],
    result: null,
    log: [],
    version: 0,
    created_at: now,
    updated_at: now,
  };
}

function response(i: number) {
  return {
    item_id: `q${i}`,
    index: i,
    skill: 's',
    selected_option: 'a',
    correct: i % 2 === 0,
    asked_at: new Date(),
    answered_at: new Date(),
  };
}

void test('an answer is one insert: the head document is not rewritten, and a fresh read folds it in', async () => {
  const repo = createRepository({ col });
  const a = head();
  await repo.create(a);
  const next = await repo.append(a, { set: { current: { item_id: 'q1', index: 1, asked_at: new Date() } }, response: response(0) });
  assert.ok(next);
  assert.equal(next.version, 1);
  assert.equal(next.responses.length, 1);
  const stored = await col.assessments.findOne({ _id: a._id });
  assert.equal(stored?.version, 0, 'the snapshot is not written for an answer');
  assert.deepEqual(await col.events.findOne({ _id: eventId(a._id, 1) }).then((e) => e?.response?.item_id), 'q0');
  // Another replica (no cache) reads the same assessment: head plus events.
  const other = createRepository({ col });
  const seen = await other.fresh(a._id);
  assert.ok(seen);
  assert.equal(seen.version, 1);
  assert.equal(seen.current?.item_id, 'q1');
  assert.deepEqual(
    seen.responses.map((r) => r.item_id),
    ['q0'],
  );
  assert.deepEqual((await findAssessment(client.db('repository_test'), { _id: a._id }))?.responses.length, 1);
});

void test('two writers of the same version: exactly one wins, the other gets null and catches up', async () => {
  const one = createRepository({ col });
  const two = createRepository({ col });
  const a = head();
  await one.create(a);
  const seenByTwo = await two.fresh(a._id);
  assert.ok(seenByTwo);
  const results = await Promise.all([
    one.append(a, { set: {}, response: { ...response(0), selected_option: 'a' } }),
    two.append(seenByTwo, { set: {}, response: { ...response(0), selected_option: 'b' } }),
  ]);
  assert.equal(results.filter((r) => r !== null).length, 1, 'one insert of version 1 succeeds');
  const winner = results.find((r) => r !== null);
  const loserRepo = results[0] === null ? one : two;
  const caughtUp = await loserRepo.refresh(a);
  assert.equal(caughtUp.version, 1);
  assert.equal(caughtUp.responses[0]?.selected_option, winner?.responses[0]?.selected_option, 'the loser sees the winner’s answer');
});

void test('a stale cache is corrected by fresh(): events written elsewhere are read in order', async () => {
  const mine = createRepository({ col });
  const elsewhere = createRepository({ col });
  const a = head();
  await mine.create(a);
  let b = (await elsewhere.fresh(a._id)) as AssessmentDoc;
  for (let i = 0; i < 12; i++) b = (await elsewhere.append(b, { set: {}, response: response(i) })) as AssessmentDoc;
  assert.equal((await mine.cached(a._id))?.version, 0, 'the cache alone is stale');
  const fresh = await mine.fresh(a._id);
  assert.ok(fresh);
  assert.equal(fresh.version, 12);
  assert.deepEqual(
    fresh.responses.map((r) => r.index),
    Array.from({ length: 12 }, (_, i) => i),
  );
});

void test('a status change writes the snapshot and the sweep row; the end removes the sweep row', async () => {
  const repo = createRepository({ col });
  const a = head();
  await repo.create(a);
  await col.active.insertOne({ _id: a._id, test_id: a.test_id, status: a.status, deadline: a.deadline, started_at: a.started_at });
  const answered = await repo.append(a, { set: {}, response: response(0) });
  assert.ok(answered);
  const pausedAt = new Date();
  const paused = await repo.append(answered, {
    set: { status: 'paused', paused_at: pausedAt },
    log: { type: 'pause', by: 'p', role: 'proctor', at: pausedAt },
  });
  assert.ok(paused);
  const snapshot = await col.assessments.findOne({ _id: a._id });
  assert.ok(snapshot);
  assert.equal(snapshot.status, 'paused');
  assert.equal(snapshot.version, 2);
  assert.equal(snapshot.responses.length, 1, 'the snapshot carries what was answered before it');
  assert.equal((await col.active.findOne({ _id: a._id }))?.status, 'paused');
  const done = await repo.append(paused, { set: { status: 'terminated', reason: 'terminated', finished_at: new Date(), current: null } });
  assert.ok(done);
  assert.equal((await col.assessments.findOne({ _id: a._id }))?.status, 'terminated');
  assert.equal(await col.active.findOne({ _id: a._id }), null);
});
