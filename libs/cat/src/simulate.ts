/**
 * Monte-Carlo CAT simulation (pure; no I/O): generated banks, simulees,
 * accuracy and exposure statistics. Uses the same primitives, seeding scheme
 * and stopping rules as {@link nextStep}.
 */
import type { CatConfig } from './config.ts';
import { DEFAULT_PRIOR, EapAccumulator } from './estimate.ts';
import { DEFAULT_D, prob3pl } from './irt.ts';
import { drawCategory } from './models.ts';
import type { AnyItemParams } from './models.ts';
import { createRng } from './rng.ts';
import { analyse, selectWithAnalysis } from './select.ts';
import type { SelectableItem } from './select.ts';
import { estimateForConfig, exposureDraw, exposureSelection, stepRng, thetaCutsOf } from './step.ts';
import { assertCuts, thetaStratum } from './strata.ts';
import { checkStop } from './stop.ts';
import type { StopReason } from './stop.ts';

/** An item for simulation (ids default to the index). */
export interface SimItem extends SelectableItem {
  id?: string | undefined;
}

/** Options of {@link generateBank}. */
export interface GenerateBankOptions {
  size: number;
  seed?: string | number;
  /** Mean/SD of a (default 1.2 / 0.25; a is floored at 0.1). */
  a?: [number, number];
  /** Mean/SD of b (default 0 / 1). */
  b?: [number, number];
  /** Mean/SD of c (default 0.25 / 0.02; clamped to [0, 0.5]). */
  c?: [number, number];
  /** Skill names assigned round-robin (default ["general"]). */
  skills?: readonly string[];
}

/** Draw a random 3PL bank: a ~ N(1.2, 0.25), b ~ N(0, 1), c ~ N(0.25, 0.02) by default (seeded). */
export function generateBank(opts: GenerateBankOptions): (SimItem & { id: string; skill: string })[] {
  const rng = createRng(`bank:${opts.seed ?? 1}`);
  const [am, as] = opts.a ?? [1.2, 0.25];
  const [bm, bs] = opts.b ?? [0, 1];
  const [cm, cs] = opts.c ?? [0.25, 0.02];
  const skills = opts.skills && opts.skills.length > 0 ? opts.skills : ['general'];
  const out: (SimItem & { id: string; skill: string })[] = [];
  for (let i = 0; i < opts.size; i++) {
    const a = Math.max(0.1, am + as * rng.normal());
    const b = bm + bs * rng.normal();
    const c = Math.min(0.5, Math.max(0, cm + cs * rng.normal()));
    out.push({ id: `g${i}`, skill: skills[i % skills.length] as string, a, b, c });
  }
  return out;
}

/** Options of {@link simulateCat}. */
export interface SimulationOptions {
  items: readonly SimItem[];
  simulees: number;
  /** CAT settings; `method` (or `estimator`) chooses the estimator as in {@link nextStep}. */
  config: CatConfig;
  seed: string | number;
  /** True abilities, one per simulee (default: N(0, 1) draws from the seed). */
  thetas?: readonly number[];
  /** Per-item Sympson–Hetter parameters overriding `items[i].exposureK`. */
  exposureK?: readonly number[];
  /** Per-item conditional Sympson–Hetter parameters overriding `items[i].exposureKByStratum`. */
  exposureKByStratum?: readonly (readonly number[])[];
  /**
   * Also count selection and exposure per true-θ stratum split at these cuts (default: the
   * conditional Sympson–Hetter cuts of the config, if it has them).
   */
  thetaCuts?: readonly number[];
  /** Called after each simulee. */
  onProgress?: (done: number, total: number) => void;
}

/** Accuracy at a given test length (over simulees whose test reached it). */
export interface LengthStats {
  length: number;
  n: number;
  rmse: number;
  bias: number;
  meanSe: number;
}

/** Outcome of one simulee. */
export interface SimuleeResult {
  trueTheta: number;
  theta: number;
  se: number;
  length: number;
  reason: StopReason;
  items: number[];
}

/** Result of {@link simulateCat}. */
export interface SimulationResult {
  simulees: number;
  rmse: number;
  bias: number;
  meanSe: number;
  meanLength: number;
  byLength: LengthStats[];
  /** Proportion of simulees who saw each item. */
  exposureRates: number[];
  /** Proportion of simulees for whom each item went through the Sympson–Hetter lottery. */
  selectionRates: number[];
  maxExposure: number;
  meanExposure: number;
  /** Share of the bank never administered. */
  unusedShare: number;
  /** Mean proportion of items shared by two simulees' tests (relative to mean test length). */
  overlapRate: number;
  stopReasons: Partial<Record<StopReason, number>>;
  /** Rates conditional on the true-θ stratum, when θ cuts are in force. */
  byThetaStratum?: ThetaStratumStats;
  results: SimuleeResult[];
}

