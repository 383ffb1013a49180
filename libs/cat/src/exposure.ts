/**
 * Sympson–Hetter exposure control: calibration by iterated simulation and
 * updates from observed usage.
 */
import type { CatConfig } from './config.ts';
import { simulateCat } from './simulate.ts';
import { thetaCutsOf } from './step.ts';
import type { SimItem, SimulationResult } from './simulate.ts';

/** Options of {@link calibrateSympsonHetter}. */
export interface CalibrateOptions {
  items: readonly SimItem[];
  /** Target maximum exposure rate r_max (e.g. 0.25). */
  rMax: number;
  /** CAT settings used in the simulations (sympsonHetter is forced on). */
  config: CatConfig;
  /** Simulees per iteration (default 1000). */
  simulees?: number;
  /** Number of iterations (default 15). */
  iterations?: number;
  seed?: string | number;
  /** True abilities per iteration, one per simulee (default N(0,1) from the iteration seed). */
  thetas?: (iteration: number) => readonly number[];
  /** Called after each iteration. */
  onIteration?: (info: CalibrationIteration) => void;
  /** Called after each simulee of each iteration. */
  onProgress?: (iteration: number, done: number, total: number) => void;
}

/** Statistics of one calibration iteration (simulated with the K values in force at that iteration). */
export interface CalibrationIteration {
  iteration: number;
  maxExposure: number;
  maxSelection: number;
  rmse: number;
}

/** Result of {@link calibrateSympsonHetter}. */
export interface CalibrationResult {
  /** Exposure parameters K_i, aligned with `items`. */
  exposureK: number[];
  iterations: CalibrationIteration[];
}

/** A target exposure rate is a share of the tests: in (0, 1]. */
function assertRMax(rMax: number): void {
  if (!(rMax > 0 && rMax <= 1)) throw new RangeError(`rMax must be in (0, 1], got ${rMax}`);
}

/** Sympson–Hetter update: K = r_max / P(S) when P(S) > r_max, else 1. */
function updateK(selectionRate: number, rMax: number): number {
  return selectionRate > rMax ? rMax / selectionRate : 1;
}

/**
 * Calibrate Sympson–Hetter parameters by iterated simulation (Sympson & Hetter, 1985):
 * start with K_i = 1; each iteration simulates `simulees` tests with the current K,
 * measures P(S_i) (share of simulees for whom item i was selected, i.e. went
 * through the lottery) and sets K_i = r_max / P(S_i) if P(S_i) > r_max, else 1.
 * Returns the K values after the last update.
 */
export function calibrateSympsonHetter(opts: CalibrateOptions): CalibrationResult {
  const iterations = opts.iterations ?? 15;
  const simulees = opts.simulees ?? 1000;
  assertRMax(opts.rMax);
  const config: CatConfig = { ...opts.config, sympsonHetter: true };
  // Plain SH replaces a conditional one: the lottery must use exposureK.
  delete config.conditionalSympsonHetter;
  let K = opts.items.map(() => 1);
  const log: CalibrationIteration[] = [];
  for (let t = 1; t <= iterations; t++) {
    const seed = `${opts.seed ?? 'sh'}:iter:${t}`;
    const sim: SimulationResult = simulateCat({
      items: opts.items,
      simulees,
      config,
      seed,
      exposureK: K,
      ...(opts.thetas ? { thetas: opts.thetas(t) } : {}),
      onProgress: (d, n) => opts.onProgress?.(t, d, n),
    });
    const info: CalibrationIteration = {
      iteration: t,
      maxExposure: sim.maxExposure,
      maxSelection: Math.max(0, ...sim.selectionRates),
      rmse: sim.rmse,
    };
    log.push(info);
    opts.onIteration?.(info);
    K = sim.selectionRates.map((p) => updateK(p, opts.rMax));
  }
  return { exposureK: K, iterations: log };
}

/** Observed usage of one item since its K was last set. */
export interface ItemUsage {
  /** Tests in which the item was administered. */
  administered: number;
  /** Tests in which the item was selected (went through the lottery), if tracked. */
  selected?: number | undefined;
}

/** Input of {@link updateExposureFromUsage}. */
export interface UsageUpdateInput {
  items: readonly { id: string; exposureK?: number | undefined }[];
  /** Usage per item id (missing ids count as unused). */
  usage: Readonly<Record<string, ItemUsage>> | ReadonlyMap<string, ItemUsage>;
  /** Number of tests observed. */
  examinees: number;
  rMax: number;
  /** Do nothing below this many observed tests (default 100). */
  minExaminees?: number;
}

/** Updated exposure parameter for one item. */
export interface ExposureUpdate {
  id: string;
  exposureK: number;
  previousK: number;
  exposureRate: number;
  selectionRate: number;
}

