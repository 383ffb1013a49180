import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createTokenBucket, createUserLimits } from './limits.ts';

describe('token bucket', () => {
  test('gives the burst at once, then refills at the rate, never above the burst', () => {
    const bucket = createTokenBucket(10, 3, 0);
    assert.deepEqual([bucket.take(0), bucket.take(0), bucket.take(0)], [0, 0, 0]);
    assert.equal(bucket.take(0), 100, 'the next token comes in 100 ms');
    assert.equal(bucket.take(50), 50);
    assert.equal(bucket.take(100), 0);
    // A long pause refills only up to the burst.
    const after = [0, 1, 2, 3].map(() => bucket.take(60_000));
    assert.deepEqual(after, [0, 0, 0, 100]);
  });

  test('a clock going backwards takes nothing it did not have', () => {
    const bucket = createTokenBucket(1, 1, 1000);
    assert.equal(bucket.take(1000), 0);
    assert.equal(bucket.take(0), 1000);
  });
});

describe('user limits', () => {
  const limits = {
    socketPerSecond: 10,
    socketBurst: 10,
    userPerSecond: 2,
    userBurst: 2,
    maxInflightPerUser: 2,
    maxQueuedPerStaff: 3,
    maxSocketsPerUser: 2,
  };

  test('caps the sockets of a user, and a closed socket frees its place', () => {
    const users = createUserLimits(limits);
    assert.equal(users.addSocket('u1', 0), true);
    assert.equal(users.addSocket('u1', 0), true);
    assert.equal(users.addSocket('u1', 0), false);
    assert.equal(users.addSocket('u2', 0), true, 'another user is not affected');
    users.removeSocket('u1');
    assert.equal(users.addSocket('u1', 0), true);
  });

  test('requests in flight per user: a few at once, more wait in order, beyond the queue refused', async () => {
    const users = createUserLimits(limits);
    users.addSocket('u1', 0);
    const granted: string[] = [];
    const take = (name: string) => {
      const slot = users.acquire('u1', 0, true);
      if ('refusal' in slot) return slot.refusal.limit;
      if (slot.wait === undefined) granted.push(name);
      else void slot.wait.then(() => granted.push(name));
      return slot.wait === undefined ? 'now' : 'queued';
    };
    assert.deepEqual(['a', 'b', 'c', 'd', 'e', 'f'].map(take), ['now', 'now', 'queued', 'queued', 'queued', 'inflight']);
    assert.equal('refusal' in users.acquire('u2', 0, false), false, 'another user is not affected');
    const refused = users.acquire('u1', 0, false);
    assert.equal('refusal' in refused && refused.refusal.limit, 'inflight', 'a user who may not wait is refused at once');
    users.release('u2');
    users.release('u1');
    users.release('u1');
    await Promise.resolve();
    assert.deepEqual(granted, ['a', 'b', 'c', 'd'], 'first come, first served');
    users.release('u1');
    users.release('u1');
    users.release('u1');
    users.removeSocket('u1');
    await Promise.resolve();
    assert.deepEqual(granted, ['a', 'b', 'c', 'd', 'e']);
    assert.equal(users.size(), 0, 'a user with nothing left is forgotten');
  });

  test("one bucket for all of a user's sockets", () => {
    const users = createUserLimits(limits);
    assert.equal(users.take('u1', 0), undefined);
    assert.equal(users.take('u1', 0), undefined);
    assert.deepEqual(users.take('u1', 0), { limit: 'user', retryAfterMs: 500 });
    assert.equal(users.take('u2', 0), undefined);
  });
});