/** Selection and exposure rates within each true-θ stratum. */
export interface ThetaStratumStats {
  cuts: readonly number[];
  /** Simulees per stratum. */
  simulees: number[];
  /** [stratum][item]: share of the stratum's simulees for whom the item went through the lottery (0 when empty). */
  selectionRates: number[][];
  /** [stratum][item]: share of the stratum's simulees who saw the item (0 when empty). */
  exposureRates: number[][];
}

function stratumRates(counts: Float64Array[], simulees: number[]): number[][] {
  return counts.map((row, j) => Array.from(row, (x) => (x === 0 ? 0 : x / (simulees[j] as number))));
}

/** Selection and exposure counts per true-θ stratum, for {@link ThetaStratumStats}. */
function stratumCounter(
  cuts: readonly number[],
  items: number,
): { add: (trueTheta: number, considered: Iterable<number>, administered: Iterable<number>) => void; stats: () => ThetaStratumStats } {
  assertCuts(cuts);
  const simulees = new Array<number>(cuts.length + 1).fill(0);
  const selected = simulees.map(() => new Float64Array(items));
  const exposed = simulees.map(() => new Float64Array(items));
  return {
    add(trueTheta, considered, administered): void {
      const j = thetaStratum(trueTheta, cuts);
      simulees[j] = (simulees[j] as number) + 1;
      const sel = selected[j] as Float64Array;
      const exp = exposed[j] as Float64Array;
      for (const i of considered) sel[i] = (sel[i] as number) + 1;
      for (const i of administered) exp[i] = (exp[i] as number) + 1;
    },
    stats: () => ({ cuts, simulees, selectionRates: stratumRates(selected, simulees), exposureRates: stratumRates(exposed, simulees) }),
  };
}

/** Accuracy at each test length from per-length sums (lengths no simulee reached are left out). */
function lengthStats(maxLen: number, cnt: Float64Array, sq: Float64Array, err: Float64Array, seSum: Float64Array): LengthStats[] {
  const byLength: LengthStats[] = [];
  for (let L = 1; L <= maxLen; L++) {
    const n = cnt[L] as number;
    if (n === 0) continue;
    byLength.push({
      length: L,
      n,
      rmse: Math.sqrt((sq[L] as number) / n),
      bias: (err[L] as number) / n,
      meanSe: (seSum[L] as number) / n,
    });
  }
  return byLength;
}

/** Given true abilities must be one per simulee: a short list would leave simulees at θ = 0 unnoticed. */
export function assertThetaCount(thetas: readonly number[], simulees: number): void {
  if (thetas.length !== simulees) throw new RangeError(`thetas holds ${thetas.length} abilities for ${simulees} simulees`);
}

/** Draw N(mean, sd) abilities from a seed. */
export function drawThetas(n: number, seed: string | number, mean = 0, sd = 1): number[] {
  const rng = createRng(`thetas:${seed}`);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(mean + sd * rng.normal());
  return out;
}

/**
 * Simulate CATs: each simulee answers according to the 3PL model at its true θ;
 * θ is estimated by EAP after every answer (starting at `config.startTheta` or the
 * prior mean), items chosen by {@link selectNextItem} with the configured content
 * balancing and exposure control, tests stopped by {@link checkStop}.
 */
