/**
 * Simulated banks and answers shared by the polytomous calibration tests (the fast ones in
 * calibrate-poly.test.ts and the slow recovery ones in calibrate-poly.recovery.test.ts).
 */
import type { PolySpec, ResponseRow } from './calibrate.ts';
import { prob3pl } from './irt.ts';
import { drawCategory } from './models.ts';
import type { PolyItemParams } from './models.ts';
import { createRng } from './rng.ts';
import { drawThetas } from './simulate.ts';

export type Dich = { a: number; b: number; c: number };
export type Known = PolyItemParams | Dich;
export const isPolyItem = (i: Known): i is PolyItemParams => 'model' in i;

/** A mixed bank: GRM items with 5 categories, GPCM items with 4, and 2PL items. */
export function mixedBank(seed: string, grm: number, gpcm: number, dich: number): Known[] {
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

export function simulate(items: readonly Known[], people: number, seed: string, asked?: (i: number, j: number) => boolean): ResponseRow[] {
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

export const specs = (items: readonly Known[]): (PolySpec | null)[] =>
  items.map((i) => (isPolyItem(i) ? { model: i.model, categories: i.b.length + 1 } : null));
