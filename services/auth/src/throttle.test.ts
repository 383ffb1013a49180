import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addressKey, createThrottle, takeAttempts } from './throttle.ts';

test('a bucket allows `limit` attempts, then says how long until the next one', () => {
  let nowMs = 0;
  const throttle = createThrottle({ limit: 10, windowS: 100 }, { now: () => nowMs });
  for (let i = 0; i < 10; i++) assert.equal(throttle.take('a').ok, true);
  const refused = throttle.take('a');
  assert.deepEqual(refused, { ok: false, retryAfterMs: 10_000 });
  // Another key has its own bucket.
  assert.equal(throttle.take('b').ok, true);
  nowMs += 9_999;
  assert.equal(throttle.take('a').ok, false);
  nowMs += 1;
  assert.equal(throttle.take('a').ok, true);
  assert.equal(throttle.take('a').ok, false);
});

test('a refunded attempt does not count, and a refund never overfills', () => {
  const throttle = createThrottle({ limit: 3, windowS: 60 }, { now: () => 0 });
  for (let i = 0; i < 100; i++) {
    const r = throttle.take('ok');
    assert.ok(r.ok);
    r.attempt.refund();
    r.attempt.refund();
  }
  for (let i = 0; i < 3; i++) assert.equal(throttle.take('ok').ok, true);
  assert.equal(throttle.take('ok').ok, false);
});

test('takeAttempts charges every bucket or none, and throws RATE_LIMITED with the longest wait', () => {
  let nowMs = 0;
  const perAccount = createThrottle({ limit: 2, windowS: 20 }, { now: () => nowMs });
  const perAddress = createThrottle({ limit: 5, windowS: 5 }, { now: () => nowMs });
  takeAttempts(
    [
      [perAccount, 'x'],
      [perAddress, 'ip'],
    ],
    'slow down',
  );
  takeAttempts(
    [
      [perAccount, 'x'],
      [perAddress, 'ip'],
    ],
    'slow down',
  );
  assert.throws(
    () =>
      takeAttempts(
        [
          [perAccount, 'x'],
          [perAddress, 'ip'],
        ],
        'slow down',
      ),
    (err: unknown) => {
      assert.equal((err as { code?: string }).code, 'RATE_LIMITED');
      assert.deepEqual((err as { details?: unknown }).details, { retry_after_ms: 10_000 });
      return true;
    },
  );
  // The refused call took nothing from the address: three more fit in its five.
  for (let i = 0; i < 3; i++) takeAttempts([[perAddress, 'ip']], 'slow down');
  assert.throws(() => takeAttempts([[perAddress, 'ip']], 'slow down'), { code: 'RATE_LIMITED' });
  nowMs += 10_000;
  takeAttempts(
    [
      [perAccount, 'x'],
      [perAddress, 'ip'],
    ],
    'slow down',
  );
});

test('memory stays bounded: refilled buckets are forgotten first, then the oldest', () => {
  let nowMs = 0;
  const throttle = createThrottle({ limit: 1, windowS: 1000 }, { now: () => nowMs, maxKeys: 100 });
  for (let i = 0; i < 1000; i++) throttle.take(`k${String(i)}`);
  assert.ok(throttle.size() <= 100, String(throttle.size()));
  // The newest keys are still throttled.
  assert.equal(throttle.take('k999').ok, false);
  nowMs += 1_000_000;
  throttle.take('fresh');
  for (let i = 0; i < 200; i++) throttle.take(`n${String(i)}`);
  assert.ok(throttle.size() <= 100);
});

test('addresses: IPv4-mapped is IPv4, IPv6 counts per /64, zone ids are dropped', () => {
  assert.equal(addressKey('203.0.113.9'), '203.0.113.9');
  assert.equal(addressKey('::ffff:203.0.113.9'), '203.0.113.9');
  assert.equal(addressKey('2001:db8:aa:bb:1:2:3:4'), '2001:db8:aa:bb::/64');
  assert.equal(addressKey('2001:0db8:00aa:00bb::99'), '2001:db8:aa:bb::/64');
  assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(addressKey('::1'), '0:0:0:0::/64');
});
