import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BankItem, CatConfig } from './config.ts';
import { catConfigSchema } from './config.ts';
import { prob3pl } from './irt.ts';
import { createRng } from './rng.ts';
import { selectNextItem } from './select.ts';
import type { SelectableItem } from './select.ts';
import { nextStep } from './step.ts';
import type { HistoryEntry, NextStepResult } from './step.ts';
import { DEFAULT_THETA_CUTS, aStrata, assertCuts, stratificationParams, stratumForStep, stratumLengths, thetaStratum } from './strata.ts';

function bank(n: number, seed: string, aOfB?: (b: number) => number): BankItem[] {
  const r = createRng(seed);
  return Array.from({ length: n }, (_, i) => {
    const b = r.normal();
    const a = aOfB ? aOfB(b) + 0.05 * r.normal() : 0.5 + 1.5 * r.next();
    return { id: `i${i}`, skill: 's', a, b, c: 0.2 };
  });
}

function play(items: BankItem[], config: CatConfig, seed: string, trueTheta: number): { steps: NextStepResult[]; history: HistoryEntry[] } {
  const r = createRng(`answers:${seed}`);
  const byId = new Map(items.map((it) => [it.id, it]));
  const history: HistoryEntry[] = [];
  const steps: NextStepResult[] = [];
  for (;;) {
    const step = nextStep({ bank: items, history, config, seed });
    steps.push(step);
    if (step.done) return { steps, history };
    const it = byId.get(step.itemId) as BankItem;
    history.push({ itemId: step.itemId, correct: r.next() < prob3pl(trueTheta, it.a, it.b, it.c) });
  }
}

describe('θ strata', () => {
  it('the default cuts split [−3, 3] into 7 strata of equal width', () => {
    assert.equal(DEFAULT_THETA_CUTS.length, 6);
    DEFAULT_THETA_CUTS.forEach((c, j) => assert.ok(Math.abs(c - (-3 + (6 / 7) * (j + 1))) < 1e-12));
    assert.equal(thetaStratum(-5, DEFAULT_THETA_CUTS), 0);
    assert.equal(thetaStratum(0, DEFAULT_THETA_CUTS), 3);
    assert.equal(thetaStratum(DEFAULT_THETA_CUTS[2] as number, DEFAULT_THETA_CUTS), 3);
    assert.equal(thetaStratum((DEFAULT_THETA_CUTS[2] as number) - 1e-9, DEFAULT_THETA_CUTS), 2);
    assert.equal(thetaStratum(2.9, DEFAULT_THETA_CUTS), 6);
    assert.throws(() => thetaStratum(NaN, DEFAULT_THETA_CUTS), RangeError);
  });
});

