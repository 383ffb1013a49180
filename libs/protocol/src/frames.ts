import { z } from 'zod';
import {
  accommodationsSchema,
  assessmentStatusSchema,
  completionReasonSchema,
  errorBodySchema,
  idSchema,
  optionSchema,
  roleSchema,
  testIdSchema,
} from './common.ts';

/** Largest WebSocket frame the gateway accepts (bytes); larger frames close the socket with 1009. */
export const MAX_FRAME_BYTES = 64 * 1024;

/** Longest chat message, in characters. */
export const MAX_CHAT_CHARS = 2000;

/** The envelope of every client frame: `{type, data, id?}`. */
export const clientEnvelopeSchema = z.object({
  type: z.string().min(1).max(64),
  data: z.record(z.string(), z.unknown()).default({}),
  id: z.string().min(1).max(64).optional(),
});
export type ClientEnvelope = z.infer<typeof clientEnvelopeSchema>;

const empty = z.object({}).strict();

/** Data schemas of the client frames, by type. */
export const clientFrameData = {
  auth: z.object({ token: z.string().min(1).max(8192) }).strict(),
  start_assessment: z.object({ test_id: testIdSchema.optional() }).strict(),
  /** The test's public facts, read without starting it (no assessment is created, no clock runs). */
  get_test_info: z.object({ test_id: testIdSchema.optional() }).strict(),
  get_question: empty,
  submit_answer: z
    .object({
      question_id: idSchema,
      selected_option: z.string().min(1).max(16),
    })
    .strict(),
  get_progress: empty,
  chat_message: z
    .object({
      message: z.string().min(1).max(8000),
      room_id: idSchema.optional(),
    })
    .strict(),
  heartbeat: z.object({ client_time: z.string().max(64).optional() }).strict(),
  end_assessment: empty,
  /** The candidate's browser saw something proctors should know about. */
  integrity_event: z
    .object({ kind: z.enum(['focus_lost', 'tab_hidden', 'paste', 'fullscreen_exit', 'copy', 'other']), at: z.string().max(64) })
    .strict(),
  /** Proctor and recruiter commands (on /ws/chat or /ws/assessment, authorized by role and test scope). */
  pause_assessment: z.object({ assessment_id: idSchema, reason: z.string().max(500).default('') }).strict(),
  resume_assessment: z.object({ assessment_id: idSchema }).strict(),
  terminate_assessment: z.object({ assessment_id: idSchema, reason: z.string().min(1).max(500) }).strict(),
  extra_time: z
    .object({
      assessment_id: idSchema,
      seconds: z
        .number()
        .int()
        .min(1)
        .max(24 * 3600),
      reason: z.string().max(500).default(''),
      /** Makes a retry safe: a second command with the same key adds nothing. */
      key: idSchema.optional(),
    })
    .strict(),
  /** Chat rooms: join (membership is checked), leave, read history newest first, say that one is typing. */
  join_room: z.object({ room_id: idSchema }).strict(),
  leave_room: z.object({ room_id: idSchema }).strict(),
  chat_history: z
    .object({ room_id: idSchema.optional(), before: idSchema.optional(), limit: z.number().int().min(1).max(200).default(50) })
    .strict(),
  typing: z.object({ room_id: idSchema.optional() }).strict(),
  /** A recruiter (or admin) opens a support room with a candidate. */
  open_support_room: z.object({ candidate_id: idSchema, topic: z.string().max(200).default('') }).strict(),
  /** Staff: the live feed of in-progress assessments of their tests (one test, or all they may see). */
  watch_assessments: z.object({ test_id: testIdSchema.optional() }).strict(),
  unwatch_assessments: empty,
  /** Staff: let a candidate waiting for approval start a test that requires it. */
  approve_start: z.object({ candidate_id: idSchema, test_id: testIdSchema }).strict(),
} as const;

export type ClientFrameType = keyof typeof clientFrameData;
export const CLIENT_FRAME_TYPES = Object.keys(clientFrameData) as ClientFrameType[];
export type ClientFrameDataOf<T extends ClientFrameType> = z.infer<(typeof clientFrameData)[T]>;

/** A client frame whose data has been validated against its type. */
export type ClientFrame = {
  [T in ClientFrameType]: { type: T; data: ClientFrameDataOf<T>; id?: string };
}[ClientFrameType];

