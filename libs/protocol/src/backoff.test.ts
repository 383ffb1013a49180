import assert from 'node:assert/strict';
import { test } from 'node:test';
import { retryDelayMs } from './backoff.ts';

const lowest = () => 0;
const middle = () => 0.5;

test('the bound doubles from 250 ms per attempt up to 10 s, and the delay is drawn from its upper half', () => {
  // random 0 gives half the bound, 0.5 three quarters of it.
  const bounds = [250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000];
  for (const [i, bound] of bounds.entries()) {
    const attempt = i + 1;
    assert.equal(retryDelayMs(attempt, { random: lowest }), bound / 2, `attempt ${String(attempt)}`);
    assert.equal(retryDelayMs(attempt, { random: middle }), Math.round(bound * 0.75), `attempt ${String(attempt)}`);
  }
  // Attempt 0 (or below) waits like the first.
  assert.equal(retryDelayMs(0, { random: lowest }), 125);
  assert.equal(retryDelayMs(-3, { random: lowest }), 125);
});

test('a random source near 1 gives the whole bound, and the default source stays within the upper half', () => {
  assert.equal(retryDelayMs(3, { random: () => 0.999_999 }), 1000);
  for (let i = 0; i < 50; i++) {
    const delay = retryDelayMs(2);
    assert.ok(delay >= 250 && delay <= 500, String(delay));
  }
});

test('base and maximum are options; the doubling stops at attempt 30 so that the bound stays finite', () => {
  assert.equal(retryDelayMs(1, { baseMs: 100, maxMs: 300, random: lowest }), 50);
  assert.equal(retryDelayMs(2, { baseMs: 100, maxMs: 300, random: lowest }), 100);
  assert.equal(retryDelayMs(3, { baseMs: 100, maxMs: 300, random: lowest }), 150, 'capped at 300');
  assert.equal(retryDelayMs(1000, { baseMs: 1, maxMs: Infinity, random: lowest }), 2 ** 29 / 2);
});

test("never shorter than the server's retry_after_ms", () => {
  assert.equal(retryDelayMs(1, { random: lowest, retryAfterMs: 5000 }), 5000);
  assert.equal(retryDelayMs(1, { random: lowest, retryAfterMs: 10 }), 125);
  assert.equal(retryDelayMs(1, { random: lowest, retryAfterMs: undefined }), 125);
});
