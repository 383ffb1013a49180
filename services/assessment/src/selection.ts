import { createRng, DEFAULT_POLY_A, defaultThresholds, nextStep, paramsFromLabel, scoreResult, uniformFromSeed } from '@ap/cat';
import type { BankItem, CatConfig, HistoryEntry } from '@ap/cat';
import { defaultPolyModel, isPolytomousType } from '@ap/protocol';
import type { CompletionReason } from '@ap/protocol';
import type { AssessmentDoc, ItemDoc, ResultDoc, TestDoc } from './store.ts';

/** A test with its items, loaded once per process (tests are immutable once created). */
export type LoadedTest = {
  doc: TestDoc;
  items: ReadonlyMap<string, ItemDoc>;
  /** The adaptive bank with IRT parameters (from calibration or the difficulty label). */
  bank: readonly BankItem[];
  catConfig: CatConfig;
  planned: { min: number; max: number };
  /** Items being tried out: asked now and then, never scored, calibrated with the bank. */
  pretest: { bank: readonly BankItem[]; ids: ReadonlySet<string>; rate: number; max: number } | undefined;
};

/** What comes next in an assessment. */
export type Plan =
  { done: false; itemId: string; theta?: number; se?: number } | { done: true; reason: CompletionReason; theta?: number; se?: number };

/** Items a pass/fail test asks at least before its rule may end it, when the test sets no min_items. */
export const CLASSIFICATION_MIN_ITEMS = 5;

/** The engine's form of a test's classification rule: the cut on the θ scale (a scaled cut converted with the test's scoring). */
export function classificationRule(doc: TestDoc): CatConfig['classification'] {
  const c = doc.classification;
  if (c === undefined) return undefined;
  const cutTheta = c.cut_theta ?? ((c.cut_score ?? 0) - doc.scoring.intercept) / doc.scoring.slope;
  return c.rule === 'SPRT'
    ? { rule: 'SPRT', cutTheta, delta: c.delta, alpha: c.alpha, beta: c.beta }
    : { rule: 'CI', cutTheta, alpha: c.alpha };
}

/** The GRM or GPCM parameters of a likert or partial-credit item, defaults filled in (see the README). */
export function polyParams(item: ItemDoc): NonNullable<BankItem['poly']> {
  return {
    model: item.model ?? defaultPolyModel(item.type),
    a: item.a ?? DEFAULT_POLY_A,
    b: item.thresholds ?? defaultThresholds(item.options.length),
  };
}

/** The engine's history of the answers: the category of a likert or partial-credit answer, else whether it was correct. */
export function historyOf(responses: AssessmentDoc['responses']): HistoryEntry[] {
  return responses.map((r) => ({ itemId: r.item_id, correct: r.correct, ...(r.category === undefined ? {} : { category: r.category }) }));
}

/** Builds the in-memory form of a test. */
export function loadTest(doc: TestDoc, items: readonly ItemDoc[]): LoadedTest {
  const byId = new Map(items.map((i) => [i._id, i] as const));
  const toBank = (ids: readonly string[]): BankItem[] =>
    ids
      .filter((id) => byId.has(id))
      .map((id) => {
        const item = byId.get(id) as ItemDoc;
        const fallback = paramsFromLabel(item.difficulty ?? 'medium', item.options.length);
        const k = item.exposure_k?.[doc._id];
        return {
          id,
          skill: item.skill,
          a: item.a ?? fallback.a,
          b: item.b ?? fallback.b,
          c: item.c ?? fallback.c,
          ...(k === undefined ? {} : { exposureK: k }),
          ...(isPolytomousType(item.type) ? { poly: polyParams(item) } : {}),
        };
      });
  const bank = toBank(doc.items);
  const pool = bank.map((b) => b.id);
  const pretestBank = toBank(doc.pretest?.items ?? []);
  const pretest =
    doc.pretest === undefined || pretestBank.length === 0
      ? undefined
      : {
          bank: pretestBank,
          ids: new Set(pretestBank.map((b) => b.id)),
          rate: doc.pretest.rate,
          max: Math.min(doc.pretest.max_per_assessment, pretestBank.length),
        };
  const maxItems = Math.min(doc.stopping.max_items ?? pool.length, pool.length);
  const classification = doc.strategy === 'adaptive' ? classificationRule(doc) : undefined;
  const defaultMin = classification === undefined ? maxItems : CLASSIFICATION_MIN_ITEMS;
  const minItems = doc.strategy === 'adaptive' ? Math.min(doc.stopping.min_items ?? defaultMin, maxItems) : maxItems;
  const skills: CatConfig['skills'] = {};
  for (const s of doc.skills) {
    skills[s.name] = {
      ...(s.share === undefined ? {} : { share: s.share }),
      ...(s.min === undefined ? {} : { min: s.min }),
      ...(s.max === undefined ? {} : { max: s.max }),
    };
  }
  const catConfig: CatConfig = {
    minItems,
    maxItems,
    randomesque: doc.exposure.randomesque,
    sympsonHetter: doc.exposure.sympson_hetter,
    skills,
    ...(doc.stopping.se_target === undefined ? {} : { seTarget: doc.stopping.se_target }),
    ...(doc.estimator === undefined ? {} : { method: doc.estimator }),
    ...(classification === undefined ? {} : { classification }),
  };
  return { doc, items: byId, bank, catConfig, planned: { min: minItems, max: maxItems + (pretest?.max ?? 0) }, pretest };
}