export const testSummarySchema = z.object({
  test_id: idSchema,
  title: z.string(),
  strategy: z.enum(['fixed', 'random', 'adaptive']),
  time_limit_s: z.number().int().positive(),
  planned_items: z.object({ min: z.number().int(), max: z.number().int() }),
  skills: z.array(z.string()),
  show_feedback: z.boolean(),
  /** Seconds before the deadline at which `time_warning` frames are sent. */
  time_warnings_s: z.array(z.number().int().positive()),
  /** What happens at the deadline: finalize with what was answered, or a grace period to submit. */
  on_expiry: z.enum(['autosubmit', 'grace']),
  grace_s: z.number().int().nonnegative(),
});
export type TestSummary = z.infer<typeof testSummarySchema>;

/**
 * A candidate's request to start a test that requires a proctor's approval: `waiting` until a
 * proctor approves it, then `approved` (the candidate's next `start_assessment` starts the clock).
 */
export const startApprovalSchema = z.object({
  test_id: idSchema,
  candidate_id: idSchema,
  candidate_name: z.string(),
  status: z.enum(['waiting', 'approved']),
  requested_at: z.string(),
  approved_at: z.string().nullable(),
  approved_by: idSchema.nullable(),
});
export type StartApproval = z.infer<typeof startApprovalSchema>;

/**
 * What a candidate may read about a test before starting it: the test's public facts and, when the
 * caller already started it, where that attempt stands (the page resumes it instead of showing the rules).
 */
export const testInfoSchema = z.object({
  test: testSummarySchema,
  description: z.string(),
  /** Proctors watch the assessment live and may pause or end it. */
  proctored: z.boolean(),
  /** `start_assessment` waits for a proctor's approval before the clock starts. */
  start_requires_approval: z.boolean(),
  /** The caller's start request on such a test (null before one is made, and for staff). */
  start_approval: startApprovalSchema.nullable(),
  /** A question to try before Start, with its answer: not scored, not stored, no clock. */
  practice: z.object({ stem: z.string(), options: z.array(optionSchema), answer: z.string() }).nullable(),
  /** The candidate's time accommodations, when their invitation gave any. */
  accommodations: accommodationsSchema.optional(),
  /** With accommodations: the candidate's own time limit, the test's × time_multiplier + extra_seconds. */
  time_allowed_s: z.number().int().positive().optional(),
  /** The caller's attempt at this test, if they started it; null for a candidate who has not. */
  attempt: z
    .object({
      assessment_id: idSchema,
      status: assessmentStatusSchema,
      answered: z.number().int().nonnegative(),
      time_remaining_s: z.number().int().nonnegative(),
    })
    .nullable(),
});
export type TestInfo = z.infer<typeof testInfoSchema>;

export const questionSchema = z.object({
  assessment_id: idSchema,
  question_id: idSchema,
  index: z.number().int().nonnegative(),
  /**
   * `single_choice`: one option is right. `likert` and `partial_credit`: the options are ordered
   * categories (the first is category 0) and none is right or wrong.
   */
  type: z.enum(['single_choice', 'likert', 'partial_credit']),
  stem: z.string(),
  options: z.array(optionSchema),
  skill: z.string(),
  time_remaining_s: z.number().int().nonnegative(),
});
export type Question = z.infer<typeof questionSchema>;

export const skillProgressSchema = z.object({ skill: z.string(), answered: z.number().int(), target: z.number().optional() });

export const progressSchema = z.object({
  assessment_id: idSchema,
  status: assessmentStatusSchema,
  answered: z.number().int().nonnegative(),
  planned: z.number().int().nonnegative(),
  planned_range: z.object({ min: z.number().int(), max: z.number().int() }),
  percent: z.number().min(0).max(100),
  time_remaining_s: z.number().int().nonnegative(),
  skills: z.array(skillProgressSchema),
});
export type Progress = z.infer<typeof progressSchema>;

export const resultSchema = z.object({
  number_correct: z.number().int().nonnegative(),
  answered: z.number().int().nonnegative(),
  percent_correct: z.number().min(0).max(100),
  theta: z.number().optional(),
  se: z.number().optional(),
  scaled_score: z.number().optional(),
  /** Percentile rank among the finished assessments of the same test when this one finished. */
  percentile: z.number().min(0).max(100).optional(),
  /** Integrity incidents recorded during the assessment. */
  incidents: z.number().int().nonnegative().optional(),
  /** The time accommodations the assessment was taken with. */
  accommodations: accommodationsSchema.optional(),
  /** A pass/fail test's decision (`undecided` when the rule had not decided when the test ended). */
  decision: z.enum(['pass', 'fail', 'undecided']).optional(),
  /** The ability estimate after each answer (no item ids, no correctness). */
  trace: z.array(z.object({ theta: z.number(), se: z.number() })).optional(),
  skills: z.array(
    z.object({
      skill: z.string(),
      answered: z.number().int(),
      correct: z.number().int(),
      theta: z.number().optional(),
      se: z.number().optional(),
    }),
  ),
});
export type AssessmentResult = z.infer<typeof resultSchema>;

