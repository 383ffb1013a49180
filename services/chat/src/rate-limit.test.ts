import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRateLimiter } from './rate-limit.ts';

function manualClock(startMs = Date.parse('2025-01-01T00:00:00Z')) {
  let nowMs = startMs;
  return Object.assign(() => new Date(nowMs), { advance: (ms: number) => void (nowMs += ms) });
}

test('a burst of 5 is allowed, then one per second', () => {
  const clock = manualClock();
  const limiter = createRateLimiter({ burst: 5, refillPerSecond: 1 }, clock);
  for (let i = 0; i < 5; i++) assert.equal(limiter.take('u1'), 0);
  assert.equal(limiter.take('u1'), 1000);
  clock.advance(400);
  assert.equal(limiter.take('u1'), 600);
  clock.advance(600);
  assert.equal(limiter.take('u1'), 0);
  assert.ok(limiter.take('u1') > 0);
  assert.equal(limiter.take('u2'), 0, 'users have their own buckets');
});

test('a bucket never holds more than the burst', () => {
  const clock = manualClock();
  const limiter = createRateLimiter({ burst: 5, refillPerSecond: 1 }, clock);
  limiter.take('u1');
  clock.advance(3_600_000);
  for (let i = 0; i < 5; i++) assert.equal(limiter.take('u1'), 0);
  assert.ok(limiter.take('u1') > 0);
});

test('full buckets are forgotten when the key limit is reached', () => {
  const clock = manualClock();
  const limiter = createRateLimiter({ burst: 5, refillPerSecond: 1 }, clock, { maxKeys: 100 });
  for (let i = 0; i < 100; i++) limiter.take(`u${i}`);
  clock.advance(5000);
  limiter.take('late');
  assert.equal(limiter.size(), 1);
});

test('tokens come back at the refill rate, and a refusal names the time until the next one', () => {
  const clock = manualClock();
  const limiter = createRateLimiter({ burst: 2, refillPerSecond: 2 }, clock);
  assert.equal(limiter.take('u1'), 0);
  assert.equal(limiter.take('u1'), 0);
  assert.equal(limiter.take('u1'), 500, 'half a second for one token at two a second');
  clock.advance(250);
  assert.equal(limiter.take('u1'), 250);
  clock.advance(250);
  assert.equal(limiter.take('u1'), 0);
});

test('buckets are pruned only at the key limit, and only those full again (burst / rate seconds)', () => {
  const clock = manualClock();
  const limiter = createRateLimiter({ burst: 4, refillPerSecond: 2 }, clock, { maxKeys: 3 });
  limiter.take('u0');
  limiter.take('u1');
  clock.advance(10_000);
  // Below the limit nothing is pruned, however long ago a bucket was used.
  limiter.take('u2');
  assert.equal(limiter.size(), 3);
  clock.advance(1999);
  // u2 has been refilling for 1,999 ms: not full yet, kept; u0 and u1 are full, forgotten.
  limiter.take('late');
  assert.equal(limiter.size(), 2);
  clock.advance(1);
  limiter.take('later');
  limiter.take('last');
  // Now u2 is full (2,000 ms), 'late' (1 ms) is not.
  assert.equal(limiter.size(), 3);
});

test('pruning at the key limit keeps the debt of a drained bucket', () => {
  const clock = manualClock();
  const limiter = createRateLimiter({ burst: 2, refillPerSecond: 1 }, clock, { maxKeys: 2 });
  assert.equal(limiter.take('busy'), 0);
  assert.equal(limiter.take('busy'), 0);
  limiter.take('other');
  clock.advance(500);
  // At the limit: nothing is full, nothing is forgotten, and 'busy' still waits.
  limiter.take('third');
  assert.equal(limiter.take('busy'), 500);
});
