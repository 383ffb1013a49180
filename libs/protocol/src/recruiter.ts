import { z } from 'zod';
import { assessmentStatusSchema, completionReasonSchema, idSchema } from './common.ts';
import { resultSchema } from './frames.ts';

/** One test in a recruiter's list, with how its assessments stand (invitations are counted by auth and added by the gateway). */
export const recruiterTestSchema = z.object({
  test_id: idSchema,
  title: z.string(),
  strategy: z.enum(['fixed', 'random', 'adaptive']),
  time_limit_s: z.number().int(),
  items: z.number().int().nonnegative(),
  created_at: z.string(),
  /** Assessments started (every status). */
  started: z.number().int().nonnegative(),
  /** Assessments in a final status. */
  finished: z.number().int().nonnegative(),
  /** Mean score of the finished assessments with a result (scaled score, else percent correct); null when none. */
  average_score: z.number().nullable(),
});
export type RecruiterTest = z.infer<typeof recruiterTestSchema>;

/** A likert or partial-credit item's model, as the item view draws its category curves (D = 1). */
export const polyIrtSchema = z.object({
  model: z.enum(['GRM', 'GPCM']),
  a: z.number().positive().max(10),
  thresholds: z.array(z.number().min(-10).max(10)).min(1).max(9),
});

/** The statistics of a test's items, from its finished assessments. */
export const itemStatsSchema = z.object({
  test_id: idSchema,
  /** Finished assessments read. */
  examinees: z.number().int().nonnegative(),
  items: z.array(
    z.object({
      item_id: idSchema,
      skill: z.string(),
      stem: z.string(),
      /** How many finished assessments were given this item. */
      administered: z.number().int().nonnegative(),
      /** administered / examinees (0 when there are none). */
      exposure: z.number().min(0).max(1),
      /** Share of correct answers among those given (null when never given, and for likert and partial_credit items). */
      proportion_correct: z.number().min(0).max(1).nullable(),
      /** The question type (absent: single_choice). */
      type: z.enum(['single_choice', 'likert', 'partial_credit']).optional(),
      /** Likert and partial_credit items: the mean category of the answers given (null when never given). */
      mean_category: z.number().nonnegative().nullable().optional(),
      /** Mean seconds from the question being asked to its answer (null when never given). */
      mean_time_s: z.number().nonnegative().nullable(),
      /**
       * The item's IRT parameters, when it has them (for its curves): a single choice's a, b, c, or
       * a likert or partial-credit item's GRM/GPCM model with its defaults filled in.
       */
      irt: z.union([polyIrtSchema, z.object({ a: z.number(), b: z.number(), c: z.number() })]).nullable(),
    }),
  ),
});
export type ItemStats = z.infer<typeof itemStatsSchema>;

/** One candidate's assessment as the recruiter reads it. */
export const assessmentReportSchema = z.object({
  assessment_id: idSchema,
  test_id: idSchema,
  test_title: z.string(),
  adaptive: z.boolean(),
  candidate_id: idSchema,
  candidate_name: z.string(),
  status: assessmentStatusSchema,
  reason: completionReasonSchema.nullable(),
  started_at: z.string(),
  finished_at: z.string().nullable(),
  score: z.number().nullable(),
  /** The result with the ability estimate after each answer (`trace`) on adaptive tests; null while unfinished. */
  result: resultSchema.nullable(),
  answers: z.array(
    z.object({
      index: z.number().int(),
      item_id: idSchema,
      skill: z.string(),
      stem: z.string(),
      selected_option: z.string(),
      /** Always false for likert and partial_credit questions, which have no right answer: see `category`. */
      correct: z.boolean(),
      /** The category of the chosen option (0 for the first) of a likert or partial_credit question. */
      category: z.number().int().nonnegative().optional(),
      answered_at: z.string(),
      time_s: z.number().nonnegative(),
    }),
  ),
  /** Integrity incidents and staff actions (pause, resume, extra time, terminate), in time order. */
  timeline: z.array(z.object({ at: z.string(), kind: z.string(), detail: z.string() })),
});
export type AssessmentReport = z.infer<typeof assessmentReportSchema>;