export const completedSchema = z.object({
  assessment_id: idSchema,
  status: assessmentStatusSchema,
  reason: completionReasonSchema,
  finished_at: z.string(),
  /** Present only when the test's feedback policy lets the candidate see results. */
  score: z.number().optional(),
  result: resultSchema.optional(),
});
export type AssessmentCompleted = z.infer<typeof completedSchema>;

export const chatMessageSchema = z.object({
  message_id: idSchema,
  room_id: idSchema,
  sender_id: idSchema,
  sender_role: z.union([roleSchema, z.literal('assistant')]),
  text: z.string(),
  created_at: z.string(),
});
export type ChatMessage = z.infer<typeof chatMessageSchema>;

/** A room as members see it. */
export const roomSchema = z.object({
  room_id: idSchema,
  kind: z.enum(['assessment', 'support']),
  /** Support rooms: who belongs (the candidate and the staff member who opened it). */
  members: z.array(idSchema).optional(),
  topic: z.string().optional(),
  opened_by: idSchema.optional(),
  created_at: z.string().optional(),
});
export type Room = z.infer<typeof roomSchema>;

/** One in-progress assessment as proctors watch it. */
export const liveAssessmentSchema = z.object({
  assessment_id: idSchema,
  test_id: idSchema,
  test_title: z.string(),
  strategy: z.enum(['fixed', 'random', 'adaptive']),
  candidate_id: idSchema,
  candidate_name: z.string(),
  status: assessmentStatusSchema,
  /** Whether a gateway holds a live connection for it. */
  online: z.boolean(),
  answered: z.number().int().nonnegative(),
  planned: z.number().int().nonnegative(),
  time_remaining_s: z.number().int().nonnegative(),
  deadline: z.string(),
  started_at: z.string(),
  /** Adaptive tests: the current ability estimate and its standard error. */
  theta: z.number().optional(),
  se: z.number().optional(),
  incidents: z.number().int().nonnegative(),
  last_incident: z.object({ kind: z.string(), at: z.string() }).optional(),
  /** The candidate's time accommodations, when it has any (already in the deadline). */
  accommodations: accommodationsSchema.optional(),
  updated_at: z.string(),
});
export type LiveAssessment = z.infer<typeof liveAssessmentSchema>;

