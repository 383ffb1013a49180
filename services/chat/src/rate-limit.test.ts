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
