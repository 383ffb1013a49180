import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startMongo } from '@ap/stack';
import type { MongoServer } from '@ap/stack';
import { MongoClient } from 'mongodb';
import { isAppError } from '@ap/protocol';
import { applyEvent, createRepository, eventId, findAssessment, found } from './repository.ts';
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

/**
 * `target` with some methods replaced; every other property is the real object's, its methods
 * bound to it (a collection that can be slowed down, counted or made to fail).
 */
function replacing<T extends object>(target: T, methods: Record<string, unknown>): T {
  return new Proxy(target, {
    get(t, prop) {
      if (typeof prop === 'string' && prop in methods) return methods[prop];
      const value: unknown = Reflect.get(t, prop, t);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(t) : value;
    },
  });
}

/** A gate a test opens: `passed` resolves when a caller reached it, `open()` lets it go on. */
function gate(): { passed: Promise<unknown>; reached: () => void; wait: Promise<unknown>; open: () => void } {
  const passed = Promise.withResolvers<undefined>();
  const wait = Promise.withResolvers<undefined>();
  return { passed: passed.promise, reached: () => passed.resolve(undefined), wait: wait.promise, open: () => wait.resolve(undefined) };
}

void test('applyEvent folds the set, the version and each list entry an event carries, and nothing it does not', () => {
  const a = head();
  const entry = { type: 'pause', by: 'p', role: 'proctor', at: new Date() };
  const paste = { kind: 'paste', at: '2026-11-26T10:00:00.000Z', received_at: new Date() };
  const blur = { kind: 'focus_lost', at: '2026-11-26T10:00:05.000Z', received_at: new Date() };
  const paused = applyEvent(a, { _id: eventId(a._id, 1), seq: 1, set: { status: 'paused' }, log: entry, incident: paste });
  assert.equal(paused.version, 1);
  assert.equal(paused.status, 'paused');
  assert.deepEqual(paused.log, [entry]);
  assert.deepEqual(paused.incidents, [paste]);
  assert.deepEqual(paused.responses, []);
  const answered = applyEvent(paused, { _id: eventId(a._id, 2), seq: 2, set: {}, response: response(0), incident: blur });
  assert.equal(answered.version, 2);
  assert.equal(answered.status, 'paused');
  assert.deepEqual(answered.log, [entry]);
  assert.deepEqual(answered.incidents, [paste, blur]);
  assert.deepEqual(
    answered.responses.map((r) => r.item_id),
    ['q0'],
  );
  // An event with no list entry adds none, and no incidents field where there was none.
  const bare = applyEvent(a, { _id: eventId(a._id, 1), seq: 1, set: {} });
  assert.deepEqual(bare.log, []);
  assert.deepEqual(bare.responses, []);
  assert.equal('incidents' in bare, false);
});

void test('found() passes an assessment through and turns none into NOT_FOUND', () => {
  const a = head();
  assert.equal(found(a, a._id), a);
  assert.throws(
    () => found(null, 'a-missing'),
    (err: unknown) => isAppError(err) && err.code === 'NOT_FOUND' && err.message === 'assessment a-missing not found',
  );
});

void test('an event stores only the entries its change has: another replica reads exactly them', async () => {
  const repo = createRepository({ col });
  const a = head();
  await repo.create(a);
  const entry = { type: 'extra_time', by: 'p', role: 'proctor', at: new Date(), seconds: 60 };
  const paste = { kind: 'paste', at: '2026-11-26T10:00:00.000Z', received_at: new Date() };
  let b: AssessmentDoc = a;
  for (const change of [{ set: {}, response: response(0) }, { set: {}, log: entry }, { set: {}, incident: paste }, { set: {} }]) {
    const next = await repo.append(b, change);
    assert.ok(next);
    b = next;
  }
  assert.deepEqual(Object.keys((await col.events.findOne({ _id: eventId(a._id, 4) })) ?? {}).sort(), ['_id', 'seq', 'set']);
  const seen = await createRepository({ col }).fresh(a._id);
  assert.ok(seen);
  assert.equal(seen.version, 4);
  assert.deepEqual(
    seen.responses.map((r) => r.item_id),
    ['q0'],
  );
  assert.deepEqual(seen.log, [entry]);
  assert.deepEqual(seen.incidents, [paste]);
});