describe('a-stratification', () => {
  it('divides the test length across strata, the remainder to the last ones', () => {
    assert.deepEqual(stratumLengths(20, 4), [5, 5, 5, 5]);
    assert.deepEqual(stratumLengths(20, 3), [6, 7, 7]);
    assert.deepEqual(
      Array.from({ length: 22 }, (_, n) => stratumForStep(n, 20, 3)),
      [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2],
    );
    assert.throws(() => stratumLengths(20, 0), RangeError);
  });

  it('cuts the bank by ascending a into strata of equal size', () => {
    const items = bank(103, 'strata');
    const s = aStrata(items, 4);
    const sizes = [0, 0, 0, 0];
    for (const k of s) sizes[k] = (sizes[k] as number) + 1;
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `sizes ${sizes.join(',')}`);
    for (let k = 0; k < 3; k++) {
      const top = Math.max(...items.filter((_, i) => s[i] === k).map((it) => it.a));
      const next = Math.min(...items.filter((_, i) => s[i] === k + 1).map((it) => it.a));
      assert.ok(top <= next, `stratum ${k} reaches a = ${top}, stratum ${k + 1} starts at ${next}`);
    }
    assert.throws(() => aStrata(items, 1), RangeError);
    assert.throws(() => aStrata(items.slice(0, 3), 4), RangeError);
  });

  it('with b-blocking every stratum covers the b range even when a rises with b', () => {
    const items = bank(200, 'blocking', (b) => 1.2 + 0.4 * b);
    const meanB = (s: Int32Array, k: number): number => {
      const bs = items.filter((_, i) => s[i] === k).map((it) => it.b);
      return bs.reduce((x, y) => x + y, 0) / bs.length;
    };
    const plain = aStrata(items, 4);
    const blocked = aStrata(items, 4, true);
    // a follows b, so plain strata are b strata too; b-blocking gives each stratum one item of every block.
    assert.ok(meanB(plain, 3) - meanB(plain, 0) > 1.5);
    assert.ok(Math.abs(meanB(blocked, 3) - meanB(blocked, 0)) < 0.1);
    const order = items.map((_, i) => i).sort((x, y) => (items[x] as BankItem).b - (items[y] as BankItem).b);
    for (let start = 0; start < 200; start += 4) {
      const block = order.slice(start, start + 4);
      assert.deepEqual(block.map((i) => blocked[i]).sort(), [0, 1, 2, 3]);
      const byA = [...block].sort((x, y) => (items[x] as BankItem).a - (items[y] as BankItem).a);
      assert.deepEqual(
        byA.map((i) => blocked[i]),
        [0, 1, 2, 3],
      );
    }
  });

  it('selects the closest b to θ in the step stratum, then tries higher strata', () => {
    const items: SelectableItem[] = bank(40, 'select');
    const stratumOf = aStrata(items, 4);
    for (const theta of [-1.5, 0, 0.7]) {
      for (let stratum = 0; stratum < 4; stratum++) {
        const pick = selectNextItem({ items, administered: [], theta, aStratified: { stratumOf, stratum, strata: 4 } });
        assert.ok(pick);
        assert.equal(stratumOf[pick.index], stratum);
        const best = Math.min(...items.filter((_, i) => stratumOf[i] === stratum).map((it) => Math.abs(it.b - theta)));
        assert.equal(Math.abs((items[pick.index] as SelectableItem).b - theta), best);
      }
    }
    const inOne = items.map((_, i) => i).filter((i) => stratumOf[i] === 1);
    const pick = selectNextItem({ items, administered: inOne, theta: 0, aStratified: { stratumOf, stratum: 1, strata: 4 } });
    assert.equal(stratumOf[pick?.index as number], 2);
    const upper = items.map((_, i) => i).filter((i) => (stratumOf[i] as number) >= 1);
    const low = selectNextItem({ items, administered: upper, theta: 0, aStratified: { stratumOf, stratum: 1, strata: 4 } });
    assert.equal(stratumOf[low?.index as number], 0);
  });

  it('nextStep draws the first L/K items from the lowest-a stratum, and so on, the same way every time', () => {
    const items = bank(120, 'step');
    const config = catConfigSchema.parse({ minItems: 12, maxItems: 12, aStratification: { strata: 3, bBlocking: true } });
    const stratumOf = aStrata(items, 3, true);
    const index = new Map(items.map((it, i) => [it.id, i]));
    for (const theta of [-1, 0.5, 2]) {
      const { steps, history } = play(items, config, `t${theta}`, theta);
      assert.equal(history.length, 12);
      history.forEach((h, n) => {
        assert.equal(stratumOf[index.get(h.itemId) as number], Math.floor(n / 4), `item ${n}`);
        const step = steps[n] as NextStepResult;
        const candidates = items.filter(
          (it, i) => stratumOf[i] === Math.floor(n / 4) && !history.slice(0, n).some((x) => x.itemId === it.id),
        );
        const best = Math.min(...candidates.map((it) => Math.abs(it.b - step.theta)));
        assert.equal(Math.abs((items[index.get(h.itemId) as number] as BankItem).b - step.theta), best);
      });
      assert.deepEqual(play(items, config, `t${theta}`, theta).history, history);
    }
  });
});

