import { z } from 'zod';
import { accommodationsSchema, errorBodySchema, idSchema, roleSchema, testIdSchema } from './common.ts';
import type { Role } from './common.ts';
import { itemSchema, testDefinitionSchema } from './definitions.ts';
import { ltiEndpoints } from './lti-endpoints.ts';
import { assessmentReportSchema, itemStatsSchema, recruiterTestSchema } from './recruiter.ts';
import {
  chatMessageSchema,
  completedSchema,
  liveAssessmentSchema,
  progressSchema,
  questionSchema,
  resultSchema,
  roomSchema,
  serverFrameData,
  startApprovalSchema,
  testInfoSchema,
  testSummarySchema,
} from './frames.ts';
import { assessmentStatusSchema, completionReasonSchema } from './common.ts';

/** A reply on the bus: `{ok: true, data}` or `{ok: false, error}`. */
export const replySchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), data: z.unknown() }),
  z.object({ ok: z.literal(false), error: errorBodySchema }),
]);
export type Reply = z.infer<typeof replySchema>;

import { ADMIN, AUTHORS, CANDIDATE, STAFF, clientIpSchema, email, withCaller } from './endpoint-spec.ts';
import type { EndpointSpec } from './endpoint-spec.ts';

const assessmentRef = withCaller({ assessment_id: idSchema });

