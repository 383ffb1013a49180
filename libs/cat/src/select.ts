/**
 * Item selection: maximum Fisher information with Kingsbury–Zara content
 * balancing, min/max counts per skill, randomesque and Sympson–Hetter exposure control.
 */
import { DEFAULT_D, info3pl } from './irt.ts';
import type { ItemParams } from './irt.ts';
import { assertD, itemInformation } from './models.ts';
import type { PolyItemParams } from './models.ts';
import type { Rng } from './rng.ts';
import { stratificationParams } from './strata.ts';

/** Content target for one skill: share of the test and/or min/max item counts. */
export interface SkillTarget {
  /** Target proportion of administered items (0..1). */
  share?: number | undefined;
  /** Minimum number of items; the test cannot stop on SE before it is reached. */
  min?: number | undefined;
  /** Maximum number of items; a skill at its maximum is ineligible. */
  max?: number | undefined;
}

/** Content targets keyed by skill. Items whose skill is not listed form an "other" group. */
export type SkillTargets = Readonly<Record<string, SkillTarget>>;

/** An item as seen by the selector. */
export interface SelectableItem extends ItemParams {
  skill?: string | undefined;
  /** Sympson–Hetter exposure parameter K in [0, 1] (default 1). */
  exposureK?: number | undefined;
  /** Conditional Sympson–Hetter: K for each θ stratum (default 1 for a missing stratum). */
  exposureKByStratum?: readonly number[] | undefined;
  /** A polytomous (GRM/GPCM) item: information comes from these parameters, not a, b, c. */
  poly?: PolyItemParams | undefined;
}

/** Input of {@link selectNextItem}. */
export interface SelectInput {
  items: readonly SelectableItem[];
  /** Indices (into `items`) already administered; they are never selected again. */
  administered: readonly number[];
  /** Current ability estimate at which information is evaluated. */
  theta: number;
  /** Scaling constant (default 1). */
  D?: number | undefined;
  /** Content balancing targets (omit for unconstrained maximum information). */
  skills?: SkillTargets | undefined;
  /** Maximum test length; used to force skills below their minimum in time. */
  maxItems?: number | undefined;
  /** Randomesque k: pick uniformly among the k most informative eligible items (default 1). */
  randomesque?: number | undefined;
  /** Apply the Sympson–Hetter lottery using each item's `exposureK`. */
  sympsonHetter?: boolean | undefined;
  /** Random source for randomesque (required when k > 1). */
  rng?: Rng | undefined;
  /**
   * Uniform [0,1) draw for the Sympson–Hetter lottery of item `index`; it must be
   * fixed per examinee and item (e.g. a hash of seed and item id), so an item
   * rejected once stays rejected for that examinee, as in the original procedure.
   */
  exposureDraw?: ((index: number) => number) | undefined;
  /**
   * Conditional Sympson–Hetter: the θ stratum of the current estimate; the lottery then
   * uses `exposureKByStratum[exposureStratum]` instead of `exposureK`.
   */
  exposureStratum?: number | undefined;
  /**
   * a-stratified selection: the stratum of every item (from {@link aStrata}) and the
   * stratum of this step. Items of that stratum are ranked by |b − θ| (closest first)
   * instead of by information; if none is eligible the next higher strata are tried,
   * then the lower ones.
   */
  aStratified?: { stratumOf: Int32Array; stratum: number; strata: number } | undefined;
}

/** Result of {@link selectNextItem}. */
export interface SelectResult {
  /** Index of the chosen item. */
  index: number;
  /** Its information at θ. */
  information: number;
  /** Items that went through the Sympson–Hetter lottery (in information order), including the chosen one. */
  considered: number[];
}

/** Per-skill content status of a partially administered test. */
export interface ContentStatus {
  /** Administered items per skill (items without a skill count under ""). */
  counts: Map<string, number>;
  /** Eligible (not administered, skill not at max) items per skill. */
  available: Map<string, number>;
  /** Number of eligible items overall. */
  eligibleCount: number;
  /** Items still needed to reach every reachable skill minimum. */
  unmetMin: number;
  /** True when every skill minimum is met (or cannot be met because the skill has no items left). */
  minsMet: boolean;
}

