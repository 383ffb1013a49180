/**
 * Stateless CAT step: from the bank, the full answer history, the configuration
 * and the test seed, compute the current estimate and the next item (or stop).
 */
import { classify } from './classification-rule.ts';
import type { Decision } from './classification-rule.ts';
import type { BankItem, CatConfig } from './config.ts';
import { DEFAULT_PRIOR, EapAccumulator, estimateMle } from './estimate.ts';
import { estimateTheta } from './methods.ts';
import { categoryCount, isPoly } from './models.ts';
import type { AnyItemParams } from './models.ts';
import type { Estimate, Prior } from './estimate.ts';
import type { ItemParams } from './irt.ts';
import { DEFAULT_D } from './irt.ts';
import { createRng, uniformFromSeed } from './rng.ts';
import type { Rng } from './rng.ts';
import { analyse, selectWithAnalysis } from './select.ts';
import type { SelectInput, SelectableItem } from './select.ts';
import { DEFAULT_THETA_CUTS, aStrata, stratumForStep, thetaStratum } from './strata.ts';
import { checkStop } from './stop.ts';
import type { StopReason } from './stop.ts';

/** One answered item. */
export interface HistoryEntry {
  itemId: string;
  correct: boolean;
  /** Response category 0..m of a polytomous item (for such an item `correct` is not used). */
  category?: number | undefined;
}

/** The parameters estimation uses for a bank item (its GRM/GPCM parameters if it has them). */
export function modelOf(item: BankItem): AnyItemParams {
  return item.poly ?? item;
}

/** The scored response of a history entry: its category for a polytomous item, else 1/0. */
export function responseOf(item: BankItem, entry: HistoryEntry): number {
  if (item.poly) {
    if (entry.category === undefined) throw new RangeError(`history entry for polytomous item ${item.id} has no category`);
    return entry.category;
  }
  return entry.correct ? 1 : 0;
}

/** Input of {@link nextStep}. */
export interface NextStepInput {
  bank: readonly BankItem[];
  history: readonly HistoryEntry[];
  config: CatConfig;
  /** Per-test seed; with the history length it fully determines any randomness. */
  seed: string;
  timeRemainingS?: number | undefined;
}

/** Output of {@link nextStep}. */
export type NextStepResult =
  | { done: false; itemId: string; theta: number; se: number; decision?: Decision }
  | { done: true; reason: StopReason; theta: number; se: number; decision?: Decision };

/** Thrown when the history references an id that is not in the bank. */
export class UnknownItemError extends Error {
  readonly itemId: string;
  /** Create the error for `itemId`. */
  constructor(itemId: string) {
    super(`history references unknown item id: ${itemId}`);
    this.name = 'UnknownItemError';
    this.itemId = itemId;
  }
}

const indexCache = new WeakMap<readonly BankItem[], Map<string, number> | 'seen'>();

/**
 * Indices of the history's item ids in the bank. The first call with a given
 * bank array scans it (cheap for a handful of ids); from the second call on an
 * id → index map is built and cached per array (and validated on each lookup).
 */
function historyIndices(bank: readonly BankItem[], history: readonly HistoryEntry[]): number[] {
  const cached = indexCache.get(bank);
  if (cached instanceof Map) {
    const out: number[] = [];
    let stale = false;
    for (const h of history) {
      const idx = cached.get(h.itemId);
      if (idx === undefined || bank[idx]?.id !== h.itemId) {
        stale = true;
        break;
      }
      out.push(idx);
    }
    if (!stale) return out;
  }
  if (cached === undefined) {
    indexCache.set(bank, 'seen');
    const want = new Map<string, number>();
    for (const h of history) want.set(h.itemId, -1);
    if (want.size > 0) {
      let left = want.size;
      for (let i = 0; i < bank.length && left > 0; i++) {
        const id = (bank[i] as BankItem).id;
        if (want.get(id) === -1) {
          want.set(id, i);
          left--;
        }
      }
    }
    return history.map((h) => {
      const idx = want.get(h.itemId) as number;
      if (idx < 0) throw new UnknownItemError(h.itemId);
      return idx;
    });
  }
  const map = new Map<string, number>();
  for (let i = 0; i < bank.length; i++) {
    const id = (bank[i] as BankItem).id;
    if (!map.has(id)) map.set(id, i);
  }
  indexCache.set(bank, map);
  return history.map((h) => {
    const idx = map.get(h.itemId);
    if (idx === undefined) throw new UnknownItemError(h.itemId);
    return idx;
  });
}

/** Per-step random source for test `seed` after `step` administered items. */
export function stepRng(seed: string, step: number): Rng {
  return createRng(`${seed}:${step}`);
}

/** The θ cut points of conditional Sympson–Hetter in `config` (the default 7 strata when unset). */
export function thetaCutsOf(config: Pick<CatConfig, 'conditionalSympsonHetter'>): readonly number[] {
  return config.conditionalSympsonHetter?.cuts ?? DEFAULT_THETA_CUTS;
}

/**
 * The exposure-control part of a selection for step `step` at θ̂ = `theta`: whether the
 * lottery runs, the θ stratum whose K it uses (conditional Sympson–Hetter; θ̂ strata, since
 * the true θ is unknown in operation) and the a-stratum to draw from. @internal
 */
