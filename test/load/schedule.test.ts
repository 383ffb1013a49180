import assert from 'node:assert/strict';
import { test } from 'node:test';
import { answerSchedule } from './schedule.ts';

/** Answers due by time t (ms): the count of n with answerAt(n) ≤ t. */
function dueBy(s: ReturnType<typeof answerSchedule>, t: number): number {
  let n = 0;
  while (s.answerAt(n) <= t) n++;
  return n;
}

test('without a spread, answers are due at the rate from the start and every session starts at once', () => {
  const s = answerSchedule({ rate: 250, sessions: 32, spreadMs: 0 });
  assert.equal(s.answerAt(0), 0);
  assert.equal(s.answerAt(1), 4);
  assert.equal(s.answerAt(250), 1000);
  assert.equal(s.sessionAt(31), 0);
});

test('during the spread the rate rises linearly: rate × t² / (2 × spread) answers by time t', () => {
  const s = answerSchedule({ rate: 250, sessions: 32, spreadMs: 4000 });
  for (const t of [500, 1000, 2000, 3000, 4000]) {
    const expected = (0.25 * t * t) / (2 * 4000);
    assert.ok(Math.abs(dueBy(s, t) - expected) <= 1, `at ${t} ms: ${dueBy(s, t)} due, expected ${expected}`);
  }
  // The last second of the spread holds 250 × (4² − 3²) / (2 × 4) = 218.75 of them; every later second the full 250.
  assert.ok(Math.abs(dueBy(s, 4000) - dueBy(s, 3000) - 218.75) <= 1);
  assert.equal(dueBy(s, 6000) - dueBy(s, 5000), 250);
  assert.equal(dueBy(s, 24_000) - dueBy(s, 4000), 20 * 250);
});

test('the schedule is continuous and increasing across the end of the spread', () => {
  const s = answerSchedule({ rate: 500, sessions: 63, spreadMs: 3780 });
  let last = -1;
  for (let n = 0; n < 3000; n++) {
    const at = s.answerAt(n);
    assert.ok(at > last, `answer ${n} at ${at} after ${last}`);
    if (n > 0) assert.ok(at - last <= 1000, `a gap of ${at - last} ms before answer ${n}`);
    last = at;
  }
  // The last answer of the ramp and the first after it are one period (2 ms) apart.
  const rampAnswers = (0.5 * 3780) / 2;
  assert.ok(Math.abs(s.answerAt(rampAnswers) - 3780) < 1e-9);
  assert.ok(Math.abs(s.answerAt(rampAnswers + 1) - s.answerAt(rampAnswers) - 2) < 1e-9);
});

test('sessions start evenly over the spread, the first at once', () => {
  const s = answerSchedule({ rate: 250, sessions: 16, spreadMs: 3840 });
  assert.deepEqual(
    Array.from({ length: 16 }, (_, i) => s.sessionAt(i)),
    Array.from({ length: 16 }, (_, i) => i * 240),
  );
});