function hasTargets(skills: SkillTargets | undefined): skills is SkillTargets {
  if (!skills) return false;
  for (const _ in skills) return true;
  return false;
}

function markAdministered(n: number, administered: readonly number[]): Uint8Array {
  const mask = new Uint8Array(n);
  for (const idx of administered) {
    if (!Number.isInteger(idx) || idx < 0 || idx >= n) throw new RangeError(`administered index out of range: ${idx}`);
    mask[idx] = 1;
  }
  return mask;
}

/** Skill of every item as a small integer (items without a skill map to ""). */
interface SkillIndex {
  names: string[];
  byName: Map<string, number>;
  ids: Int32Array;
}

const skillCache = new WeakMap<readonly SelectableItem[], SkillIndex>();

/** Skill ids per item, cached per items array and re-validated (cheap identity checks) on every use. */
function skillIndex(items: readonly SelectableItem[]): SkillIndex {
  const cached = skillCache.get(items);
  if (cached && cached.ids.length === items.length) {
    const { ids, names } = cached;
    let ok = true;
    for (let i = 0; i < items.length; i++) {
      if ((items[i]?.skill ?? '') !== names[ids[i] as number]) {
        ok = false;
        break;
      }
    }
    if (ok) return cached;
  }
  const names: string[] = [];
  const byName = new Map<string, number>();
  const ids = new Int32Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const s = items[i]?.skill ?? '';
    let id = byName.get(s);
    if (id === undefined) {
      id = names.length;
      names.push(s);
      byName.set(s, id);
    }
    ids[i] = id;
  }
  const si = { names, byName, ids };
  skillCache.set(items, si);
  return si;
}

/** Everything the selector and the stopping rule need, computed in one pass. @internal */
export interface Analysis {
  mask: Uint8Array;
  administeredCount: number;
  status: ContentStatus;
  /** Present when content targets are configured. */
  content?: {
    si: SkillIndex;
    counts: Int32Array;
    available: Int32Array;
    max: Float64Array;
    min: Float64Array;
    /** Target share per skill id, NaN when the skill has no share. */
    share: Float64Array;
  };
}

/** Mark administered items and compute content status. @internal */
export function analyse(items: readonly SelectableItem[], administered: readonly number[], skills: SkillTargets | undefined): Analysis {
  const mask = markAdministered(items.length, administered);
  if (!hasTargets(skills)) {
    let adm = 0;
    for (let i = 0; i < mask.length; i++) adm += mask[i] as number;
    return {
      mask,
      administeredCount: administered.length,
      status: { counts: new Map(), available: new Map(), eligibleCount: items.length - adm, unmetMin: 0, minsMet: true },
    };
  }
  const si = skillIndex(items);
  const m = si.names.length;
  const counts = new Int32Array(m);
  const available = new Int32Array(m);
  const max = new Float64Array(m).fill(Infinity);
  const min = new Float64Array(m);
  const share = new Float64Array(m).fill(NaN);
  for (let k = 0; k < m; k++) {
    const name = si.names[k] as string;
    const t = Object.hasOwn(skills, name) ? skills[name] : undefined;
    if (!t) continue;
    if (t.max !== undefined) max[k] = t.max;
    if (t.min !== undefined) min[k] = t.min;
    if (t.share !== undefined) share[k] = t.share;
  }
  const ids = si.ids;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] !== 1) continue;
    const k = ids[i] as number;
    counts[k] = (counts[k] as number) + 1;
  }
  let eligibleCount = 0;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] !== 0) continue;
    const k = ids[i] as number;
    if ((counts[k] as number) >= (max[k] as number)) {
      mask[i] = 2;
      continue;
    }
    available[k] = (available[k] as number) + 1;
    eligibleCount++;
  }
  let unmetMin = 0;
  const countsMap = new Map<string, number>();
  const availableMap = new Map<string, number>();
  for (let k = 0; k < m; k++) {
    const name = si.names[k] as string;
    if ((counts[k] as number) > 0) countsMap.set(name, counts[k] as number);
    if ((available[k] as number) > 0) availableMap.set(name, available[k] as number);
    const need = Math.min((min[k] as number) - (counts[k] as number), available[k] as number);
    if (need > 0) unmetMin += need;
  }
  return {
    mask,
    administeredCount: administered.length,
    status: { counts: countsMap, available: availableMap, eligibleCount, unmetMin, minsMet: unmetMin === 0 },
    content: { si, counts, available, max, min, share },
  };
}

