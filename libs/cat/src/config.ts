/**
 * Zod schemas and types for the CAT configuration and bank items.
 */
import { z } from 'zod';
import { classificationRuleSchema } from './classification-rule.ts';
import { ESTIMATION_METHODS } from './methods.ts';
import { MAX_A, MAX_ABS_B, MAX_D } from './models.ts';
import type { PolyItemParams } from './models.ts';

const skillTargetSchema = z
  .strictObject({
    share: z.number().min(0).max(1).optional(),
    min: z.int().min(0).optional(),
    max: z.int().min(0).optional(),
  })
  .refine((s) => s.min === undefined || s.max === undefined || s.min <= s.max, {
    message: 'min must not exceed max',
    path: ['min'],
  });

/** Most θ strata of conditional Sympson–Hetter. */
export const MAX_THETA_STRATA = 50;
/** Most a-strata. */
export const MAX_A_STRATA = 50;

/** Schema of {@link CatConfig}. */
export const catConfigSchema = z
  .strictObject({
    D: z.number().positive().max(MAX_D).optional(),
    prior: z.strictObject({ mean: z.number().min(-MAX_ABS_B).max(MAX_ABS_B), sd: z.number().positive().max(100) }).optional(),
    estimator: z.enum(['eap', 'mle']).optional(),
    method: z.enum(ESTIMATION_METHODS).optional(),
    randomesque: z.int().min(1).optional(),
    sympsonHetter: z.boolean().optional(),
    skills: z.record(z.string().min(1), skillTargetSchema).optional(),
    minItems: z.int().min(0),
    maxItems: z.int().min(1),
    seTarget: z.number().positive().optional(),
    startTheta: z.number().min(-MAX_ABS_B).max(MAX_ABS_B).optional(),
    /**
     * Conditional Sympson–Hetter (Stocking & Lewis, 1998): the lottery uses each item's
     * `exposureKByStratum[s]`, s = the θ stratum of the current estimate (strata split at
     * `cuts`, default 7 equal strata over [−3, 3]). Not with `sympsonHetter`.
     */
    conditionalSympsonHetter: z
      .strictObject({
        cuts: z
          .array(z.number().min(-MAX_ABS_B).max(MAX_ABS_B))
          .min(1)
          .max(MAX_THETA_STRATA - 1)
          .refine((c) => c.every((v, j) => j === 0 || v > (c[j - 1] as number)), { message: 'cuts must increase' })
          .optional(),
      })
      .optional(),
    /**
     * a-stratified selection (Chang & Ying, 1999): the bank is cut into `strata` groups by
     * ascending a (with `bBlocking`, within blocks of similar b: Chang, Qian & Ying, 2001),
     * maxItems is divided across them in order, and each item is the closest b to θ̂ in the
     * step's stratum. Randomesque and (conditional) Sympson–Hetter apply to that order.
     */
    aStratification: z.strictObject({ strata: z.int().min(2).max(MAX_A_STRATA), bBlocking: z.boolean().optional() }).optional(),
    /** Stop as soon as this rule reaches pass or fail (after minItems and the skill minimums). */
    classification: classificationRuleSchema.optional(),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.minItems > cfg.maxItems) {
      ctx.addIssue({ code: 'custom', path: ['minItems'], message: 'minItems must not exceed maxItems' });
    }
    if (cfg.sympsonHetter === true && cfg.conditionalSympsonHetter !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['conditionalSympsonHetter'], message: 'use either sympsonHetter or conditionalSympsonHetter' });
    }
    if (cfg.aStratification && cfg.aStratification.strata > cfg.maxItems) {
      ctx.addIssue({ code: 'custom', path: ['aStratification', 'strata'], message: 'more a-strata than maxItems' });
    }
    if (cfg.skills) {
      let shares = 0;
      let mins = 0;
      for (const t of Object.values(cfg.skills)) {
        shares += t.share ?? 0;
        mins += t.min ?? 0;
      }
      if (shares > 1 + 1e-9) ctx.addIssue({ code: 'custom', path: ['skills'], message: 'skill shares sum to more than 1' });
      if (mins > cfg.maxItems) {
        ctx.addIssue({ code: 'custom', path: ['skills'], message: 'skill minimums add up to more than maxItems' });
      }
    }
  });

/**
 * CAT configuration: scaling constant D (default 1), prior (default N(0,1)),
 * estimator (default 'eap'; `method` EAP | MAP | ML | WLE takes precedence), randomesque k (default 1), Sympson–Hetter on/off,
 * conditional Sympson–Hetter (θ strata), a-stratification (optionally b-blocked),
 * per-skill targets, test length limits, SE target, starting θ (default prior mean) and a
 * classification rule that ends the test with a pass/fail decision.
 */
export type CatConfig = z.infer<typeof catConfigSchema>;

/** Schema of a calibrated bank item as used by the engine. */
export const bankItemSchema = z.object({
  id: z.string().min(1),
  skill: z.string().min(1),
  a: z.number().positive().max(MAX_A),
  b: z.number().min(-MAX_ABS_B).max(MAX_ABS_B),
  c: z.number().min(0).lt(1),
  exposureK: z.number().min(0).max(1).optional(),
  exposureKByStratum: z.array(z.number().min(0).max(1)).min(1).max(MAX_THETA_STRATA).optional(),
  poly: z
    .discriminatedUnion('model', [
      z.strictObject({
        model: z.literal('GRM'),
        a: z.number().positive().max(MAX_A),
        b: z
          .array(z.number().min(-MAX_ABS_B).max(MAX_ABS_B))
          .min(1)
          .refine((b) => b.every((v, k) => k === 0 || v > (b[k - 1] as number)), { message: 'GRM thresholds must increase' }),
      }),
      z.strictObject({
        model: z.literal('GPCM'),
        a: z.number().positive().max(MAX_A),
        b: z.array(z.number().min(-MAX_ABS_B).max(MAX_ABS_B)).min(1),
      }),
    ])
    .optional(),
});

/** A bank item as used by the engine (extra fields such as the stem are allowed). */
export interface BankItem {
  id: string;
  skill: string;
  a: number;
  b: number;
  c: number;
  /** Sympson–Hetter exposure parameter in [0, 1] (default 1). */
  exposureK?: number | undefined;
  /** Conditional Sympson–Hetter parameters, one per θ stratum (default 1). */
  exposureKByStratum?: readonly number[] | undefined;
  /** A polytomous (GRM/GPCM) item: selection and estimation use these parameters, not a, b, c. */
  poly?: PolyItemParams | undefined;
}
