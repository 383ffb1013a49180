import { z } from 'zod';
import { idSchema, optionSchema } from './common.ts';

/** Question types: one keyed option, or ordered options that are the categories 0..K of a polytomous item. */
export const ITEM_TYPES = ['single_choice', 'likert', 'partial_credit'] as const;
export type ItemType = (typeof ITEM_TYPES)[number];

/** Whether a question type is polytomous: its options are ordered categories 0..K and it has no key. */
export const isPolytomousType = (type: ItemType): boolean => type !== 'single_choice';

/**
 * The IRT model a polytomous item uses when it names none: GRM for `likert`, GPCM for `partial_credit`.
 */
export const defaultPolyModel = (type: ItemType): 'GRM' | 'GPCM' => (type === 'partial_credit' ? 'GPCM' : 'GRM');

/** One question of a bank as authors write it and the assessment service stores it. */
export const itemSchema = z
  .object({
    id: idSchema,
    skill: z.string().min(1).max(64),
    type: z.enum(ITEM_TYPES).default('single_choice'),
    stem: z.string().min(1).max(10_000),
    /** For `likert` and `partial_credit`: in order, option k is category k. */
    options: z.array(optionSchema).min(2).max(10),
    /** The correct option of a `single_choice` item; absent on `likert` and `partial_credit`. */
    key: z.string().min(1).max(16).optional(),
    difficulty: z.enum(['easy', 'medium', 'hard']).optional(),
    a: z.number().positive().max(10).optional(),
    b: z.number().min(-10).max(10).optional(),
    c: z.number().min(0).lt(1).optional(),
    /** Polytomous items: the IRT model (default GRM for `likert`, GPCM for `partial_credit`). */
    model: z.enum(['GRM', 'GPCM']).optional(),
    /** Polytomous items: one threshold per category above 0 (increasing for GRM); default: K evenly spaced values in (−2, 2), see the README. */
    thresholds: z.array(z.number().min(-10).max(10)).min(1).max(9).optional(),
    clarification: z.string().max(2000).optional(),
  })
  .strict()
  .superRefine((item, ctx) => {
    for (const issue of itemTypeIssues(item)) ctx.addIssue({ code: 'custom', ...issue });
  });

/** Cross-field checks of an item: unique option ids, the key of a single choice, the categories of a polytomous item. */
function itemTypeIssues(item: {
  type: ItemType;
  options: readonly { id: string }[];
  key?: string | undefined;
  b?: number | undefined;
  c?: number | undefined;
  model?: 'GRM' | 'GPCM' | undefined;
  thresholds?: readonly number[] | undefined;
}): { path: (string | number)[]; message: string }[] {
  const out: { path: (string | number)[]; message: string }[] = [];
  const ids = item.options.map((o) => o.id);
  if (new Set(ids).size !== ids.length) out.push({ path: ['options'], message: 'option ids must be unique' });
  if (!isPolytomousType(item.type)) {
    if (item.key === undefined) out.push({ path: ['key'], message: 'a single_choice item needs a key' });
    else if (!ids.includes(item.key)) out.push({ path: ['key'], message: `key "${item.key}" is not one of the option ids` });
    for (const f of ['model', 'thresholds'] as const) {
      if (item[f] !== undefined) out.push({ path: [f], message: `${f} is for likert and partial_credit items` });
    }
    return out;
  }
  for (const f of ['key', 'b', 'c'] as const) {
    if (item[f] !== undefined) out.push({ path: [f], message: `a ${item.type} item has no ${f} (its options are ordered categories)` });
  }
  const t = item.thresholds;
  if (t === undefined) return out;
  if (t.length !== ids.length - 1) {
    out.push({ path: ['thresholds'], message: `${ids.length} options need ${ids.length - 1} thresholds, got ${t.length}` });
  }
  const model = item.model ?? defaultPolyModel(item.type);
  if (model === 'GRM' && t.some((v, k) => k > 0 && v <= (t[k - 1] as number))) {
    out.push({ path: ['thresholds'], message: 'GRM thresholds must increase' });
  }
  return out;
}
export type Item = z.infer<typeof itemSchema>;

/** The practice question of a test: shown with its answer before Start, so the candidate can try the controls. */
export const practiceSchema = z
  .object({
    stem: z.string().min(1).max(2000),
    options: z.array(optionSchema).min(2).max(10),
    answer: z.string().min(1).max(16),
  })
  .strict()
  .refine((p) => p.options.some((o) => o.id === p.answer), { path: ['answer'], message: 'answer is not one of the option ids' });
export type Practice = z.infer<typeof practiceSchema>;

export const skillTargetSchema = z
  .object({
    name: z.string().min(1).max(64),
    share: z.number().min(0).max(1).optional(),
    min: z.number().int().nonnegative().optional(),
    max: z.number().int().positive().optional(),
  })
  .strict();

/** The cut of a classification: on the θ scale, or on the test's scaled score (converted with its scoring). */
const cut = {
  cut_theta: z.number().min(-6).max(6).optional(),
  cut_score: z.number().optional(),
};
const errorRate = z.number().gt(0).lt(0.5);
const oneCut = (c: { cut_theta?: number | undefined; cut_score?: number | undefined }) =>
  (c.cut_theta === undefined) !== (c.cut_score === undefined);
const ONE_CUT = { message: 'give exactly one of cut_theta and cut_score', path: ['cut_theta'] };

