import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { secondsLeft } from './rules.ts';

const instant = fc.integer({ min: 0, max: 4e12 });

test('running: whole seconds to the deadline, never negative, never increasing', () => {
  fc.assert(
    fc.property(instant, fc.integer({ min: -1e7, max: 1e7 }), fc.integer({ min: 0, max: 1e6 }), (deadline, before, later) => {
      const a = { deadline: new Date(deadline), status: 'in_progress' as const };
      const now = deadline - before;
      const left = secondsLeft(a, new Date(now));
      assert.equal(left, before <= 0 ? 0 : Math.floor(before / 1000));
      assert.ok(Number.isInteger(left));
      assert.ok(secondsLeft(a, new Date(now + later)) <= left);
    }),
    { numRuns: 2000 },
  );
});

test('paused: the count stands at the moment of the pause, whatever the time now', () => {
  fc.assert(
    fc.property(instant, fc.integer({ min: -1e7, max: 1e7 }), fc.integer({ min: -1e9, max: 1e9 }), (deadline, before, offset) => {
      const pausedAt = new Date(deadline - before);
      const paused = { deadline: new Date(deadline), status: 'paused' as const, paused_at: pausedAt };
      const expected = secondsLeft({ deadline: new Date(deadline), status: 'in_progress' }, pausedAt);
      assert.equal(secondsLeft(paused, new Date(deadline - before + offset)), expected);
      // Without a pause time, a paused assessment counts from now.
      const now = new Date(deadline - before + offset);
      assert.equal(
        secondsLeft({ deadline: new Date(deadline), status: 'paused', paused_at: null }, now),
        secondsLeft({ deadline: new Date(deadline) }, now),
      );
    }),
    { numRuns: 2000 },
  );
});

test('a pause time is ignored for a status other than paused', () => {
  fc.assert(
    fc.property(instant, fc.integer({ min: 0, max: 1e7 }), fc.integer({ min: 1, max: 1e7 }), (deadline, before, pausedEarlier) => {
      const now = new Date(deadline - before);
      const a = { deadline: new Date(deadline), status: 'in_progress' as const, paused_at: new Date(deadline - before - pausedEarlier) };
      assert.equal(secondsLeft(a, now), Math.floor(before / 1000));
    }),
  );
});
