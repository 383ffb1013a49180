import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { info3pl } from './irt.ts';
import { createRng } from './rng.ts';
import { contentStatus, selectNextItem } from './select.ts';
import type { SelectableItem } from './select.ts';

function bank(n: number, seed: string, skills = ['x']): SelectableItem[] {
  const r = createRng(seed);
  return Array.from({ length: n }, (_, i) => ({
    a: 0.5 + r.next() * 1.5,
    b: r.normal(),
    c: 0.2,
    skill: skills[i % skills.length] as string,
  }));
}

function argmaxInfo(items: SelectableItem[], theta: number, skip: Set<number>): number {
  let best = -1;
  let bv = -Infinity;
  items.forEach((it, i) => {
    if (skip.has(i)) return;
    const v = info3pl(theta, it.a, it.b, it.c);
    if (v > bv) {
      bv = v;
      best = i;
    }
  });
  return best;
}

describe('selectNextItem', () => {
  it('picks the maximum-information item and skips administered ones', () => {
    const items = bank(200, 's1');
    for (const theta of [-2, -0.3, 0, 1.1, 2.5]) {
      const first = selectNextItem({ items, administered: [], theta });
      assert.ok(first);
      assert.equal(first.index, argmaxInfo(items, theta, new Set()));
      const adm = [first.index, 3, 7];
      const second = selectNextItem({ items, administered: adm, theta });
      assert.ok(second);
      assert.equal(second.index, argmaxInfo(items, theta, new Set(adm)));
      assert.ok(!adm.includes(second.index));
    }
  });

  it('returns null when the pool is exhausted and rejects bad indices', () => {
    const items = bank(3, 's2');
    assert.equal(selectNextItem({ items, administered: [0, 1, 2], theta: 0 }), null);
    assert.throws(() => selectNextItem({ items, administered: [5], theta: 0 }), RangeError);
  });

  it('randomesque picks among the top k by information, deterministically per rng', () => {
    const items = bank(100, 's3');
    const order = items
      .map((it, i) => [i, info3pl(0.4, it.a, it.b, it.c)] as const)
      .sort((x, y) => y[1] - x[1])
      .map((x) => x[0]);
    const top5 = new Set(order.slice(0, 5));
    const seen = new Set<number>();
    for (let s = 0; s < 200; s++) {
      const pick = selectNextItem({ items, administered: [], theta: 0.4, randomesque: 5, rng: createRng(`r${s}`) });
      assert.ok(top5.has(pick?.index as number));
      seen.add(pick?.index as number);
      const again = selectNextItem({ items, administered: [], theta: 0.4, randomesque: 5, rng: createRng(`r${s}`) });
      assert.equal(again?.index, pick?.index);
    }
    assert.equal(seen.size, 5);
  });

  it('Sympson–Hetter: an item with K = 0 is never chosen while others pass; K = 1 always passes', () => {
    const items = bank(50, 's4');
    const best = argmaxInfo(items, 0, new Set());
    const withK = items.map((it, i) => ({ ...it, exposureK: i === best ? 0 : 1 }));
    const pick = selectNextItem({ items: withK, administered: [], theta: 0, sympsonHetter: true, exposureDraw: () => 0.5 });
    assert.notEqual(pick?.index, best);
    assert.deepEqual(pick?.considered, [best, pick?.index]);
    const all = selectNextItem({ items, administered: [], theta: 0, sympsonHetter: true, exposureDraw: () => 0.99 });
    assert.equal(all?.index, best);
  });

  it('Sympson–Hetter: administers the top item with probability ≈ K', () => {
    const items = bank(50, 's5');
    const best = argmaxInfo(items, 0, new Set());
    const withK = items.map((it, i) => ({ ...it, exposureK: i === best ? 0.3 : 1 }));
    let hits = 0;
    for (let s = 0; s < 2000; s++) {
      const u = createRng(`e${s}`).next();
      const pick = selectNextItem({ items: withK, administered: [], theta: 0, sympsonHetter: true, exposureDraw: () => u });
      if (pick?.index === best) hits++;
    }
    assert.ok(Math.abs(hits / 2000 - 0.3) < 0.04, `rate ${hits / 2000}`);
  });

  it('Kingsbury–Zara: chooses the skill furthest below its target share', () => {
    const items = bank(90, 's6', ['alg', 'geo', 'num']);
    const skills = { alg: { share: 0.5 }, geo: { share: 0.3 }, num: { share: 0.2 } };
    // Nothing administered: largest share first.
    assert.equal(items[selectNextItem({ items, administered: [], theta: 0, skills })?.index as number]?.skill, 'alg');
    // After 2 alg + 0 geo + 0 num: geo deficit 0.3 > num 0.2 > alg −0.5.
    const adm = [0, 3];
    assert.equal(items[selectNextItem({ items, administered: adm, theta: 0, skills })?.index as number]?.skill, 'geo');
  });

  it('never exceeds a skill maximum and forces skills below their minimum', () => {
    const items = bank(60, 's7', ['a', 'b', 'c']);
    const skills = { a: { max: 2 }, c: { min: 3 } };
    const administered: number[] = [];
    for (let step = 0; step < 8; step++) {
      const pick = selectNextItem({ items, administered, theta: 0, skills, maxItems: 8 });
      assert.ok(pick);
      administered.push(pick.index);
      const st = contentStatus(items, administered, skills);
      assert.ok((st.counts.get('a') ?? 0) <= 2);
    }
    const st = contentStatus(items, administered, skills);
    assert.ok((st.counts.get('c') ?? 0) >= 3);
    assert.ok(st.minsMet);
  });

  it('treats unlisted skills as an "other" group sharing the residual target', () => {
    const items = bank(60, 's8', ['a', 'b']);
    const skills = { a: { share: 0.5 } };
    const administered: number[] = [];
    for (let step = 0; step < 10; step++) {
      const pick = selectNextItem({ items, administered, theta: 0, skills });
      administered.push(pick?.index as number);
    }
    const st = contentStatus(items, administered, skills);
    assert.equal(st.counts.get('a'), 5);
    assert.equal(st.counts.get('b'), 5);
  });
});

