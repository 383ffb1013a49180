import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHashGate } from './hash-gate.ts';

/** A piece of work that finishes when the test says so. */
function pending(): { promise: Promise<string>; finish(): void } {
  const { promise, resolve } = Promise.withResolvers<string>();
  return { promise, finish: () => resolve('done') };
}

test('runs at most `concurrency` at once, queues `queue` more, refuses the rest with RATE_LIMITED', async () => {
  const gate = createHashGate({ concurrency: 2, queue: 3, perKey: 10 });
  const works = Array.from({ length: 5 }, () => pending());
  let started = 0;
  const runs = works.map((w) =>
    gate.run([], () => {
      started += 1;
      return w.promise;
    }),
  );
  await Promise.resolve();
  assert.equal(started, 2);
  assert.deepEqual(gate.load(), { running: 2, waiting: 3 });
  await assert.rejects(
    gate.run([], () => Promise.resolve('never')),
    (err: unknown) =>
      (err as { code?: string }).code === 'RATE_LIMITED' &&
      (err as { details?: { retry_after_ms?: number } }).details?.retry_after_ms === 1000,
  );
  for (const w of works) w.finish();
  assert.deepEqual(await Promise.all(runs), ['done', 'done', 'done', 'done', 'done']);
  assert.equal(started, 5);
  assert.deepEqual(gate.load(), { running: 0, waiting: 0 });
});

test('one key holds at most `perKey` places, so a flood from one key leaves room for others', async () => {
  const gate = createHashGate({ concurrency: 1, queue: 10, perKey: 2 });
  const w = pending();
  const first = gate.run(['ip:a', 'account:x'], () => w.promise);
  const second = gate.run(['ip:a', 'account:x'], () => Promise.resolve('second'));
  await assert.rejects(
    gate.run(['ip:a', 'account:z'], () => Promise.resolve('no')),
    { code: 'RATE_LIMITED' },
  );
  await assert.rejects(
    gate.run(['ip:b', 'account:x'], () => Promise.resolve('no')),
    { code: 'RATE_LIMITED' },
  );
  const other = gate.run(['ip:b', 'account:z'], () => Promise.resolve('other'));
  w.finish();
  assert.deepEqual(await Promise.all([first, second, other]), ['done', 'second', 'other']);
  // Places are given back, also after a failure.
  await assert.rejects(
    gate.run(['ip:a'], () => Promise.reject(new Error('boom'))),
    /boom/,
  );
  assert.equal(await gate.run(['ip:a'], () => Promise.resolve('again')), 'again');
  assert.deepEqual(gate.load(), { running: 0, waiting: 0 });
});
