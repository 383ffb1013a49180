import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calibrate } from './calibrate.ts';
import type { PolySpec, ResponseRow } from './calibrate.ts';
import { polyDerivatives } from './calibrate-poly.ts';
import { DEFAULT_D, prob3pl } from './irt.ts';
import { categoryProbabilities, drawCategory } from './models.ts';
import type { PolyItemParams } from './models.ts';
import { createRng } from './rng.ts';
import { drawThetas } from './simulate.ts';

type Dich = { a: number; b: number; c: number };
type Known = PolyItemParams | Dich;
const isPolyItem = (i: Known): i is PolyItemParams => 'model' in i;

/** A mixed bank: GRM items with 5 categories, GPCM items with 4, and 2PL items. */
function mixedBank(seed: string, grm: number, gpcm: number, dich: number): Known[] {
  const r = createRng(seed);
  const out: Known[] = [];
  for (let j = 0; j < grm; j++) {
    const centre = 0.8 * r.normal();
    out.push({
      model: 'GRM',
      a: 0.8 + 1.2 * r.next(),
      b: [-1.5, -0.5, 0.4, 1.4].map((v) => centre + v + 0.2 * r.normal()).sort((x, y) => x - y),
    });
  }
  for (let j = 0; j < gpcm; j++) {
    const centre = 0.8 * r.normal();
    out.push({ model: 'GPCM', a: 0.7 + 1.0 * r.next(), b: [-1, 0, 1].map((v) => centre + v + 0.3 * r.normal()) });
  }
  for (let j = 0; j < dich; j++) out.push({ a: 0.7 + 1.3 * r.next(), b: Math.max(-2.5, Math.min(2.5, r.normal())), c: 0 });
  return out;
}

function simulate(items: readonly Known[], people: number, seed: string, asked?: (i: number, j: number) => boolean): ResponseRow[] {
  const thetas = drawThetas(people, seed);
  const r = createRng(`responses:${seed}`);
  return thetas.map((t, i) => {
    const row = new Map<number, number>();
    items.forEach((it, j) => {
      if (asked !== undefined && !asked(i, j)) return;
      const u = r.next();
      row.set(j, isPolyItem(it) ? drawCategory(it, t, u) : u < prob3pl(t, it.a, it.b, it.c) ? 1 : 0);
    });
    return row;
  });
}

const specs = (items: readonly Known[]): (PolySpec | null)[] =>
  items.map((i) => (isPolyItem(i) ? { model: i.model, categories: i.b.length + 1 } : null));

describe('polytomous calibration (GRM and GPCM in Bock–Aitkin EM)', () => {
  it('category probabilities agree with the engine models, and the derivatives with finite differences', () => {
    const items: PolyItemParams[] = [
      { model: 'GRM', a: 1.3, b: [-1.2, -0.1, 0.9, 2] },
      { model: 'GPCM', a: 0.8, b: [0.5, -0.4, 1.1] },
    ];
    for (const item of items) {
      for (const theta of [-2.5, -0.3, 0.7, 2.2]) {
        const { P, dP } = polyDerivatives(item.model, { a: item.a, b: [...item.b] }, theta, DEFAULT_D);
        const ref = categoryProbabilities(item, theta, DEFAULT_D);
        P.forEach((p, k) => assert.ok(Math.abs(p - (ref[k] as number)) < 1e-12, `${item.model} P${k} at ${theta}`));
        const h = 1e-6;
        for (let i = 0; i <= item.b.length; i++) {
          const bump = (d: number) => {
            const b = [...item.b];
            if (i > 0) b[i - 1] = (b[i - 1] as number) + d;
            return categoryProbabilities({ ...item, a: i === 0 ? item.a + d : item.a, b }, theta, DEFAULT_D);
          };
          const up = bump(h);
          const down = bump(-h);
          for (let k = 0; k <= item.b.length; k++) {
            const numeric = ((up[k] as number) - (down[k] as number)) / (2 * h);
            const analytic = (dP[k] as Float64Array)[i] as number;
            assert.ok(Math.abs(numeric - analytic) < 1e-6, `${item.model} dP${k}/dφ${i} at ${theta}: ${analytic} vs ${numeric}`);
          }
        }
      }
    }
  });

  it('refuses a category beyond the item, items of the wrong length, and leaves rarely answered items unestimated', () => {
    const items = specs(mixedBank('poly-refusals', 1, 1, 0));
    assert.throws(() => calibrate([new Map([[0, 5]])], 2, { items }), RangeError);
    assert.throws(() => calibrate([new Map([[1, 1.5]])], 2, { items }), RangeError);
    assert.throws(() => calibrate([new Map([[1, -1]])], 2, { items }), RangeError);
    assert.throws(() => calibrate([new Map([[0, 1]])], 2, { items: [null] }), RangeError);
    assert.throws(() => calibrate([new Map([[0, 1]])], 1, { items: [{ model: 'GRM', categories: 1 }] }), RangeError);
    const known = mixedBank('poly-sparse', 4, 4, 0);
    const rows = simulate(known, 600, 'poly-sparse', (i, j) => j !== 7 || i < 20);
    const report = calibrate(rows, known.length, { items: specs(known), minResponses: 30 });
    const last = report.items[7];
    assert.equal(last?.estimated, false);
    assert.equal(last.fit, null);
    assert.equal(last.n, 20);
    assert.ok(report.items.slice(0, 7).every((i) => i.estimated && i.fit !== null));
  });
});