describe('selectNextItem inputs', () => {
  const items = bank(6, 'inputs');

  it('refuses administered indices outside the bank, θ that is not finite, and a bad a-stratum', () => {
    for (const idx of [-1, 6, 1.5]) {
      assert.throws(() => selectNextItem({ items, administered: [0, idx], theta: 0 }), {
        name: 'RangeError',
        message: `administered index out of range: ${idx}`,
      });
    }
    assert.doesNotThrow(() => selectNextItem({ items, administered: [0, 5], theta: 0 }));
    for (const theta of [Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => selectNextItem({ items, administered: [], theta }), {
        name: 'RangeError',
        message: `selectNextItem: theta must be finite, got ${theta}`,
      });
    }
    const stratumOf = Int32Array.of(0, 0, 0, 1, 1, 1);
    for (const stratum of [-1, 2, 0.5]) {
      assert.throws(() => selectNextItem({ items, administered: [], theta: 0, aStratified: { stratumOf, stratum, strata: 2 } }), {
        name: 'RangeError',
        message: `a-stratum ${stratum} out of range`,
      });
    }
    assert.throws(
      () => selectNextItem({ items, administered: [], theta: 0, aStratified: { stratumOf: Int32Array.of(0, 1), stratum: 0, strata: 2 } }),
      {
        name: 'RangeError',
        message: 'aStratified.stratumOf must have one entry per item',
      },
    );
  });

  it('randomesque k > 1 needs an rng; k = 1 does not', () => {
    assert.throws(() => selectNextItem({ items, administered: [], theta: 0, randomesque: 3 }), {
      message: 'selectNextItem: randomesque k > 1 requires an rng',
    });
    assert.equal(selectNextItem({ items, administered: [], theta: 0, randomesque: 1.9 })?.index, argmaxInfo(items, 0, new Set()));
  });

  it('reports the information of the chosen item at θ with D', () => {
    const pick = selectNextItem({ items, administered: [], theta: 0.7, D: 1.702 });
    assert.ok(pick);
    const it = items[pick.index] as SelectableItem;
    assert.equal(pick.information, info3pl(0.7, it.a, it.b, it.c, 1.702));
    assert.deepEqual(pick.considered, []);
  });
});

