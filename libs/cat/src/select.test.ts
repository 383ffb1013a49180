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
