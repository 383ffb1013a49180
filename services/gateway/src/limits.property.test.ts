import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { createTokenBucket, createUserLimits } from './limits.ts';
import type { FrameLimits } from './limits.ts';

const RUNS = { numRuns: 300 };

describe('token bucket (properties)', () => {
  const rate = fc.integer({ min: 1, max: 200 });
  const burst = fc.integer({ min: 1, max: 50 });
  /** Times of takes: non-decreasing, a few milliseconds to a few seconds apart. */
  const times = fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 300 }).map((gaps) => {
    let t = 1_000;
    return gaps.map((g) => (t += g));
  });

  test('never grants more than the burst plus what the rate earns over any window', () => {
    fc.assert(
      fc.property(rate, burst, times, (perSecond, size, at) => {
        const bucket = createTokenBucket(perSecond, size, 1_000);
        const granted = at.filter((t) => bucket.take(t) === 0);
        // Every window between two granted takes (both included).
        for (let i = 0; i < granted.length; i++) {
          for (let j = i; j < granted.length; j++) {
            const earned = (((granted[j] ?? 0) - (granted[i] ?? 0)) * perSecond) / 1000;
            assert.ok(j - i + 1 <= size + earned + 1e-9, `${String(j - i + 1)} takes in a window that allows ${String(size + earned)}`);
          }
        }
      }),
      RUNS,
    );
  });

  test('a refusal says how long to wait, and a take after that wait is granted', () => {
    fc.assert(
      fc.property(rate, burst, times, (perSecond, size, at) => {
        const bucket = createTokenBucket(perSecond, size, 1_000);
        for (const t of at) {
          let now = t;
          const wait = bucket.take(now);
          if (wait === 0) continue;
          assert.ok(wait >= 1 && wait <= Math.ceil(1000 / perSecond), `wait ${String(wait)} ms at ${String(perSecond)}/s`);
          now += wait;
          assert.equal(bucket.take(now), 0, 'granted once the wait is over');
          return;
        }
      }),
      RUNS,
    );
  });

  test('with a clock that also steps back, grants stay within the envelope of the latest time seen', () => {
    const jittered = fc.array(fc.integer({ min: -300, max: 400 }), { minLength: 1, maxLength: 200 });
    fc.assert(
      fc.property(rate, burst, jittered, (perSecond, size, steps) => {
        const bucket = createTokenBucket(perSecond, size, 1_000);
        let t = 1_000;
        let latest = 1_000;
        let granted = 0;
        for (const s of steps) {
          t = Math.max(0, t + s);
          latest = Math.max(latest, t);
          if (bucket.take(t) === 0) granted += 1;
          assert.ok(granted <= size + ((latest - 1_000) * perSecond) / 1000 + 1e-9);
        }
      }),
      RUNS,
    );
  });
});

describe('per-user limits against a model', () => {
  type Op =
    | { kind: 'add'; user: number }
    | { kind: 'remove'; user: number }
    | { kind: 'acquire'; user: number; mayWait: boolean }
    | { kind: 'release'; user: number };
  const user = fc.integer({ min: 0, max: 2 });
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('add' as const), user }),
    fc.record({ kind: fc.constant('remove' as const), user }),
    fc.record({ kind: fc.constant('acquire' as const), user, mayWait: fc.boolean() }),
    fc.record({ kind: fc.constant('release' as const), user }),
  );
  const settings = fc.record({
    maxInflightPerUser: fc.integer({ min: 1, max: 4 }),
    maxQueuedPerStaff: fc.integer({ min: 0, max: 3 }),
    maxSocketsPerUser: fc.integer({ min: 1, max: 3 }),
  });

  test('sockets, places in flight and the queue follow the model, first come first served, and nothing is left behind', async () => {
    await fc.assert(
      fc.asyncProperty(settings, fc.array(op, { maxLength: 120 }), async (s, ops) => {
        const limits: FrameLimits = { socketPerSecond: 10, socketBurst: 10, userPerSecond: 10, userBurst: 10, ...s };
        const real = createUserLimits(limits);
        // The model: sockets held, places granted (running), and waiters in order, per user.
        const model = new Map<string, { sockets: number; running: number; waiting: number[] }>();
        const get = (u: string) => model.get(u) ?? { sockets: 0, running: 0, waiting: [] };
        const started: number[] = [];
        let ticket = 0;
        for (const o of ops) {
          const u = `u${String(o.user)}`;
          const m = get(u);
          if (o.kind === 'add') {
            const ok = real.addSocket(u, 0);
            assert.equal(ok, m.sockets < s.maxSocketsPerUser);
            if (ok) m.sockets += 1;
          } else if (o.kind === 'remove') {
            if (m.sockets === 0) continue;
            real.removeSocket(u);
            m.sockets -= 1;
          } else if (o.kind === 'acquire') {
            const slot = real.acquire(u, 0, o.mayWait);
            const id = (ticket += 1);
            if (m.running < s.maxInflightPerUser) {
              assert.ok('wait' in slot && slot.wait === undefined, 'a free place is given at once');
              m.running += 1;
              started.push(id);
            } else if (o.mayWait && m.waiting.length < s.maxQueuedPerStaff) {
              assert.ok('wait' in slot && slot.wait !== undefined, 'waits in line');
              m.waiting.push(id);
              void slot.wait.then(() => started.push(id));
            } else {
              assert.ok('refusal' in slot && slot.refusal.limit === 'inflight', 'refused beyond the line');
            }
          } else {
            if (m.running === 0) continue;
            real.release(u);
            const next = m.waiting.shift();
            if (next === undefined) m.running -= 1;
            await Promise.resolve();
            await Promise.resolve();
            if (next !== undefined) assert.equal(started.at(-1), next, 'the place went to the first in line');
          }
          model.set(u, m);
        }
        // Give everything back: the per-user state is gone.
        for (const [u, m] of model) {
          for (let i = 0; i < m.running + m.waiting.length; i++) real.release(u);
          for (let i = 0; i < m.sockets; i++) real.removeSocket(u);
        }
        assert.equal(real.size(), 0);
      }),
      { numRuns: 200 },
    );
  });
});