describe('a-stratified order', () => {
  it('tries the step’s stratum, then the higher ones in turn, then the lower ones, closest b first', () => {
    const items: SelectableItem[] = [0.1, -0.2, 0.5, 1.5, -1].map((b) => ({ a: 1, b, c: 0 }));
    const stratumOf = Int32Array.of(0, 0, 1, 2, 3);
    const pick = (administered: number[], stratum: number): number | undefined =>
      selectNextItem({ items, administered, theta: 0, aStratified: { stratumOf, stratum, strata: 4 } })?.index;
    assert.equal(pick([], 0), 0);
    assert.equal(pick([0], 0), 1);
    assert.equal(pick([0, 1], 0), 2);
    assert.equal(pick([2], 1), 3);
    assert.equal(pick([2, 3], 1), 4);
    assert.equal(pick([2, 3, 4], 1), 0);
    assert.equal(pick([0, 1, 2, 3, 4], 1), undefined);
  });
});

describe('Sympson–Hetter lottery', () => {
  it('passes an item when its draw is below K (not equal), and K ≥ 1 without drawing', () => {
    const items = bank(10, 'lottery');
    const best = argmaxInfo(items, 0, new Set());
    const second = argmaxInfo(items, 0, new Set([best]));
    const withK = items.map((it, i) => ({ ...it, exposureK: i === best ? 0.4 : 1 }));
    const drawn: number[] = [];
    const at = (u: number): number | undefined =>
      selectNextItem({
        items: withK,
        administered: [],
        theta: 0,
        sympsonHetter: true,
        exposureDraw: (i) => {
          drawn.push(i);
          return u;
        },
      })?.index;
    assert.equal(at(0.39), best);
    assert.equal(at(0.4), second);
    assert.deepEqual(drawn, [best, best]);
    // Without a draw function there is no lottery.
    assert.equal(
      selectNextItem({ items: withK.map((it) => ({ ...it, exposureK: 0 })), administered: [], theta: 0, sympsonHetter: true })?.index,
      best,
    );
  });

  it('uses the K of the θ stratum when one is given (1 for a missing stratum)', () => {
    const items = bank(10, 'strat-k');
    const best = argmaxInfo(items, 0, new Set());
    const withK = items.map((it, i) => ({ ...it, exposureK: 1, exposureKByStratum: i === best ? [1, 0] : [1, 1] }));
    const select = (exposureStratum: number): number | undefined =>
      selectNextItem({ items: withK, administered: [], theta: 0, sympsonHetter: true, exposureDraw: () => 0.5, exposureStratum })?.index;
    assert.equal(select(0), best);
    assert.notEqual(select(1), best);
    assert.equal(select(2), best);
  });

  it('walks past the 24 buffered candidates in information order when they all fail, and falls back to the best', () => {
    // 40 items, information falling with the index; the first 30 never pass.
    const items: SelectableItem[] = Array.from({ length: 40 }, (_, i) => ({ a: 2 - i * 0.04, b: 0, c: 0, exposureK: i < 30 ? 0 : 1 }));
    const pick = selectNextItem({ items, administered: [], theta: 0, sympsonHetter: true, exposureDraw: () => 0.5 });
    assert.ok(pick);
    assert.equal(pick.index, 30);
    assert.deepEqual(
      pick.considered,
      Array.from({ length: 31 }, (_, i) => i),
    );
    // With randomesque 3 the first three passing items are the candidates.
    const seen = new Set<number>();
    for (let s = 0; s < 60; s++) {
      seen.add(
        selectNextItem({
          items,
          administered: [],
          theta: 0,
          sympsonHetter: true,
          exposureDraw: () => 0.5,
          randomesque: 3,
          rng: createRng(`w${s}`),
        })?.index as number,
      );
    }
    assert.deepEqual([...seen].sort(), [30, 31, 32]);
    // Nothing passes: the most informative item is given.
    const none = items.map((it) => ({ ...it, exposureK: 0 }));
    const fallback = selectNextItem({ items: none, administered: [0], theta: 0, sympsonHetter: true, exposureDraw: () => 0.5 });
    assert.ok(fallback);
    assert.equal(fallback.index, 1);
    assert.equal(fallback.considered.length, 39);
  });
});