void test('the cache keeps the most recently used assessments up to its size, and no finished one', async () => {
  const repo = createRepository({ col, cacheSize: 2 });
  const [x, y, z] = [head(), head(), head()];
  await repo.create(x);
  await repo.create(y);
  assert.equal(repo.size(), 2);
  // Reading x makes it the most recently used: z pushes y out.
  assert.equal((await repo.fresh(x._id))?._id, x._id);
  await repo.create(z);
  assert.equal(repo.size(), 2);
  // With the head documents gone from the database, only what the cache holds is still found.
  await col.assessments.deleteMany({ _id: { $in: [x._id, y._id, z._id] } });
  assert.equal((await repo.cached(y._id))?._id, undefined, 'y was evicted');
  assert.equal((await repo.cached(x._id))?._id, x._id);
  assert.equal((await repo.fresh(z._id))?._id, z._id, 'fresh() checks the cached version, it does not read the head again');
  assert.equal(await repo.fresh('a-never-created'), null);
  assert.equal(await repo.cached('a-never-created'), null);
  // A finished assessment leaves the cache.
  const done = await repo.append(z, { set: { status: 'completed', finished_at: new Date(), current: null } });
  assert.equal(done?.status, 'completed');
  assert.equal(repo.size(), 1);
});

void test('refresh() catches up an assessment this replica does not hold', async () => {
  const writer = createRepository({ col });
  const a = head();
  await writer.create(a);
  const answered = await writer.append(a, { set: {}, response: response(0) });
  assert.ok(answered);
  const reader = createRepository({ col });
  assert.equal(reader.size(), 0);
  const caughtUp = await reader.refresh(a);
  assert.equal(caughtUp.version, 1);
  assert.equal(caughtUp.responses.length, 1);
  assert.equal(reader.size(), 1);
});

void test('a read that finishes after a newer write does not put the older version back in the cache', async () => {
  let slow: ReturnType<typeof gate> | undefined;
  const events = replacing(col.events, {
    findOne: async (...args: Parameters<Collections['events']['findOne']>) => {
      const result = await col.events.findOne(...args);
      const g = slow;
      slow = undefined;
      if (g !== undefined) {
        g.reached();
        await g.wait;
      }
      return result;
    },
  });
  const repo = createRepository({ col: { ...col, events } });
  const a = head();
  await repo.create(a);
  slow = gate();
  const held = slow;
  // fresh() has read that no version 1 exists yet, and is held before it returns.
  const reading = repo.fresh(a._id);
  await held.passed;
  const written = await repo.append(a, { set: {}, response: response(0) });
  assert.equal(written?.version, 1);
  held.open();
  assert.equal((await reading)?.version, 1, 'the late read answers the newer version it knows');
  assert.equal((await repo.cached(a._id))?.version, 1);
});

void test('a snapshot that lost a race to a later event is written again at the latest version', async () => {
  const writes: number[] = [];
  let slow: ReturnType<typeof gate> | undefined;
  const assessments = replacing(col.assessments, {
    replaceOne: async (...args: Parameters<Collections['assessments']['replaceOne']>) => {
      writes.push(args[1].version);
      const g = slow;
      slow = undefined;
      if (g !== undefined) {
        g.reached();
        await g.wait;
      }
      return col.assessments.replaceOne(...args);
    },
  });
  const mine = createRepository({ col: { ...col, assessments } });
  const elsewhere = createRepository({ col });
  const a = head();
  await mine.create(a);
  slow = gate();
  const held = slow;
  // The pause writes version 1 and its snapshot; before the snapshot lands, another replica
  // writes version 2 (an answer, which writes no snapshot).
  const pausing = mine.append(a, { set: { status: 'paused', paused_at: new Date() } });
  await held.passed;
  const seen = await elsewhere.fresh(a._id);
  assert.equal(seen?.version, 1);
  assert.equal((await elsewhere.append(seen, { set: {}, response: response(0) }))?.version, 2);
  held.open();
  assert.equal((await pausing)?.version, 1);
  assert.deepEqual(writes, [1, 2], 'written once more, at the version after it, and then no more');
  const snapshot = await col.assessments.findOne({ _id: a._id });
  assert.equal(snapshot?.version, 2);
  assert.equal(snapshot.status, 'paused');
  assert.equal(snapshot.responses.length, 1);
});