/**
 * One Sympson–Hetter update from operational counts. P(A) = administered/examinees;
 * P(S) = selected/examinees when tracked, otherwise estimated as P(A)/K_old
 * (valid when K was constant over the window). New K = r_max/P(S) if P(S) > r_max,
 * else 1. Items with K_old = 0 and no selection count keep K = 0. With fewer
 * than `minExaminees` tests every K is returned unchanged.
 */
export function updateExposureFromUsage(input: UsageUpdateInput): ExposureUpdate[] {
  const N = input.examinees;
  const enough = N >= (input.minExaminees ?? 100) && N > 0;
  const usage = input.usage;
  const get = (id: string): ItemUsage | undefined => {
    if (usage instanceof Map) return (usage as ReadonlyMap<string, ItemUsage>).get(id);
    const rec = usage as Readonly<Record<string, ItemUsage>>;
    return Object.hasOwn(rec, id) ? rec[id] : undefined;
  };
  return input.items.map((it) => {
    const previousK = it.exposureK ?? 1;
    const u = get(it.id);
    const exposureRate = enough ? (u?.administered ?? 0) / N : 0;
    let selectionRate: number;
    if (u?.selected !== undefined) selectionRate = enough ? u.selected / N : 0;
    else selectionRate = previousK > 0 ? exposureRate / previousK : 0;
    if (!enough) return { id: it.id, exposureK: previousK, previousK, exposureRate, selectionRate };
    const exposureK = previousK === 0 && u?.selected === undefined ? 0 : updateK(selectionRate, input.rMax);
    return { id: it.id, exposureK, previousK, exposureRate, selectionRate };
  });
}

/** Options of {@link calibrateConditionalSympsonHetter}. */
export interface ConditionalCalibrateOptions extends Omit<CalibrateOptions, 'config' | 'onIteration'> {
  /** CAT settings used in the simulations; `conditionalSympsonHetter` gives the θ cuts (default 7 strata over [−3, 3]). */
  config: CatConfig;
  /** Called after each iteration. */
  onIteration?: (info: ConditionalCalibrationIteration) => void;
}

/** Statistics of one conditional calibration iteration. */
export interface ConditionalCalibrationIteration extends CalibrationIteration {
  /** Largest exposure rate within any true-θ stratum. */
  maxConditionalExposure: number;
}

/** Result of {@link calibrateConditionalSympsonHetter}. */
export interface ConditionalCalibrationResult {
  cuts: readonly number[];
  /** [item][stratum] exposure parameters, aligned with `items`. */
  exposureKByStratum: number[][];
  iterations: ConditionalCalibrationIteration[];
}

/**
 * Calibrate conditional Sympson–Hetter parameters (Stocking & Lewis, 1998) by iterated
 * simulation: start with K_ij = 1; each iteration simulates `simulees` tests with the
 * current K (the lottery uses the stratum of θ̂ at each step, as in operation), measures
 * P(S_i | j), the share of simulees whose true θ lies in stratum j for whom item i went
 * through the lottery, and sets K_ij = r_max / P(S_i | j) if that exceeds r_max, else 1.
 * A stratum with no simulee in an iteration keeps its K. Every conditional exposure rate
 * at most r_max makes every overall rate at most r_max.
 */
export function calibrateConditionalSympsonHetter(opts: ConditionalCalibrateOptions): ConditionalCalibrationResult {
  const iterations = opts.iterations ?? 15;
  const simulees = opts.simulees ?? 1000;
  assertRMax(opts.rMax);
  const config: CatConfig = { ...opts.config, conditionalSympsonHetter: opts.config.conditionalSympsonHetter ?? {} };
  delete config.sympsonHetter;
  const cuts = thetaCutsOf(config);
  let K = opts.items.map(() => new Array<number>(cuts.length + 1).fill(1));
  const log: ConditionalCalibrationIteration[] = [];
  for (let t = 1; t <= iterations; t++) {
    const sim = simulateCat({
      items: opts.items,
      simulees,
      config,
      seed: `${opts.seed ?? 'csh'}:iter:${t}`,
      exposureKByStratum: K,
      thetaCuts: cuts,
      ...(opts.thetas ? { thetas: opts.thetas(t) } : {}),
      onProgress: (d, n) => opts.onProgress?.(t, d, n),
    });
    const st = sim.byThetaStratum as NonNullable<SimulationResult['byThetaStratum']>;
    const info: ConditionalCalibrationIteration = {
      iteration: t,
      maxExposure: sim.maxExposure,
      maxSelection: Math.max(0, ...sim.selectionRates),
      maxConditionalExposure: Math.max(0, ...st.exposureRates.map((row) => Math.max(0, ...row))),
      rmse: sim.rmse,
    };
    log.push(info);
    opts.onIteration?.(info);
    K = K.map((row, i) =>
      row.map((k, j) => ((st.simulees[j] as number) > 0 ? updateK(st.selectionRates[j]?.[i] as number, opts.rMax) : k)),
    );
  }
  return { cuts, exposureKByStratum: K, iterations: log };
}