describe('content analysis', () => {
  it('an empty target map is no targets; an item without a skill counts under ""', () => {
    const items: SelectableItem[] = [
      { a: 1, b: 0, c: 0 },
      { a: 1.5, b: 0, c: 0, skill: 'x' },
    ];
    assert.equal(selectNextItem({ items, administered: [], theta: 0, skills: {} })?.index, 1);
    const st = contentStatus(items, [0], { x: { min: 1 } });
    assert.deepEqual([...st.counts], [['', 1]]);
    assert.deepEqual([...st.available], [['x', 1]]);
    assert.equal(st.eligibleCount, 1);
    assert.equal(st.unmetMin, 1);
    assert.equal(st.minsMet, false);
    assert.equal(contentStatus(items, [0, 1], { x: { min: 1 } }).minsMet, true);
    // A minimum no item can reach any more counts as met.
    assert.equal(contentStatus(items, [0], { y: { min: 2 } }).minsMet, true);
  });

  it('follows skills changed on the same items array', () => {
    const items: SelectableItem[] = bank(6, 'renamed', ['p', 'q']);
    const skills = { p: { max: 1 }, q: { max: 3 } };
    assert.deepEqual([...contentStatus(items, [0, 1], skills).counts].sort(), [
      ['p', 1],
      ['q', 1],
    ]);
    (items[1] as SelectableItem).skill = 'p';
    const st = contentStatus(items, [0, 1], skills);
    assert.deepEqual([...st.counts], [['p', 2]]);
    // p is over its maximum: only q's two items left are eligible.
    assert.equal(st.eligibleCount, 2);
    items.push({ a: 1, b: 0, c: 0, skill: 'r' });
    assert.deepEqual([...contentStatus(items, [6], skills).counts], [['r', 1]]);
  });

  it('forces a skill below its minimum only when the remaining slots require it and it has items left', () => {
    const items: SelectableItem[] = [
      { a: 2, b: 0, c: 0, skill: 'big' },
      { a: 1.9, b: 0, c: 0, skill: 'big' },
      { a: 0.5, b: 0, c: 0, skill: 'small' },
      { a: 0.4, b: 0, c: 0, skill: 'small' },
    ];
    const skills = { small: { min: 2 } };
    // 4 slots, 2 needed: free choice.
    assert.equal(selectNextItem({ items, administered: [], theta: 0, skills, maxItems: 4 })?.index, 0);
    // 3 slots, 2 needed: still free.
    assert.equal(selectNextItem({ items, administered: [0], theta: 0, skills, maxItems: 4 })?.index, 1);
    // 2 slots, 2 needed: forced.
    assert.equal(selectNextItem({ items, administered: [], theta: 0, skills, maxItems: 2 })?.index, 2);
    // No maximum length: never forced.
    assert.equal(selectNextItem({ items, administered: [], theta: 0, skills })?.index, 0);
    // A minimum that cannot be reached (small has no items left) forces nothing.
    const noSmall = items.slice(0, 2);
    assert.equal(selectNextItem({ items: noSmall, administered: [], theta: 0, skills, maxItems: 1 })?.index, 0);
  });

  it('Kingsbury–Zara shares: normalised when they sum above 1, a skill with no items left is skipped, "other" wins its deficit', () => {
    const items: SelectableItem[] = [
      { a: 2, b: 0, c: 0, skill: 'o' },
      { a: 1.5, b: 0, c: 0, skill: 'x' },
      { a: 1, b: 0, c: 0, skill: 'y' },
      { a: 1.2, b: 0, c: 0, skill: 'y' },
    ];
    const pick = (administered: number[], skills: Record<string, { share: number }>): string | undefined =>
      items[selectNextItem({ items, administered, theta: 0, skills })?.index as number]?.skill;
    // Shares 0.6 and 0.9 (sum 1.5): x 0.4 and y 0.6 of the test, nothing left for "other".
    assert.equal(pick([], { x: { share: 0.6 }, y: { share: 0.9 } }), 'y');
    // After y, x: deficit x 0.4 − 0 against y 0.6 − 1.
    assert.equal(pick([3], { x: { share: 0.6 }, y: { share: 0.9 } }), 'x');
    // x has no items left: y, although x is further below its share.
    assert.equal(pick([1, 3], { x: { share: 0.6 }, y: { share: 0.9 } }), 'y');
    // Shares 0.2 and 0.3: "other" has 0.5 and goes first, then the largest deficit.
    assert.equal(pick([], { x: { share: 0.2 }, y: { share: 0.3 } }), 'o');
    assert.equal(pick([0], { x: { share: 0.2 }, y: { share: 0.3 } }), 'y');
    // A negative share counts as 0.
    assert.equal(pick([0], { x: { share: -1 }, y: { share: 0.3 } }), 'y');
    // Every group with a share exhausted, "other" behind its share: anything eligible.
    assert.equal(pick([1, 2, 3], { x: { share: 0.5 }, y: { share: 0.5 } }), 'o');
  });
});