/** Data schemas of the server frames, by type. */
export const serverFrameData = {
  auth_success: z.object({ user_id: idSchema, role: roleSchema, expires_at: z.string() }),
  test_info: testInfoSchema,
  assessment_started: z.object({
    assessment_id: idSchema,
    test: testSummarySchema,
    started_at: z.string(),
    deadline: z.string(),
    resumed: z.boolean(),
    answered: z.number().int().nonnegative(),
    time_remaining_s: z.number().int().nonnegative(),
    status: assessmentStatusSchema,
    current_question_id: idSchema.nullable(),
    /** The question asked and not yet answered, when resuming. */
    current_question: questionSchema.nullable(),
    /** The questions answered so far, in order. */
    answered_question_ids: z.array(idSchema),
  }),
  question: questionSchema,
  answer_feedback: z.object({
    assessment_id: idSchema,
    question_id: idSchema,
    accepted: z.boolean(),
    selected_option: z.string(),
    /** Present only when the test's feedback policy shows correctness, and never for likert and partial_credit questions. */
    correct: z.boolean().optional(),
    /** The category of the chosen option (0 for the first) of a likert or partial_credit question. */
    category: z.number().int().nonnegative().optional(),
    answered: z.number().int().nonnegative(),
    finished: z.boolean(),
    /**
     * The question asked next, chosen and stored with this answer (absent when finished): a
     * client shows it without a `get_question`, which would return the same question.
     */
    next_question: questionSchema.optional(),
  }),
  progress_update: progressSchema,
  assessment_completed: completedSchema,
  heartbeat_ack: z.object({ server_time: z.string() }),
  chat_message: chatMessageSchema,
  time_warning: z.object({ assessment_id: idSchema, time_remaining_s: z.number().int().nonnegative() }),
  session_replaced: z.object({ assessment_id: idSchema }),
  assessment_paused: z.object({ assessment_id: idSchema, reason: z.string() }),
  assessment_resumed: z.object({ assessment_id: idSchema, deadline: z.string(), time_remaining_s: z.number().int().nonnegative() }),
  /** The state of an assessment after a staff command. */
  assessment_status: z.object({
    assessment_id: idSchema,
    status: assessmentStatusSchema,
    deadline: z.string(),
    time_remaining_s: z.number().int(),
  }),
  integrity_recorded: z.object({ assessment_id: idSchema, kind: z.string(), incidents: z.number().int() }),
  time_extended: z.object({
    assessment_id: idSchema,
    deadline: z.string(),
    time_remaining_s: z.number().int().nonnegative(),
    extra_s: z.number().int(),
  }),
  room_joined: roomSchema,
  room_left: z.object({ room_id: idSchema }),
  /** A support room opened with this user (pushed to the candidate, replied to the recruiter). */
  room_opened: roomSchema,
  chat_history: z.object({ room_id: idSchema, messages: z.array(chatMessageSchema), next_cursor: z.string().nullable() }),
  typing: z.object({ room_id: idSchema, user_id: idSchema, role: roleSchema, name: z.string().optional() }),
  /** The snapshot a watch starts with; `live_assessment` frames follow as assessments change. */
  live_assessments: z.object({
    test_id: idSchema.nullable(),
    assessments: z.array(liveAssessmentSchema),
    /** Candidates waiting for a proctor's approval to start (tests that require it). */
    start_requests: z.array(startApprovalSchema),
  }),
  live_assessment: liveAssessmentSchema,
  /**
   * A start request as it stands: the reply to a `start_assessment` that must wait, pushed to the
   * candidate when approved, sent live to proctors watching the test, and the reply to `approve_start`.
   */
  start_approval: startApprovalSchema,
  error: errorBodySchema,
} as const;

export type ServerFrameType = keyof typeof serverFrameData;
export type ServerFrameDataOf<T extends ServerFrameType> = z.infer<(typeof serverFrameData)[T]>;

/** A frame as the server sends it. */
export type ServerFrame = {
  [T in ServerFrameType]: { type: T; data: ServerFrameDataOf<T>; reply_to?: string; ts: string };
}[ServerFrameType];

export const serverEnvelopeSchema = z.object({
  type: z.string(),
  data: z.record(z.string(), z.unknown()),
  reply_to: z.string().optional(),
  ts: z.string(),
});

export type FrameParseResult =
  | { ok: true; frame: ClientFrame }
  | {
      ok: false;
      code: 'INVALID_JSON' | 'UNKNOWN_TYPE' | 'VALIDATION_FAILED';
      message: string;
      id?: string;
      details?: Record<string, unknown>;
    };

/** Parses one text frame from a client: JSON, envelope, then the data schema of its type. */
export function parseClientFrame(text: string): FrameParseResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, code: 'INVALID_JSON', message: 'frame is not valid JSON' };
  }
  const envelope = clientEnvelopeSchema.safeParse(raw);
  if (!envelope.success) {
    // Echo a usable id even from a malformed envelope, so the client can match the error.
    const rawId = typeof raw === 'object' && raw !== null && 'id' in raw ? raw.id : undefined;
    const id = typeof rawId === 'string' && rawId.length > 0 && rawId.length <= 64 ? { id: rawId } : {};
    return {
      ok: false,
      code: 'VALIDATION_FAILED',
      message: 'frame must be {"type": string, "data": object, "id"?: string}',
      details: { issues: issueList(envelope.error) },
      ...id,
    };
  }
  const { type, data, id } = envelope.data;
  const withId = id === undefined ? {} : { id };
  if (!Object.hasOwn(clientFrameData, type)) {
    return { ok: false, code: 'UNKNOWN_TYPE', message: `unknown frame type "${type}"`, ...withId };
  }
  const schema = clientFrameData[type as ClientFrameType];
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    return {
      ok: false,
      code: 'VALIDATION_FAILED',
      message: `invalid data for "${type}"`,
      details: { issues: issueList(parsed.error) },
      ...withId,
    };
  }
  return { ok: true, frame: { type, data: parsed.data, ...withId } as ClientFrame };
}

/** A short, client-safe list of validation issues: path and message. */
export function issueList(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.slice(0, 10).map((i) => ({ path: i.path.join('.'), message: i.message }));
}
