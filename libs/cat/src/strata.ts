/**
 * Strata for exposure control: θ strata of conditional Sympson–Hetter
 * (Stocking & Lewis, 1998) and the a-strata of a-stratified selection
 * (Chang & Ying, 1999), optionally with b-blocking (Chang, Qian & Ying, 2001).
 */
import type { SelectableItem } from './select.ts';

/** Default θ cut points of conditional Sympson–Hetter: 7 strata of equal width over [−3, 3]. */
export const DEFAULT_THETA_CUTS: readonly number[] = Array.from({ length: 6 }, (_, j) => -3 + (6 * (j + 1)) / 7);

/** Check that cut points are finite and strictly increasing. */
export function assertCuts(cuts: readonly number[]): void {
  if (cuts.length === 0) throw new RangeError('θ strata need at least one cut point');
  for (let j = 0; j < cuts.length; j++) {
    const c = cuts[j] as number;
    if (!Number.isFinite(c)) throw new RangeError(`θ cut ${j} must be finite, got ${c}`);
    if (j > 0 && !(c > (cuts[j - 1] as number))) throw new RangeError('θ cuts must increase');
  }
}

/** Index of the θ stratum of `theta`: the number of cuts ≤ θ (0 .. cuts.length). */
export function thetaStratum(theta: number, cuts: readonly number[]): number {
  if (Number.isNaN(theta)) throw new RangeError('thetaStratum: theta is NaN');
  let s = 0;
  while (s < cuts.length && theta >= (cuts[s] as number)) s++;
  return s;
}

/**
 * Number of items each a-stratum contributes to a test of `maxItems` items:
 * ⌊L/K⌋ each, the remainder going to the last (highest-a) strata, which are the
 * most useful once θ̂ is close.
 */
export function stratumLengths(maxItems: number, strata: number): number[] {
  if (!Number.isInteger(strata) || strata < 1) throw new RangeError(`strata must be an integer ≥ 1, got ${strata}`);
  if (!Number.isInteger(maxItems) || maxItems < 1) throw new RangeError(`maxItems must be an integer ≥ 1, got ${maxItems}`);
  const base = Math.floor(maxItems / strata);
  const extra = maxItems - base * strata;
  return Array.from({ length: strata }, (_, k) => base + (k >= strata - extra ? 1 : 0));
}

/** The a-stratum the item after `administered` answers comes from (the last one beyond maxItems). */
export function stratumForStep(administered: number, maxItems: number, strata: number): number {
  const lengths = stratumLengths(maxItems, strata);
  let end = 0;
  for (let k = 0; k < strata; k++) {
    end += lengths[k] as number;
    if (administered < end) return k;
  }
  return strata - 1;
}

/** Discrimination and location used to stratify an item (GRM/GPCM: a and the mean threshold). */
export function stratificationParams(it: SelectableItem): { a: number; b: number } {
  if (!it.poly) return { a: it.a, b: it.b };
  let s = 0;
  for (const b of it.poly.b) s += b;
  return { a: it.poly.a, b: s / it.poly.b.length };
}

interface StrataCache {
  key: string;
  a: Float64Array;
  b: Float64Array;
  stratumOf: Int32Array;
}
const strataCache = new WeakMap<readonly SelectableItem[], StrataCache>();

/**
 * a-stratum (0 = lowest a) of every item. Without b-blocking the items are
 * ranked by a and cut into `strata` groups of (nearly) equal size. With
 * b-blocking the items are first sorted by b into consecutive blocks of
 * `strata` items; within each block the items are ranked by a and the k-th
 * lowest goes to stratum k, so every stratum covers the whole b range.
 * Ties are broken by index. Cached per items array (re-checked on every call).
 */
export function aStrata(items: readonly SelectableItem[], strata: number, bBlocking = false): Int32Array {
  const n = items.length;
  if (!Number.isInteger(strata) || strata < 2) throw new RangeError(`a-stratification needs at least 2 strata, got ${strata}`);
  if (strata > n) throw new RangeError(`a-stratification: ${strata} strata for ${n} items`);
  const key = `${strata}:${bBlocking ? 1 : 0}`;
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const p = stratificationParams(items[i] as SelectableItem);
    a[i] = p.a;
    b[i] = p.b;
  }
  const cached = strataCache.get(items);
  if (cached?.key === key && cached.a.length === n && cached.a.every((v, i) => v === a[i]) && cached.b.every((v, i) => v === b[i])) {
    return cached.stratumOf;
  }
  const stratumOf = new Int32Array(n);
  const byA = (x: number, y: number): number => (a[x] as number) - (a[y] as number) || x - y;
  const assign = (block: number[]): void => {
    block.sort(byA);
    for (let r = 0; r < block.length; r++) stratumOf[block[r] as number] = Math.floor((r * strata) / block.length);
  };
  const order = Array.from({ length: n }, (_, i) => i);
  if (!bBlocking) assign(order);
  else {
    order.sort((x, y) => (b[x] as number) - (b[y] as number) || x - y);
    for (let start = 0; start < n; start += strata) assign(order.slice(start, start + strata));
  }
  strataCache.set(items, { key, a, b, stratumOf });
  return stratumOf;
}
