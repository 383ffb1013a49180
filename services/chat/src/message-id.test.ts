import { test } from 'node:test';
import assert from 'node:assert/strict';
import { idSchema } from '@ap/protocol';
import { createMessageIdGenerator } from './message-id.ts';

test('ids are valid, unique and sort in creation order, even when the clock stalls or steps back', () => {
  let nowMs = Date.parse('2025-01-01T00:00:00Z');
  const next = createMessageIdGenerator(() => new Date(nowMs));
  const ids: string[] = [];
  for (let i = 0; i < 1000; i++) {
    if (i % 100 === 0) nowMs += 1;
    if (i === 500) nowMs -= 50; // a clock step backwards must not reorder ids
    ids.push(next());
  }
  for (const id of ids) assert.ok(idSchema.safeParse(id).success, id);
  assert.equal(new Set(ids).size, ids.length);
  assert.deepEqual([...ids].sort(), ids);
});

test('the random part comes from the injected source', () => {
  const next = createMessageIdGenerator(
    () => new Date(0),
    (n) => new Uint8Array(n),
  );
  assert.equal(next(), '0000000000000AAAAAAAA');
});

test('past 36^4 ids in one millisecond, the ids borrow the next millisecond and still sort', () => {
  const next = createMessageIdGenerator(
    () => new Date(5),
    (n) => new Uint8Array(n),
  );
  let last = '';
  for (let i = 0; i < 36 ** 4; i++) last = next();
  // The last id of millisecond 5 has the highest sequence; the next one is millisecond 6's first.
  assert.equal(last, '000000005zzzzAAAAAAAA');
  const borrowed = next();
  assert.equal(borrowed, '0000000060000AAAAAAAA');
  assert.deepEqual([borrowed, last].sort(), [last, borrowed]);
  assert.equal(next(), '0000000060001AAAAAAAA', 'the clock still says 5: it goes on in millisecond 6');
});