/**
 * Content status of a test: counts per skill, eligible items and whether the
 * skill minimums are met (used by the stopping rule).
 */
export function contentStatus(items: readonly SelectableItem[], administered: readonly number[], skills?: SkillTargets): ContentStatus {
  return analyse(items, administered, skills).status;
}

/**
 * Decide which skills (by id) may supply the next item.
 * 1. If the remaining slots (maxItems − administered) are no more than the items
 *    still needed for skill minimums, only skills below their minimum are allowed.
 * 2. Otherwise, with shares: Kingsbury–Zara — the group (a skill with a share, or
 *    "other" = all skills without a share, with the residual share 1 − Σ shares)
 *    with the largest target − observed proportion among groups with items left.
 * 3. Otherwise every skill not at its maximum.
 */
function allowedSkills(an: Analysis, maxItems: number | undefined): Uint8Array {
  const c = an.content as NonNullable<Analysis['content']>;
  const m = c.counts.length;
  const allowed = new Uint8Array(m);
  const n = an.administeredCount;
  if (maxItems !== undefined && an.status.unmetMin > 0 && maxItems - n <= an.status.unmetMin) {
    let any = false;
    for (let k = 0; k < m; k++) {
      if ((c.counts[k] as number) < (c.min[k] as number) && (c.available[k] as number) > 0) {
        allowed[k] = 1;
        any = true;
      }
    }
    if (any) return allowed;
  }
  let shareSum = 0;
  let anyShare = false;
  for (let k = 0; k < m; k++) {
    const sh = c.share[k] as number;
    if (!Number.isNaN(sh)) {
      anyShare = true;
      shareSum += Math.max(0, sh);
    }
  }
  if (anyShare) {
    const norm = shareSum > 1 ? shareSum : 1;
    let best = -1;
    let bestDeficit = -Infinity;
    let sharedCount = 0;
    let otherAvailable = 0;
    for (let k = 0; k < m; k++) {
      const sh = c.share[k] as number;
      if (Number.isNaN(sh)) {
        otherAvailable += c.available[k] as number;
        continue;
      }
      sharedCount += c.counts[k] as number;
      if ((c.available[k] as number) === 0) continue;
      const deficit = Math.max(0, sh) / norm - (n > 0 ? (c.counts[k] as number) / n : 0);
      if (deficit > bestDeficit) {
        bestDeficit = deficit;
        best = k;
      }
    }
    if (otherAvailable > 0) {
      const deficit = Math.max(0, 1 - shareSum / norm) - (n > 0 ? (n - sharedCount) / n : 0);
      if (deficit > bestDeficit) {
        for (let k = 0; k < m; k++) if (Number.isNaN(c.share[k])) allowed[k] = 1;
        return allowed;
      }
    }
    if (best >= 0) {
      allowed[best] = 1;
      return allowed;
    }
  }
  allowed.fill(1);
  return allowed;
}

/** Insert index i (information v) into a descending top list of capacity m. */
function pushTop(topIdx: number[], topVal: number[], i: number, v: number, m: number): void {
  let pos = topVal.length;
  if (pos >= m) {
    if (!(v > (topVal[m - 1] as number))) return;
    pos = m - 1;
    topIdx.pop();
    topVal.pop();
  }
  while (pos > 0 && v > (topVal[pos - 1] as number)) pos--;
  topIdx.splice(pos, 0, i);
  topVal.splice(pos, 0, v);
}

/** The a-strata to try in turn: the step's stratum, the higher ones, then the lower ones (one pass without strata). */
function strataOrder(strat: SelectInput['aStratified']): number[] {
  if (!strat) return [-1];
  const { stratum, strata } = strat;
  if (!Number.isInteger(stratum) || stratum < 0 || stratum >= strata) throw new RangeError(`a-stratum ${stratum} out of range`);
  const order: number[] = [];
  for (let k = stratum; k < strata; k++) order.push(k);
  for (let k = stratum - 1; k >= 0; k--) order.push(k);
  return order;
}