/** The authored or seeded-shuffled order of a fixed or random test. */
export function linearOrder(test: LoadedTest, seed: string): string[] {
  const ids = test.bank.map((b) => b.id);
  if (test.doc.strategy === 'random') {
    const rng = createRng(`${seed}:order`);
    for (let i = ids.length - 1; i > 0; i--) {
      const j = rng.nextInt(i + 1);
      const t = ids[i] as string;
      ids[i] = ids[j] as string;
      ids[j] = t;
    }
  }
  return ids.slice(0, test.planned.max);
}

/** Decides the next item, or that the assessment is over, from the answers so far. */
export function planNext(test: LoadedTest, assessment: Pick<AssessmentDoc, 'seed' | 'responses'>, timeRemainingS: number): Plan {
  const scored = scoredResponses(test, assessment.responses);
  const plan = planScored(test, assessment.seed, scored, timeRemainingS);
  return plan.done ? plan : (pretestInstead(test, assessment, plan) ?? plan);
}

/** The answers that count: every one but those to pretest items. */
export function scoredResponses(test: LoadedTest, responses: AssessmentDoc['responses']): AssessmentDoc['responses'] {
  const pretest = test.pretest;
  return pretest === undefined ? responses : responses.filter((r) => !pretest.ids.has(r.item_id));
}

/**
 * Now and then a pretest item instead of the scored one (which is then asked next): a draw fixed
 * by the assessment's seed and the question's index, at most `max` per assessment, in an order
 * shuffled by the seed. The ability estimate shown with it is the scored one.
 */
function pretestInstead(
  test: LoadedTest,
  assessment: Pick<AssessmentDoc, 'seed' | 'responses'>,
  plan: Plan & { done: false },
): Plan | undefined {
  const pretest = test.pretest;
  if (pretest === undefined) return undefined;
  const given = new Set(assessment.responses.filter((r) => pretest.ids.has(r.item_id)).map((r) => r.item_id));
  if (given.size >= pretest.max) return undefined;
  if (uniformFromSeed(`${assessment.seed}:pretest:${assessment.responses.length}`) >= pretest.rate) return undefined;
  const order = pretest.bank.map((b) => b.id);
  const rng = createRng(`${assessment.seed}:pretest-order`);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    [order[i], order[j]] = [order[j] as string, order[i] as string];
  }
  const next = order.find((id) => !given.has(id));
  return next === undefined ? undefined : { ...plan, itemId: next };
}

/** The next scored item, or that the assessment is over, from the scored answers. */
function planScored(test: LoadedTest, seed: string, responses: AssessmentDoc['responses'], timeRemainingS: number): Plan {
  const assessment = { seed, responses };
  if (test.doc.strategy === 'adaptive') {
    const step = nextStep({
      bank: test.bank,
      history: historyOf(assessment.responses),
      config: test.catConfig,
      seed: assessment.seed,
      timeRemainingS,
    });
    if (step.done) return { done: true, reason: step.reason, theta: step.theta, se: step.se };
    return { done: false, itemId: step.itemId, theta: step.theta, se: step.se };
  }
  if (timeRemainingS <= 0) return { done: true, reason: 'time_limit' };
  const answered = new Set(assessment.responses.map((r) => r.item_id));
  const next = linearOrder(test, assessment.seed).find((id) => !answered.has(id));
  return next === undefined ? { done: true, reason: 'all_answered' } : { done: false, itemId: next };
}

/** Scores what was answered: counts for every strategy, θ/SE/scaled score and trace from the IRT model. */
export function computeResult(test: LoadedTest, all: AssessmentDoc['responses']): ResultDoc {
  // Pretest answers are stored with the others and never scored.
  const responses = scoredResponses(test, all);
  const scoring = test.doc.scoring;
  const scored = scoreResult({
    bank: test.bank,
    history: historyOf(responses),
    config: test.catConfig,
    scale: { slope: scoring.slope, intercept: scoring.intercept, min: scoring.min, max: scoring.max, decimals: 1 },
  });
  const skillNames = [...new Set([...test.doc.skills.map((s) => s.name), ...test.bank.map((b) => b.skill)])];
  const round = (x: number) => Math.round(x * 1000) / 1000;
  // Likert and partial-credit answers have no right answer: the counts of correct answers are of the single choices.
  const choices = responses.filter((r) => r.category === undefined).length;
  return {
    number_correct: scored.numberCorrect,
    answered: responses.length,
    percent_correct: choices === 0 ? 0 : Math.round((1000 * scored.numberCorrect) / choices) / 10,
    theta: round(scored.theta),
    se: round(scored.se),
    ...(scored.scaled === undefined ? {} : { scaled_score: scored.scaled }),
    ...(scored.decision === undefined ? {} : { decision: scored.decision }),
    skills: skillNames.map((skill) => {
      const s = scored.skills[skill];
      return s === undefined || s.administered === 0
        ? { skill, answered: 0, correct: 0 }
        : { skill, answered: s.administered, correct: s.correct, theta: round(s.theta), se: round(s.se) };
    }),
    trace: scored.trace.map((t, i) => {
      const category = responses[i]?.category;
      return {
        item_id: t.itemId,
        correct: t.correct,
        ...(category === undefined ? {} : { category }),
        theta: round(t.theta),
        se: round(t.se),
      };
    }),
  };
}
