import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRng, hashSeed, uniformFromSeed } from './rng.ts';

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

describe('stable streams', () => {
  // Assessments replay their item selection from stored seeds: the same seed must give the same
  // numbers in every version, so the hash and the generator are pinned to known values.
  it('hashSeed gives these four words', () => {
    assert.deepEqual(hashSeed(''), [880409519, 2653470329, 855755207, 1631403673]);
    assert.deepEqual(hashSeed('abc'), [132538971, 780451947, 3403499749, 3818005776]);
    assert.deepEqual(hashSeed('candidate-7:step-3'), [2911727917, 78244629, 3182131918, 695259629]);
  });

  it('createRng gives this stream, a number seed n the same as the string "#n"', () => {
    const r = createRng('abc');
    assert.deepEqual(
      [r.next(), r.next(), r.nextInt(1000), r.normal(), r.normal(), r.normal()],
      [0.7558699829969555, 0.267721981741488, 177, -0.32294410257151845, 0.9935746559299194, -0.8365795720364396],
    );
    assert.equal(createRng(42).next(), 0.31025540828704834);
    assert.equal(createRng('#42').next(), 0.31025540828704834);
    assert.equal(uniformFromSeed('x'), 0.8368203118443489);
    assert.equal(uniformFromSeed('x'), createRng('x').next());
  });

  it('normal() is Box–Muller: a pair from two uniforms, cosine first, then the sine', () => {
    for (const seed of ['p', 'q', 'r']) {
      const u = createRng(seed);
      const z = createRng(seed);
      for (let i = 0; i < 5; i++) {
        const a = u.next();
        const b = u.next();
        const radius = Math.sqrt(-2 * Math.log(a));
        assert.ok(Math.abs(z.normal() - radius * Math.cos(2 * Math.PI * b)) < 1e-12);
        assert.ok(Math.abs(z.normal() - radius * Math.sin(2 * Math.PI * b)) < 1e-12);
      }
    }
  });

  it('nextInt(n) floors n and refuses n below 1', () => {
    const a = createRng('n');
    const b = createRng('n');
    for (let i = 0; i < 50; i++) assert.equal(a.nextInt(2.9), Math.floor(b.next() * 2));
    assert.equal(createRng('one').nextInt(1), 0);
    for (const n of [0, 0.5, -3, Number.NaN]) {
      assert.throws(() => createRng('z').nextInt(n), { name: 'RangeError', message: `nextInt: n must be >= 1, got ${n}` });
    }
  });
});