describe('conditional Sympson–Hetter in selection', () => {
  it('the lottery uses K of the stratum of θ̂', () => {
    const items: SelectableItem[] = bank(30, 'csh');
    const theta = 0.2;
    const plain = selectNextItem({ items, administered: [], theta });
    assert.ok(plain);
    const best = plain.index;
    // The best item is closed in stratum 3 (θ̂ = 0.2) and open everywhere else.
    const withK = items.map((it, i) => (i === best ? { ...it, exposureKByStratum: [1, 1, 1, 0, 1, 1, 1] } : it));
    const draw = (): number => 0.5;
    const s3 = selectNextItem({ items: withK, administered: [], theta, sympsonHetter: true, exposureDraw: draw, exposureStratum: 3 });
    assert.notEqual(s3?.index, best);
    assert.deepEqual(s3?.considered.slice(0, 1), [best]);
    const s4 = selectNextItem({ items: withK, administered: [], theta, sympsonHetter: true, exposureDraw: draw, exposureStratum: 4 });
    assert.equal(s4?.index, best);
  });

  it('nextStep never gives an item whose K is 0 in the stratum of θ̂', () => {
    const items = bank(60, 'csh-step').map((it, i) => ({
      ...it,
      exposureKByStratum: i % 2 === 0 ? [0, 0, 0, 1, 1, 1, 1] : [1, 1, 1, 1, 1, 1, 1],
    }));
    const config = catConfigSchema.parse({ minItems: 15, maxItems: 15, conditionalSympsonHetter: {} });
    const index = new Map(items.map((it, i) => [it.id, i]));
    for (const theta of [-2, -1, 1]) {
      const { steps, history } = play(items, config, `c${theta}`, theta);
      let low = 0;
      history.forEach((h, n) => {
        const th = (steps[n] as NextStepResult).theta;
        if (thetaStratum(th, DEFAULT_THETA_CUTS) < 3) {
          low++;
          assert.equal((index.get(h.itemId) as number) % 2, 1, `item ${h.itemId} at θ̂ ${th}`);
        }
      });
      if (theta === -2) assert.ok(low > 5);
    }
  });

  it('the configuration checks the new options and still takes the old ones', () => {
    const ok = (c: unknown): boolean => catConfigSchema.safeParse(c).success;
    assert.ok(ok({ minItems: 5, maxItems: 20, sympsonHetter: true, randomesque: 3 }));
    assert.ok(ok({ minItems: 5, maxItems: 20, conditionalSympsonHetter: { cuts: [-1, 0, 1] }, aStratification: { strata: 4 } }));
    assert.ok(!ok({ minItems: 5, maxItems: 20, conditionalSympsonHetter: { cuts: [1, 0] } }));
    assert.ok(!ok({ minItems: 5, maxItems: 20, conditionalSympsonHetter: { cuts: [] } }));
    assert.ok(!ok({ minItems: 5, maxItems: 20, conditionalSympsonHetter: {}, sympsonHetter: true }));
    assert.ok(!ok({ minItems: 5, maxItems: 20, conditionalSympsonHetter: { cut: [0] } }));
    assert.ok(!ok({ minItems: 2, maxItems: 3, aStratification: { strata: 4 } }));
    assert.ok(!ok({ minItems: 5, maxItems: 20, aStratification: { strata: 1 } }));
    assert.ok(!ok({ minItems: 5, maxItems: 20, aStratification: { strata: 2.5 } }));
  });

  it('classification still ends a stratified, conditionally controlled test', () => {
    const items = bank(120, 'cls').map((it) => ({ ...it, exposureKByStratum: [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5] }));
    const config = catConfigSchema.parse({
      minItems: 5,
      maxItems: 30,
      aStratification: { strata: 3 },
      conditionalSympsonHetter: {},
      classification: { rule: 'CI', cutTheta: 0, alpha: 0.05 },
    });
    const { steps } = play(items, config, 'cls', 2.5);
    const last = steps.at(-1) as NextStepResult;
    assert.ok(last.done);
    assert.equal(last.reason, 'classified');
    assert.equal(last.decision, 'pass');
  });
});