/**
 * How a pass/fail test decides: SPRT (H0 θ = cut − delta against H1 θ = cut + delta; alpha is the
 * rate of passing at cut − delta, beta of failing at cut + delta) or CI (pass when θ̂ − z·SE is
 * above the cut, fail when θ̂ + z·SE is below it, z for 1 − alpha).
 */
export const classificationSchema = z.discriminatedUnion('rule', [
  z
    .object({
      rule: z.literal('SPRT'),
      ...cut,
      delta: z.number().gt(0).max(2).default(0.3),
      alpha: errorRate.default(0.05),
      beta: errorRate.default(0.05),
    })
    .strict()
    .refine(oneCut, ONE_CUT),
  z
    .object({ rule: z.literal('CI'), ...cut, alpha: errorRate.default(0.05) })
    .strict()
    .refine(oneCut, ONE_CUT),
]);
export type Classification = z.infer<typeof classificationSchema>;

/** A test: its bank (item ids), how items are chosen, when it stops, how it is scored and what the candidate sees. */
export const testDefinitionSchema = z
  .object({
    id: idSchema.optional(),
    title: z.string().min(1).max(200),
    description: z.string().max(5000).default(''),
    time_limit_s: z
      .number()
      .int()
      .min(10)
      .max(24 * 3600),
    strategy: z.enum(['fixed', 'random', 'adaptive']),
    /** Item ids of the pool, in authored order (the order `fixed` follows). */
    items: z.array(idSchema).min(1).max(20_000),
    skills: z.array(skillTargetSchema).default([]),
    stopping: z
      .object({
        min_items: z.number().int().positive().optional(),
        max_items: z.number().int().positive().optional(),
        se_target: z.number().positive().optional(),
      })
      .strict()
      .default({}),
    scoring: z
      .object({
        slope: z.number().default(15),
        intercept: z.number().default(50),
        min: z.number().default(0),
        max: z.number().default(100),
      })
      .strict()
      .default({ slope: 15, intercept: 50, min: 0, max: 100 }),
    feedback: z
      .object({ show_correctness: z.boolean().default(false), show_score: z.boolean().default(true) })
      .strict()
      .default({ show_correctness: false, show_score: true }),
    /** Ability estimator of an adaptive test (EAP when absent): posterior mean, posterior mode, maximum likelihood or Warm's WLE. */
    estimator: z.enum(['EAP', 'MAP', 'ML', 'WLE']).optional(),
    exposure: z
      .object({ randomesque: z.number().int().min(1).max(50).default(1), sympson_hetter: z.boolean().default(false) })
      .strict()
      .default({ randomesque: 1, sympson_hetter: false }),
    on_expiry: z.enum(['autosubmit', 'grace']).default('autosubmit'),
    /** With `grace`: how long after the deadline the candidate may still submit (status `overdue`). */
    grace_s: z.number().int().nonnegative().default(0),
    time_warnings_s: z.array(z.number().int().positive()).max(10).default([300, 60]),
    /** An assessment with no live connection for this long becomes `abandoned`; absent = resumable until the deadline. */
    abandon_after_s: z.number().int().positive().optional(),
    /**
     * A sign-in with the candidate's invitation code again while the assessment runs: `allow` records
     * an incident; `approve` also pauses the assessment until a proctor resumes (approves) or ends it.
     */
    re_sign_in: z.enum(['allow', 'approve']).default('allow'),
    /** Proctors watch this test live (shown to candidates before they start). */
    proctored: z.boolean().default(false),
    /** A candidate's `start_assessment` waits until a proctor approves it; the clock starts only then. */
    start_requires_approval: z.boolean().default(false),
    /** A question to try on the rules page before Start: not scored, never stored as an answer, no clock. */
    practice: practiceSchema.optional(),
    /**
     * A pass/fail test (adaptive only): the test ends as soon as the rule decides (reason
     * `classified`), and the result carries `decision`.
     */
    classification: classificationSchema.optional(),
    /**
     * Items being tried out: asked now and then among the scored ones (each question is one with
     * probability `rate`, at most `max_per_assessment` per assessment), never scored, and
     * calibrated with the rest (`npm run admin -- calibrate`).
     */
    pretest: z
      .object({
        items: z.array(idSchema).min(1).max(500),
        rate: z.number().min(0).max(1).default(0.2),
        max_per_assessment: z.number().int().min(1).max(20).default(2),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((d, ctx) => {
    const pool = new Set(d.items);
    const both = d.pretest?.items.filter((id) => pool.has(id)) ?? [];
    if (both.length > 0)
      ctx.addIssue({
        code: 'custom',
        path: ['pretest', 'items'],
        message: `pretest items are not in the scored pool: ${both.slice(0, 5).join(', ')}`,
      });
    if (d.pretest !== undefined && new Set(d.pretest.items).size !== d.pretest.items.length) {
      ctx.addIssue({ code: 'custom', path: ['pretest', 'items'], message: 'pretest item ids must be unique' });
    }
    if (d.classification !== undefined && d.strategy !== 'adaptive') {
      ctx.addIssue({ code: 'custom', path: ['classification'], message: 'classification needs strategy adaptive' });
    }
  });
export type TestDefinition = z.infer<typeof testDefinitionSchema>;
export type TestDefinitionInput = z.input<typeof testDefinitionSchema>;