/** Request/reply endpoints: subject, queue group (the owning service), request and response schemas. */
export const endpoints = {
  authLogin: {
    subject: 'auth.v1.login',
    request: z
      .object({
        email,
        password: z.string().min(1).max(1024),
        /** The client's address, set by the gateway from the socket (never from the body); keys the per-address throttle. */
        ip: clientIpSchema.optional(),
      })
      .strict(),
    response: z.object({ token: z.string(), expires_at: z.string(), user_id: idSchema, role: roleSchema }),
  },
  authRedeem: {
    subject: 'auth.v1.invitations.redeem',
    request: z
      .object({
        code: z.string().trim().min(4).max(128),
        /** The candidate's name, for open codes (those without an email). */
        name: z.string().trim().max(200).optional(),
        /** The client's address, set by the gateway from the socket (never from the body); keys the per-address throttle. */
        ip: clientIpSchema.optional(),
      })
      .strict(),
    response: z.object({
      token: z.string(),
      expires_at: z.string(),
      user_id: idSchema,
      role: roleSchema,
      test_id: idSchema,
      application_id: idSchema,
      /** A named code redeemed again (a sign-in after the first): whoever holds it may take over a running assessment. */
      re_sign_in: z.boolean().optional(),
    }),
  },
  authInvite: {
    subject: 'auth.v1.invitations.create',
    roles: AUTHORS,
    request: withCaller({
      test_id: testIdSchema,
      /** With an email the code belongs to that one candidate; without, each use makes a new candidate. */
      candidate_email: email.optional(),
      candidate_name: z.string().max(200).default(''),
      expires_in_s: z
        .number()
        .int()
        .positive()
        .max(90 * 24 * 3600)
        .default(7 * 24 * 3600),
      /** How many candidates may redeem an open code (no email); a code with an email has one. */
      max_uses: z.number().int().min(1).max(100_000).default(1),
      code: z.string().min(8).max(128).optional(),
      /** Extra time for the candidate(s) of this code: limit × time_multiplier + extra_seconds. */
      accommodations: accommodationsSchema.optional(),
    }),
    response: z.object({
      invitation_id: idSchema,
      code: z.string(),
      /** Present when the invitation names a candidate. */
      candidate_id: idSchema.optional(),
      application_id: idSchema.optional(),
      expires_at: z.string(),
      max_uses: z.number().int(),
      accommodations: accommodationsSchema.optional(),
    }),
  },
  /** How many invitations each of the given tests has (those the caller may see), for the recruiter's tests list. */
  authInvitationCounts: {
    subject: 'auth.v1.invitations.counts',
    roles: AUTHORS,
    request: withCaller({ test_ids: z.array(idSchema).max(500) }),
    response: z.object({
      counts: z.array(z.object({ test_id: idSchema, invitations: z.number().int(), uses: z.number().int() })),
    }),
  },
  authCreateUser: {
    subject: 'auth.v1.users.create',
    roles: ADMIN,
    request: withCaller({
      email,
      password: z.string().min(8).max(1024),
      role: roleSchema,
      name: z.string().max(200).default(''),
      tests: z.array(idSchema).optional(),
    }),
    response: z.object({ user_id: idSchema, created: z.boolean() }),
  },
  authJwks: {
    subject: 'auth.v1.jwks',
    request: z.object({}).strict(),
    response: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }),
  },
  ...ltiEndpoints,
  testCreate: {
    subject: 'assessment.v1.tests.create',
    roles: AUTHORS,
    request: withCaller({ definition: testDefinitionSchema, items: z.array(itemSchema).max(20_000).default([]) }),
    response: z.object({ test_id: idSchema, items: z.number().int() }),
  },
  itemsImport: {
    subject: 'assessment.v1.items.import',
    roles: AUTHORS,
    request: withCaller({
      format: z.enum(['json', 'yaml']),
      text: z
        .string()
        .min(1)
        .max(8 * 1024 * 1024),
    }),
    response: z.object({ imported: z.number().int(), item_ids: z.array(idSchema) }),
  },
  /**
   * The tests a recruiter may see, with how many assessments started and finished and their mean
   * score. Scans the assessments of those tests: a page read for the recruiter's workspace, never
   * on a candidate's path.
   */
  testsList: {
    subject: 'assessment.v1.tests.list',
    roles: AUTHORS,
    request: withCaller({ limit: z.number().int().min(1).max(500).default(200) }),
    response: z.object({ tests: z.array(recruiterTestSchema) }),
  },
  /** Per item of a test, from its finished assessments: exposure, proportion correct, mean time (a scan, off the hot path). */
  itemStats: {
    subject: 'assessment.v1.items.stats',
    roles: AUTHORS,
    request: withCaller({ test_id: testIdSchema }),
    response: itemStatsSchema,
  },
  /** One assessment as its recruiter reads it: result with the θ trace, answers with correctness, incidents, staff actions. */
  assessmentReport: {
    subject: 'assessment.v1.report',
    roles: AUTHORS,
    request: withCaller({ test_id: testIdSchema, assessment_id: idSchema }),
    response: assessmentReportSchema,
  },
  exposureUpdate: {
    subject: 'assessment.v1.exposure.update',
    roles: ADMIN,
    request: withCaller({
      test_id: testIdSchema,
      r_max: z.number().gt(0).max(1).default(0.25),
      min_examinees: z.number().int().positive().default(100),
    }),
    response: z.object({
      examinees: z.number().int(),
      updated: z.number().int(),
      max_exposure_rate: z.number(),
      items: z.array(z.object({ id: idSchema, exposure_k: z.number(), exposure_rate: z.number() })),
    }),
  },
  /**
   * Calibrates a test's items from the answers of its finished assessments (marginal maximum
   * likelihood, 2PL or 3PL) and, with `apply`, stores the new parameters on the items.
   */
  itemsCalibrate: {
    subject: 'assessment.v1.items.calibrate',
    roles: ADMIN,
    handlerTimeoutMs: 250_000,
    request: withCaller({
      test_id: testIdSchema,
      model: z.enum(['2PL', '3PL']).default('2PL'),
      /** Items answered fewer times keep their parameters. */
      min_responses: z.number().int().min(10).max(100_000).default(100),
      apply: z.boolean().default(false),
    }),
    response: z.object({
      test_id: testIdSchema,
      model: z.enum(['2PL', '3PL']),
      examinees: z.number().int(),
      cycles: z.number().int(),
      converged: z.boolean(),
      applied: z.number().int(),
      items: z.array(
        z.object({
          id: idSchema,
          /** An item being tried out (asked, never scored). */
          pretest: z.boolean(),
          n: z.number().int(),
          p_value: z.number(),
          estimated: z.boolean(),
          a: z.number(),
          b: z.number(),
          c: z.number(),
          /** Likert and partial-credit items: the model fitted and its thresholds (`b` is then their mean, `c` 0). */
          model: z.enum(['GRM', 'GPCM']).optional(),
          thresholds: z.array(z.number()).optional(),
          se: z.object({ a: z.number(), b: z.number(), c: z.number().optional(), thresholds: z.array(z.number()).optional() }),
          fit: z.object({ q1: z.number(), df: z.number().int(), p: z.number() }).nullable(),
          previous: z.object({ a: z.number(), b: z.number(), c: z.number(), thresholds: z.array(z.number()).optional() }),
        }),
      ),
    }),
  },
  testGet: {
    subject: 'assessment.v1.tests.get',
    request: withCaller({ test_id: testIdSchema }),
    response: testSummarySchema,
  },
  /** A test's public facts and the caller's attempt at it; reads only (never creates an assessment). */
  testInfo: {
    subject: 'assessment.v1.tests.info',
    request: withCaller({ test_id: testIdSchema }),
    response: testInfoSchema,
  },
  assessmentStart: {
    subject: 'assessment.v1.start',
    roles: CANDIDATE,
    request: withCaller({ test_id: testIdSchema }),
    /** The started (or resumed) assessment, or the start request that waits for a proctor's approval. */
    response: z.union([serverFrameData.assessment_started, z.object({ start_approval: startApprovalSchema })]),
  },
  /** Staff approve a waiting start request; the candidate is told and may start. */
  assessmentApproveStart: {
    subject: 'assessment.v1.approve_start',
    roles: STAFF,
    request: withCaller({ candidate_id: idSchema, test_id: testIdSchema }),
    response: startApprovalSchema,
  },
  assessmentQuestion: {
    subject: 'assessment.v1.question',
    request: assessmentRef,
    response: z.object({ question: questionSchema.nullable(), completed: completedSchema.optional() }),
  },
  assessmentAnswer: {
    subject: 'assessment.v1.answer',
    request: withCaller({ assessment_id: idSchema, question_id: idSchema, selected_option: z.string().min(1).max(16) }),
    response: z.object({ feedback: serverFrameData.answer_feedback, completed: completedSchema.optional() }),
  },
  assessmentProgress: {
    subject: 'assessment.v1.progress',
    request: assessmentRef,
    response: progressSchema,
  },
  assessmentEnd: {
    subject: 'assessment.v1.end',
    request: assessmentRef,
    response: completedSchema,
  },
  assessmentExtraTime: {
    subject: 'assessment.v1.extra_time',
    roles: STAFF,
    request: withCaller({
      assessment_id: idSchema,
      seconds: z
        .number()
        .int()
        .min(1)
        .max(24 * 3600),
      reason: z.string().max(500).default(''),
      key: idSchema.optional(),
    }),
    response: z.object({
      assessment_id: idSchema,
      deadline: z.string(),
      time_remaining_s: z.number().int(),
      status: assessmentStatusSchema,
    }),
  },
  assessmentCommand: {
    subject: 'assessment.v1.command',
    roles: STAFF,
    request: withCaller({
      assessment_id: idSchema,
      command: z.enum(['pause', 'resume', 'terminate']),
      reason: z.string().max(500).default(''),
    }),
    response: z.object({
      assessment_id: idSchema,
      status: assessmentStatusSchema,
      deadline: z.string(),
      time_remaining_s: z.number().int(),
    }),
  },
  assessmentIntegrity: {
    subject: 'assessment.v1.integrity',
    roles: CANDIDATE,
    request: withCaller({
      assessment_id: idSchema,
      kind: z.enum(['focus_lost', 'tab_hidden', 'paste', 'fullscreen_exit', 'copy', 'other']),
      at: z.string().max(64),
    }),
    response: z.object({ assessment_id: idSchema, kind: z.string(), incidents: z.number().int() }),
  },
  assessmentAbandonIdle: {
    subject: 'assessment.v1.abandon_idle',
    roles: ADMIN,
    request: withCaller({ limit: z.number().int().positive().max(1000).default(100) }),
    response: z.object({ abandoned: z.array(z.object({ assessment_id: idSchema, candidate_id: idSchema })) }),
  },
  authPurgeInvitations: {
    subject: 'auth.v1.invitations.purge_expired',
    roles: ADMIN,
    request: withCaller({ older_than_s: z.number().int().nonnegative().default(0) }),
    response: z.object({ removed: z.number().int() }),
  },
  authCandidateTests: {
    subject: 'auth.v1.candidates.tests',
    roles: STAFF,
    /** Staff ask which tests a candidate was invited to, among those the caller may see (NOT_FOUND: no such candidate). */
    request: withCaller({ candidate_id: idSchema }),
    response: z.object({ candidate_id: idSchema, tests: z.array(idSchema) }),
  },
  assessmentDescribe: {
    subject: 'assessment.v1.describe',
    request: assessmentRef,
    response: z.object({ assessment_id: idSchema, candidate_id: idSchema, test_id: idSchema, status: assessmentStatusSchema }),
  },
  assessmentExpireDue: {
    subject: 'assessment.v1.expire_due',
    roles: ADMIN,
    request: withCaller({ limit: z.number().int().positive().max(1000).default(100) }),
    response: z.object({ expired: z.array(z.object({ assessment_id: idSchema, candidate_id: idSchema })) }),
  },
  assessmentLive: {
    subject: 'assessment.v1.live',
    roles: STAFF,
    request: withCaller({ test_id: testIdSchema.optional(), limit: z.number().int().min(1).max(2000).default(500) }),
    response: z.object({ assessments: z.array(liveAssessmentSchema), start_requests: z.array(startApprovalSchema) }),
  },
  assessmentResults: {
    subject: 'assessment.v1.results',
    roles: AUTHORS,
    request: withCaller({
      test_id: testIdSchema,
      /** Only finished assessments (default) or every one. */
      include_unfinished: z.boolean().default(false),
      limit: z.number().int().min(1).max(500).default(100),
      /** Cursor from the previous page. */
      after: idSchema.optional(),
    }),
    response: z.object({
      results: z.array(
        z.object({
          assessment_id: idSchema,
          candidate_id: idSchema,
          candidate_name: z.string(),
          status: assessmentStatusSchema,
          reason: completionReasonSchema.nullable(),
          started_at: z.string(),
          finished_at: z.string().nullable(),
          answered: z.number().int(),
          score: z.number().optional(),
          incidents: z.number().int(),
          /** The candidate's time accommodations, when the assessment had any. */
          accommodations: accommodationsSchema.optional(),
          result: resultSchema.omit({ trace: true }).nullable(),
        }),
      ),
      next_cursor: idSchema.nullable(),
    }),
  },
  assessmentHelpContext: {
    subject: 'assessment.v1.help_context',
    request: assessmentRef,
    /** What the help assistant may know: never a key, an item parameter or a score. */
    response: z.object({
      assessment_id: idSchema,
      status: assessmentStatusSchema,
      time_remaining_s: z.number().int().nonnegative(),
      answered: z.number().int().nonnegative(),
      planned: z.object({ min: z.number().int(), max: z.number().int() }),
      adaptive: z.boolean(),
      on_expiry: z.enum(['autosubmit', 'grace']),
      question: z
        .object({
          index: z.number().int(),
          type: z.literal('single_choice'),
          skill: z.string(),
          options: z.number().int(),
          clarification: z.string().optional(),
        })
        .nullable(),
    }),
  },
  chatOpenRoom: {
    subject: 'chat.v1.rooms.open',
    roles: AUTHORS,
    request: withCaller({ candidate_id: idSchema, topic: z.string().max(200).default('') }),
    response: roomSchema,
  },
  chatRooms: {
    subject: 'chat.v1.rooms.list',
    request: withCaller({}),
    response: z.object({ rooms: z.array(roomSchema) }),
  },
  chatPost: {
    subject: 'chat.v1.post',
    request: withCaller({ room_id: idSchema, message: z.string().min(1).max(8000) }),
    response: chatMessageSchema,
  },
  chatHistory: {
    subject: 'chat.v1.history',
    request: withCaller({ room_id: idSchema, before: z.string().max(64).optional(), limit: z.number().int().min(1).max(200).default(50) }),
    response: z.object({ messages: z.array(chatMessageSchema), next_cursor: z.string().nullable() }),
  },
} as const satisfies Record<string, EndpointSpec>;