describe('strata inputs', () => {
  it('θ cuts must be given, finite and strictly increasing', () => {
    assert.doesNotThrow(() => assertCuts([-1, 0, 1]));
    assert.doesNotThrow(() => assertCuts([0.5]));
    assert.throws(() => assertCuts([]), { name: 'RangeError', message: 'θ strata need at least one cut point' });
    assert.throws(() => assertCuts([0, Number.NaN]), { name: 'RangeError', message: 'θ cut 1 must be finite, got NaN' });
    assert.throws(() => assertCuts([Number.NEGATIVE_INFINITY, 0]), { message: 'θ cut 0 must be finite, got -Infinity' });
    assert.throws(() => assertCuts([0, 1, 1]), { name: 'RangeError', message: 'θ cuts must increase' });
    assert.throws(() => assertCuts([1, 0]), { message: 'θ cuts must increase' });
  });

  it('a θ on a cut belongs to the stratum above it; NaN has none', () => {
    const cuts = [-1, 0, 1];
    assert.deepEqual(
      [-5, -1.0001, -1, -0.5, 0, 0.999, 1, 7].map((t) => thetaStratum(t, cuts)),
      [0, 0, 1, 1, 2, 2, 3, 3],
    );
    assert.equal(thetaStratum(Number.POSITIVE_INFINITY, cuts), 3);
    assert.throws(() => thetaStratum(Number.NaN, cuts), { name: 'RangeError', message: 'thetaStratum: theta is NaN' });
  });

  it('stratum lengths and steps need whole positive counts', () => {
    assert.deepEqual(stratumLengths(1, 1), [1]);
    assert.deepEqual(stratumLengths(2, 3), [0, 1, 1]);
    for (const strata of [0, 1.5, Number.NaN]) {
      assert.throws(() => stratumLengths(10, strata), { name: 'RangeError', message: `strata must be an integer ≥ 1, got ${strata}` });
    }
    for (const maxItems of [0, 2.5]) {
      assert.throws(() => stratumLengths(maxItems, 2), { name: 'RangeError', message: `maxItems must be an integer ≥ 1, got ${maxItems}` });
    }
    // 10 items in 3 strata: 3, 3 and 4; past the end the last stratum goes on.
    assert.deepEqual(
      [0, 2, 3, 5, 6, 9, 10, 50].map((k) => stratumForStep(k, 10, 3)),
      [0, 0, 1, 1, 2, 2, 2, 2],
    );
  });

  it('a polytomous item is stratified by its a and its mean threshold', () => {
    const poly: SelectableItem = { a: 1, b: 0, c: 0, skill: 's', poly: { model: 'GPCM', a: 1.7, b: [-1, 0.5, 2] } };
    assert.deepEqual(stratificationParams(poly), { a: 1.7, b: 0.5 });
    assert.deepEqual(stratificationParams({ a: 0.8, b: -0.3, c: 0.2, skill: 's' }), { a: 0.8, b: -0.3 });
  });

  it('a-stratification needs at least two strata and no more strata than items', () => {
    const items = bank(5, 'few');
    for (const strata of [1, 2.5, Number.NaN]) {
      assert.throws(() => aStrata(items, strata), {
        name: 'RangeError',
        message: `a-stratification needs at least 2 strata, got ${strata}`,
      });
    }
    assert.throws(() => aStrata(items, 6), { name: 'RangeError', message: 'a-stratification: 6 strata for 5 items' });
    assert.deepEqual([...aStrata(items, 5)].sort(), [0, 1, 2, 3, 4]);
  });

  it('the cached strata follow changed parameters, strata counts and b-blocking of the same array', () => {
    const items = bank(8, 'cache').map((it, i) => ({ ...it, a: 0.5 + 0.1 * i, b: -0.5 * i }));
    assert.deepEqual([...aStrata(items, 2)], [0, 0, 0, 0, 1, 1, 1, 1]);
    assert.deepEqual([...aStrata(items, 4)], [0, 0, 1, 1, 2, 2, 3, 3]);
    // b-blocking: blocks of 4 by b (items 7..4, then 3..0), the lower a of each to stratum 0.
    assert.deepEqual([...aStrata(items, 4, true)], [0, 1, 2, 3, 0, 1, 2, 3]);
    assert.deepEqual([...aStrata(items, 2, true)], [0, 1, 0, 1, 0, 1, 0, 1]);
    // The same call again is served from the cache, and a changed a or b is noticed.
    assert.deepEqual([...aStrata(items, 2)], [0, 0, 0, 0, 1, 1, 1, 1]);
    assert.equal(aStrata(items, 2), aStrata(items, 2));
    (items[0] as BankItem).a = 3;
    assert.deepEqual([...aStrata(items, 2)], [1, 0, 0, 0, 0, 1, 1, 1]);
    (items[0] as BankItem).a = 0.5;
    assert.deepEqual([...aStrata(items, 2, true)], [0, 1, 0, 1, 0, 1, 0, 1]);
    (items[1] as BankItem).b = -10;
    assert.deepEqual([...aStrata(items, 2, true)], [0, 0, 1, 0, 1, 0, 1, 1]);
    // One item more in the same array: the strata are cut again.
    items.push({ ...(items[7] as BankItem), id: 'extra', a: 0.1 });
    assert.equal(aStrata(items, 2).length, 9);
  });

  it('ties in a (and in b) go by index', () => {
    const same = bank(6, 'ties').map((it) => ({ ...it, a: 1, b: 0 }));
    assert.deepEqual([...aStrata(same, 2)], [0, 0, 0, 1, 1, 1]);
    assert.deepEqual([...aStrata(same, 3)], [0, 0, 1, 1, 2, 2]);
    // b-blocking with equal b: blocks of 2 by index, the lower index to stratum 0.
    assert.deepEqual([...aStrata(same, 2, true)], [0, 1, 0, 1, 0, 1]);
  });
});