export function simulateCat(opts: SimulationOptions): SimulationResult {
  const { items, config } = opts;
  const N = opts.simulees;
  const D = config.D ?? DEFAULT_D;
  const prior = config.prior ?? DEFAULT_PRIOR;
  const thetas = opts.thetas ?? drawThetas(N, opts.seed);
  assertThetaCount(thetas, N);
  const pool: SimItem[] = items.map((it, i) => {
    const out: SimItem = { ...it };
    if (opts.exposureK) out.exposureK = opts.exposureK[i] ?? 1;
    if (opts.exposureKByStratum) out.exposureKByStratum = opts.exposureKByStratum[i];
    return out;
  });
  const cuts = opts.thetaCuts ?? (config.conditionalSympsonHetter ? thetaCutsOf(config) : undefined);
  const byStratum = cuts ? stratumCounter(cuts, pool.length) : undefined;
  const ids = pool.map((it, i) => it.id ?? String(i));
  const exposure = new Float64Array(pool.length);
  const selected = new Float64Array(pool.length);
  const maxLen = config.maxItems;
  const sq = new Float64Array(maxLen + 1);
  const err = new Float64Array(maxLen + 1);
  const seSum = new Float64Array(maxLen + 1);
  const cnt = new Float64Array(maxLen + 1);
  const results: SimuleeResult[] = [];
  const stopReasons: Partial<Record<StopReason, number>> = {};
  const k = config.randomesque ?? 1;
  const incrementalEap = config.estimator !== 'mle' && (config.method ?? 'EAP') === 'EAP';
  for (let s = 0; s < N; s++) {
    const trueTheta = thetas[s] as number;
    const simSeed = `${opts.seed}:sim:${s}`;
    const respRng = createRng(`${simSeed}:resp`);
    const acc = new EapAccumulator({ D, prior });
    const answered: AnyItemParams[] = [];
    const responses: number[] = [];
    const administered: number[] = [];
    const considered = new Set<number>();
    let est = { theta: config.startTheta ?? prior.mean, se: prior.sd };
    let reason: StopReason;
    for (;;) {
      const step = administered.length;
      const an = analyse(pool, administered, config.skills);
      const status = an.status;
      const stop = checkStop({
        administeredCount: step,
        se: est.se,
        minItems: config.minItems,
        maxItems: config.maxItems,
        seTarget: config.seTarget,
        contentMinsMet: status.minsMet,
        eligibleCount: status.eligibleCount,
      });
      if (stop.stop) {
        reason = stop.reason ?? 'max_items';
        break;
      }
      const exposure = exposureSelection(config, pool, step, est.theta);
      const pick = selectWithAnalysis(
        {
          items: pool,
          administered,
          theta: est.theta,
          D,
          skills: config.skills,
          maxItems: config.maxItems,
          randomesque: k,
          ...exposure,
          rng: k > 1 ? stepRng(simSeed, step) : undefined,
          exposureDraw: exposure.sympsonHetter ? (i: number) => exposureDraw(simSeed, ids[i] as string) : undefined,
        },
        an,
      );
      if (!pick) {
        reason = 'pool_exhausted';
        break;
      }
      for (const c of pick.considered) considered.add(c);
      const it = pool[pick.index] as SimItem;
      const draw = respRng.next();
      const u = it.poly ? drawCategory(it.poly, trueTheta, draw, D) : draw < prob3pl(trueTheta, it.a, it.b, it.c, D) ? 1 : 0;
      administered.push(pick.index);
      acc.add(it.poly ?? it, u);
      answered.push(it.poly ?? it);
      responses.push(u);
      est = incrementalEap ? acc.estimate() : estimateForConfig(answered, responses, config);
      const L = administered.length;
      const e = est.theta - trueTheta;
      sq[L] = (sq[L] as number) + e * e;
      err[L] = (err[L] as number) + e;
      seSum[L] = (seSum[L] as number) + est.se;
      cnt[L] = (cnt[L] as number) + 1;
    }
    for (const i of administered) exposure[i] = (exposure[i] as number) + 1;
    for (const i of considered) selected[i] = (selected[i] as number) + 1;
    byStratum?.add(trueTheta, considered, administered);
    stopReasons[reason] = (stopReasons[reason] ?? 0) + 1;
    results.push({ trueTheta, theta: est.theta, se: est.se, length: administered.length, reason, items: administered });
    opts.onProgress?.(s + 1, N);
  }
  let sse = 0;
  let se = 0;
  let bias = 0;
  let len = 0;
  for (const r of results) {
    const e = r.theta - r.trueTheta;
    sse += e * e;
    bias += e;
    se += r.se;
    len += r.length;
  }
  const byLength = lengthStats(maxLen, cnt, sq, err, seSum);
  const exposureRates = Array.from(exposure, (x) => x / Math.max(1, N));
  const selectionRates = Array.from(selected, (x) => x / Math.max(1, N));
  let maxExposure = 0;
  let sumExp = 0;
  let unused = 0;
  let pairs = 0;
  for (let i = 0; i < exposure.length; i++) {
    const r = exposureRates[i] as number;
    if (r > maxExposure) maxExposure = r;
    sumExp += r;
    if (exposure[i] === 0) unused++;
    const c = exposure[i] as number;
    pairs += c * (c - 1);
  }
  const meanLength = N > 0 ? len / N : 0;
  return {
    simulees: N,
    rmse: N > 0 ? Math.sqrt(sse / N) : NaN,
    bias: N > 0 ? bias / N : NaN,
    meanSe: N > 0 ? se / N : NaN,
    meanLength,
    byLength,
    exposureRates,
    selectionRates,
    maxExposure,
    meanExposure: pool.length > 0 ? sumExp / pool.length : 0,
    unusedShare: pool.length > 0 ? unused / pool.length : 0,
    overlapRate: N > 1 && meanLength > 0 ? pairs / (N * (N - 1) * meanLength) : 0,
    stopReasons,
    ...(byStratum ? { byThetaStratum: byStratum.stats() } : {}),
    results,
  };
}