void test('an insert that fails for another reason than a duplicate key is an error, not a lost race', async () => {
  const events = replacing(col.events, {
    insertMany: () => Promise.reject(new Error('disk full')),
  });
  const repo = createRepository({ col: { ...col, events } });
  const a = head();
  await repo.create(a);
  await assert.rejects(repo.append(a, { set: {}, response: response(0) }), /disk full/);
});

void test('the snapshot follows the deadline and the pause, and the sweep row only its own assessment’s status and deadline', async () => {
  // A database of its own, so that the sweep rows here are the only ones.
  const db = client.db('repository_sweep_test');
  await db.dropDatabase();
  const own = await openCollections(db);
  let sweepWrites = 0;
  const active = replacing(own.active, {
    updateOne: (...args: Parameters<Collections['active']['updateOne']>) => {
      sweepWrites += 1;
      return own.active.updateOne(...args);
    },
  });
  const repo = createRepository({ col: { ...own, active } });
  const [other, a] = [head(), head()];
  for (const x of [other, a]) {
    await repo.create(x);
    await own.active.insertOne({ _id: x._id, test_id: x.test_id, status: x.status, deadline: x.deadline, started_at: x.started_at });
  }
  const snapshot = () => own.assessments.findOne({ _id: a._id });
  const row = (id: string) => own.active.findOne({ _id: id });

  const pausedAt = new Date();
  let b = await repo.append(a, { set: { paused_at: pausedAt } });
  assert.ok(b);
  assert.equal((await snapshot())?.paused_at?.getTime(), pausedAt.getTime(), 'paused_at alone writes the snapshot');

  const later = new Date(a.deadline.getTime() + 60_000);
  b = await repo.append(b, { set: { deadline: later } });
  assert.ok(b);
  assert.equal((await snapshot())?.deadline.getTime(), later.getTime(), 'the deadline alone writes the snapshot');
  assert.equal((await row(a._id))?.deadline.getTime(), later.getTime());
  assert.equal((await row(other._id))?.deadline.getTime(), other.deadline.getTime(), 'no other sweep row moves');

  // The status restated without a new deadline: the snapshot, but no sweep row write.
  const writesBefore = sweepWrites;
  b = await repo.append(b, { set: { status: 'in_progress', paused_at: null } });
  assert.ok(b);
  assert.equal((await snapshot())?.paused_at, null);
  assert.equal(sweepWrites, writesBefore);

  // The status restated with a new deadline: the sweep row moves.
  const latest = new Date(later.getTime() + 60_000);
  b = await repo.append(b, { set: { status: 'in_progress', deadline: latest } });
  assert.ok(b);
  assert.equal((await row(a._id))?.deadline.getTime(), latest.getTime());

  // The end removes its own sweep row only.
  b = await repo.append(b, { set: { status: 'completed', finished_at: new Date(), current: null } });
  assert.equal(b?.status, 'completed');
  assert.equal(await row(a._id), null);
  assert.equal((await row(other._id))?.status, 'in_progress');
  await db.dropDatabase();
});

void test('knownFinal: an assessment seen ending, written here or read from another replica, up to the cache size', async () => {
  const repo = createRepository({ col, cacheSize: 2 });
  const [x, y, z, open] = [head(), head(), head(), head()];
  for (const a of [x, y, z, open]) await repo.create(a);
  assert.equal(repo.knownFinal(x._id), false, 'open: not final');
  const finish = () => ({ set: { status: 'completed' as const, finished_at: new Date(), current: null } });
  assert.ok(await repo.append(x, finish()));
  assert.equal(repo.knownFinal(x._id), true);
  assert.equal(repo.knownFinal(open._id), false);
  // Finished by another replica: known once read here.
  const other = createRepository({ col });
  assert.ok(await other.append(y, finish()));
  assert.equal(repo.knownFinal(y._id), false, 'not read here yet');
  assert.equal((await repo.fresh(y._id))?.status, 'completed');
  assert.equal(repo.knownFinal(y._id), true);
  // A third pushes out the oldest: x is read from the database again if asked.
  assert.ok(await repo.append(z, finish()));
  assert.deepEqual(
    [x, y, z].map((a) => repo.knownFinal(a._id)),
    [false, true, true],
  );
  assert.equal(repo.knownFinal('a-never-created'), false);
});
