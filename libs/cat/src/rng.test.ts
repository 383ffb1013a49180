import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRng } from './rng.ts';

describe('createRng', () => {
  it('is deterministic per seed and differs between seeds', () => {
    const a = createRng('abc');
    const b = createRng('abc');
    const c = createRng('abd');
    const xs = Array.from({ length: 5 }, () => a.next());
    assert.deepEqual(
      xs,
      Array.from({ length: 5 }, () => b.next()),
    );
    assert.notDeepEqual(
      xs,
      Array.from({ length: 5 }, () => c.next()),
    );
    assert.deepEqual(
      Array.from({ length: 3 }, () => createRng(42).next()),
      Array.from({ length: 3 }, () => createRng(42).next()),
    );
  });

  it('produces roughly uniform values in [0,1) and integers in range', () => {
    const r = createRng('u');
    let sum = 0;
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 20000; i++) {
      const x = r.next();
      assert.ok(x >= 0 && x < 1);
      sum += x;
      const k = r.nextInt(10);
      assert.ok(Number.isInteger(k) && k >= 0 && k < 10);
      buckets[k] = (buckets[k] ?? 0) + 1;
    }
    assert.ok(Math.abs(sum / 20000 - 0.5) < 0.01);
    for (const b of buckets) assert.ok(b > 1800 && b < 2200);
  });

  it('normal() has mean 0 and SD 1', () => {
    const r = createRng('n');
    let s = 0;
    let s2 = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      s += z;
      s2 += z * z;
    }
    assert.ok(Math.abs(s / n) < 0.03);
    assert.ok(Math.abs(Math.sqrt(s2 / n) - 1) < 0.03);
  });
});