/**
 * Choose the next item: maximum Fisher information at θ among eligible items
 * (never an administered one; skills at their max excluded; content group chosen by
 * Kingsbury–Zara / forced minimums; with a-stratification the closest b in the
 * step's a-stratum), then the (conditional) Sympson–Hetter lottery in
 * information order (if enabled) and randomesque choice among the first k
 * passing items. If every candidate fails the lottery the most informative one is
 * used. Returns null when no eligible item remains.
 */
export function selectNextItem(input: SelectInput): SelectResult | null {
  return selectWithAnalysis(input, analyse(input.items, input.administered, input.skills));
}

/** {@link selectNextItem} on a precomputed {@link analyse} result. @internal */
export function selectWithAnalysis(input: SelectInput, an: Analysis): SelectResult | null {
  const { items, theta } = input;
  const D = input.D ?? DEFAULT_D;
  if (!Number.isFinite(theta)) throw new RangeError(`selectNextItem: theta must be finite, got ${theta}`);
  assertD(D);
  const n = items.length;
  const mask = an.mask.slice();
  if (an.status.eligibleCount === 0) return null;
  const allowed = an.content ? allowedSkills(an, input.maxItems) : undefined;
  const sids = an.content?.si.ids;
  const k = Math.max(1, Math.floor(input.randomesque ?? 1));
  const sh = input.sympsonHetter === true && input.exposureDraw !== undefined;
  const m = k + (sh ? 24 : 0);
  const topIdx: number[] = [];
  const topVal: number[] = [];
  const infoArr = sh ? new Float64Array(n) : undefined;
  const strat = input.aStratified;
  if (strat && strat.stratumOf.length !== n) throw new RangeError('aStratified.stratumOf must have one entry per item');
  let candidates = 0;
  for (const target of strataOrder(strat)) {
    for (let i = 0; i < n; i++) {
      if (mask[i] !== 0) continue;
      if (allowed && allowed[(sids as Int32Array)[i] as number] !== 1) continue;
      if (strat && strat.stratumOf[i] !== target) continue;
      const it = items[i] as SelectableItem;
      // a-stratified: the closest b ranks first; otherwise the largest information.
      const v = strat
        ? -Math.abs(stratificationParams(it).b - theta)
        : it.poly
          ? itemInformation(it.poly, theta, D)
          : info3pl(theta, it.a, it.b, it.c, D);
      candidates++;
      if (infoArr) infoArr[i] = v;
      mask[i] = 3;
      pushTop(topIdx, topVal, i, v, m);
    }
    if (candidates > 0) break;
  }
  if (candidates === 0) return null;

  const passing: number[] = [];
  const considered: number[] = [];
  if (!sh) {
    for (let j = 0; j < Math.min(k, topIdx.length); j++) passing.push(topIdx[j] as number);
  } else {
    const draw = input.exposureDraw as (index: number) => number;
    const stratumK = input.exposureStratum;
    let order = topIdx;
    for (let pass = 0; pass < 2 && passing.length < k; pass++) {
      if (pass === 1) {
        if (topIdx.length >= candidates) break;
        // Rare: the buffered top list was not enough; walk the full information order.
        const all: number[] = [];
        for (let i = 0; i < n; i++) if (mask[i] === 3) all.push(i);
        const inf = infoArr as Float64Array;
        all.sort((x, y) => (inf[y] as number) - (inf[x] as number) || x - y);
        order = all.slice(topIdx.length);
      }
      for (const i of order) {
        if (passing.length >= k) break;
        const it = items[i] as SelectableItem;
        const K = stratumK === undefined ? (it.exposureK ?? 1) : (it.exposureKByStratum?.[stratumK] ?? 1);
        considered.push(i);
        if (K >= 1 || draw(i) < K) passing.push(i);
      }
    }
    if (passing.length === 0) passing.push(topIdx[0] as number);
  }
  let pick = 0;
  if (passing.length > 1) {
    if (!input.rng) throw new Error('selectNextItem: randomesque k > 1 requires an rng');
    pick = input.rng.nextInt(passing.length);
  }
  const index = passing[pick] as number;
  const it = items[index] as SelectableItem;
  return { index, information: it.poly ? itemInformation(it.poly, theta, D) : info3pl(theta, it.a, it.b, it.c, D), considered };
}