export type EndpointName = keyof typeof endpoints;

// Roles are checked on the request's caller: an endpoint with roles whose request has no caller
// does not compile (the type below names it).
type RolesWithoutCaller = {
  [E in EndpointName]: (typeof endpoints)[E] extends { roles: readonly Role[] }
    ? z.output<(typeof endpoints)[E]['request']> extends { caller: unknown }
      ? never
      : E
    : never;
}[EndpointName];
const _rolesNeedACaller: [RolesWithoutCaller] extends [never] ? true : RolesWithoutCaller = true;

/** The roles that may call an endpoint, or undefined when any authenticated caller may. */
export function endpointRoles(name: EndpointName): readonly Role[] | undefined {
  const endpoint: EndpointSpec = endpoints[name];
  return endpoint.roles;
}

/** The endpoint's own handler timeout, when it sets one. */
export function endpointHandlerTimeout(name: EndpointName): number | undefined {
  const endpoint: EndpointSpec = endpoints[name];
  return endpoint.handlerTimeoutMs;
}
export type RequestOf<E extends EndpointName> = z.input<(typeof endpoints)[E]['request']>;
export type ParsedRequestOf<E extends EndpointName> = z.output<(typeof endpoints)[E]['request']>;
export type ResponseOf<E extends EndpointName> = z.output<(typeof endpoints)[E]['response']>;
