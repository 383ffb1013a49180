import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { idSchema } from '@ap/protocol';
import { createMessageIdGenerator } from './message-id.ts';

// A clock that may stall, step forwards or backwards by any amount, or jump across years.
const clockSteps = fc.array(
  fc.oneof(
    fc.constant(0),
    fc.integer({ min: -5, max: 5 }),
    fc.integer({ min: -3_600_000, max: 3_600_000 }),
    fc.integer({ min: -1e12, max: 1e12 }),
  ),
  { minLength: 1, maxLength: 300 },
);

test('ids strictly increase as strings and stay valid ids under any clock', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 4e12 }), clockSteps, fc.integer({ min: 0, max: 255 }), (start, steps, byte) => {
      let now = start;
      const next = createMessageIdGenerator(
        () => new Date(Math.max(0, now)),
        (n) => new Uint8Array(n).fill(byte),
      );
      let previous = '';
      for (const step of steps) {
        now += step;
        const id = next();
        assert.ok(idSchema.safeParse(id).success, id);
        assert.ok(id > previous, `${id} after ${previous}`);
        previous = id;
      }
    }),
    { numRuns: 500 },
  );
});

test('ids from a running clock sort by the time they were made', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 4e12 }),
      fc.array(fc.integer({ min: 1, max: 1e9 }), { minLength: 2, maxLength: 50 }),
      (start, gaps) => {
        let now = start;
        const next = createMessageIdGenerator(() => new Date(now));
        const made: { at: number; id: string }[] = [];
        for (const gap of gaps) {
          now += gap;
          made.push({ at: now, id: next() });
        }
        // The time prefix is the creation time itself, so a generator on another replica sorts the same.
        for (const m of made) assert.equal(parseInt(m.id.slice(0, 9), 36), m.at);
      },
    ),
    { numRuns: 300 },
  );
});