export function exposureSelection(
  config: CatConfig,
  items: readonly SelectableItem[],
  step: number,
  theta: number,
): Pick<SelectInput, 'sympsonHetter' | 'exposureStratum' | 'aStratified'> {
  const out: Pick<SelectInput, 'sympsonHetter' | 'exposureStratum' | 'aStratified'> = {};
  if (config.sympsonHetter === true) out.sympsonHetter = true;
  if (config.conditionalSympsonHetter) {
    out.sympsonHetter = true;
    out.exposureStratum = thetaStratum(theta, thetaCutsOf(config));
  }
  const as = config.aStratification;
  if (as) {
    out.aStratified = {
      stratumOf: aStrata(items, as.strata, as.bBlocking === true),
      stratum: stratumForStep(step, config.maxItems, as.strata),
      strata: as.strata,
    };
  }
  return out;
}

/** Sympson–Hetter lottery draw for item `itemId` in test `seed` (fixed for the whole test). */
export function exposureDraw(seed: string, itemId: string): number {
  return uniformFromSeed(`${seed}:sh:${itemId}`);
}

/**
 * Estimate θ/SE from responses with the configured method (`method`, else `estimator`:
 * 'mle' = ML, default EAP). With ML, patterns that are all-correct or all-wrong (no
 * finite maximum) use EAP instead, so a test does not jump to a bound; with no
 * responses θ = startTheta (or the prior mean) and SE = prior SD.
 */
export function estimateForConfig(items: readonly AnyItemParams[], responses: readonly number[], config: Partial<CatConfig>): Estimate {
  const prior: Prior = config.prior ?? DEFAULT_PRIOR;
  const D = config.D ?? DEFAULT_D;
  if (items.length === 0) return { theta: config.startTheta ?? prior.mean, se: prior.sd };
  const method = config.method ?? (config.estimator === 'mle' ? 'ML' : 'EAP');
  if (method === 'MAP' || method === 'WLE') {
    const e = estimateTheta(method, items, responses, { D, prior });
    return { theta: e.theta, se: e.se };
  }
  if (method === 'ML' && !extremePattern(items, responses)) {
    const dichotomous = items.every((it) => !isPoly(it));
    const m = dichotomous ? estimateMle(items as ItemParams[], responses, { D }) : estimateTheta('ML', items, responses, { D });
    return { theta: m.theta, se: m.se };
  }
  const acc = new EapAccumulator({ D, prior });
  for (let j = 0; j < items.length; j++) acc.add(items[j] as AnyItemParams, responses[j] as number);
  return acc.estimate();
}

/** Whether every response is the lowest category of its item, or every one the highest. */
function extremePattern(items: readonly AnyItemParams[], responses: readonly number[]): boolean {
  let allLow = true;
  let allHigh = true;
  for (let j = 0; j < items.length; j++) {
    const x = responses[j] as number;
    if (x !== 0) allLow = false;
    if (x !== categoryCount(items[j] as AnyItemParams) - 1) allHigh = false;
  }
  return allLow || allHigh;
}

/**
 * One stateless CAT step. Replays the history (EAP/MLE), applies the stopping
 * rules, and otherwise selects the next item by maximum information with content
 * balancing and exposure control. Randomesque choices use `createRng(seed + ':' + step)`
 * (step = history length) and the (conditional) Sympson–Hetter lottery a draw fixed per
 * (seed, item); the a-stratum follows from the step and the θ stratum from θ̂, so the
 * same inputs always give the same item.
 * @throws UnknownItemError when the history names an item not in the bank.
 */
export function nextStep(input: NextStepInput): NextStepResult {
  const { bank, history, config, seed } = input;
  const administered = historyIndices(bank, history);
  if (new Set(administered).size !== administered.length) {
    const seen = new Set<number>();
    const repeated = administered.find((i) => seen.size === seen.add(i).size) as number;
    throw new RangeError(`history answers item ${(bank[repeated] as BankItem).id} more than once`);
  }
  const items: AnyItemParams[] = administered.map((i) => modelOf(bank[i] as BankItem));
  const responses: number[] = history.map((h, j) => responseOf(bank[administered[j] as number] as BankItem, h));
  const { theta, se } = estimateForConfig(items, responses, config);
  // With a classification rule: the decision so far (SPRT on the responses, CI on θ̂ ± z·SE).
  const decision =
    config.classification === undefined
      ? undefined
      : classify(config.classification, items, responses, { theta, se }, config.D ?? DEFAULT_D);
  const decided = decision === undefined ? {} : { decision };
  const an = analyse(bank, administered, config.skills);
  const status = an.status;
  const stop = checkStop({
    administeredCount: history.length,
    se,
    minItems: config.minItems,
    maxItems: config.maxItems,
    seTarget: config.seTarget,
    timeRemainingS: input.timeRemainingS,
    contentMinsMet: status.minsMet,
    eligibleCount: status.eligibleCount,
    classified: decision !== undefined && decision !== 'undecided',
  });
  if (stop.stop) return { done: true, reason: stop.reason ?? 'max_items', theta, se, ...decided };
  const step = history.length;
  const exposure = exposureSelection(config, bank, step, theta);
  const pick = selectWithAnalysis(
    {
      items: bank,
      administered,
      theta,
      D: config.D,
      skills: config.skills,
      maxItems: config.maxItems,
      randomesque: config.randomesque,
      ...exposure,
      rng: (config.randomesque ?? 1) > 1 ? stepRng(seed, step) : undefined,
      exposureDraw: exposure.sympsonHetter ? (i: number) => exposureDraw(seed, (bank[i] as BankItem).id) : undefined,
    },
    an,
  );
  if (!pick) return { done: true, reason: 'pool_exhausted', theta, se, ...decided };
  return { done: false, itemId: (bank[pick.index] as BankItem).id, theta, se, ...decided };
}
