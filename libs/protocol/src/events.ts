import { z } from 'zod';
import { idSchema } from './common.ts';
import { gradeSchema } from './lti.ts';
import { chatMessageSchema, completedSchema, liveAssessmentSchema, serverFrameData, startApprovalSchema } from './frames.ts';
import type { ServerFrameDataOf, ServerFrameType } from './frames.ts';

/**
 * Events: what services publish on NATS subjects for others to react to (core NATS, at most once),
 * and the events of the assessment stream (JetStream, kept and de-duplicated). Request/reply
 * endpoints are in bus.ts.
 */

/** An event whose subject ends with a key: the id of its addressee (a user, a room, a test). */
function keyedEvent<S extends z.ZodType>(prefix: string, schema: S) {
  return { keyed: true as const, subject: (key: string) => `${prefix}.${key}`, wildcard: `${prefix}.*`, schema };
}

/** An event on one fixed subject. */
function fixedEvent<S extends z.ZodType>(subject: string, schema: S) {
  return { keyed: false as const, subject: () => subject, wildcard: subject, schema };
}

/** A frame pushed to a user's sockets: any server frame, with its own data schema. */
export type UserPush = {
  [T in ServerFrameType]: {
    type: T;
    data: ServerFrameDataOf<T>;
    /** Only the sockets bound to this assessment receive it. */
    assessment_id?: string;
    /** A connection that must not receive it (the one that caused it). */
    except_connection?: string;
  };
}[ServerFrameType];

const pushExtras = { assessment_id: idSchema.optional(), except_connection: z.string().max(64).optional() };
const userPushSchema = z.discriminatedUnion(
  'type',
  (Object.keys(serverFrameData) as ServerFrameType[]).map((type) =>
    z.object({ type: z.literal(type), data: serverFrameData[type], ...pushExtras }),
  ) as unknown as [z.ZodObject<{ type: z.ZodLiteral<ServerFrameType> }>],
) as unknown as z.ZodType<UserPush, UserPush>;

/**
 * Events on core NATS subjects, each with its schema: `bus.publish(name, key, payload)` and
 * `bus.subscribe(name, key, handler)` build the subject and validate the payload.
 */
export const events = {
  pushToUser: keyedEvent('gateway.v1.push.user', userPushSchema),
  /** Which assessments have a live connection on one gateway, sent periodically in batches. */
  presence: fixedEvent(
    'gateway.v1.presence',
    z.object({ gateway_id: z.string().max(64), assessment_ids: z.array(idSchema).max(5000), at: z.string() }),
  ),
  chatRoom: keyedEvent('chat.v1.events.room', chatMessageSchema),
  /** A changed in-progress assessment, for proctors watching its test. */
  liveAssessment: keyedEvent('assessment.v1.live', liveAssessmentSchema),
  /** A start request made or approved, for proctors watching its test (keyed by test). */
  startRequest: keyedEvent('assessment.v1.start_requests', startApprovalSchema),
  /** A connection bound to (or released) an assessment on a gateway: proctors see online/offline at once. */
  connection: fixedEvent(
    'gateway.v1.connection',
    z.object({
      gateway_id: z.string().max(64),
      connection_id: z.string().max(64),
      assessment_id: idSchema,
      online: z.boolean(),
      at: z.string(),
    }),
  ),
  /** Someone is typing in a room (not stored). */
  chatTyping: keyedEvent('chat.v1.events.typing', serverFrameData.typing),
  /**
   * A candidate signed in again with a named invitation code (not its first redemption). The
   * assessment service may record it as an incident on the candidate's running assessment of the test.
   */
  reSignIn: fixedEvent(
    'auth.v1.events.re_sign_in',
    z.object({
      candidate_id: idSchema,
      test_id: idSchema,
      application_id: idSchema,
      invitation_id: idSchema,
      at: z.string(),
      /** The address the code was redeemed from, when it came through a gateway. */
      ip: z.string().max(64).optional(),
    }),
  ),
  assessmentCompleted: fixedEvent('assessment.v1.events.completed', completedSchema.extend({ candidate_id: idSchema, test_id: idSchema })),
} as const;

export type EventName = keyof typeof events;
/** An event as a subscriber receives it (validated). */
export type EventOf<E extends EventName> = z.output<(typeof events)[E]['schema']>;
/** An event as a publisher gives it. */
export type EventInputOf<E extends EventName> = z.input<(typeof events)[E]['schema']>;
/** What an event's subject ends with: an id for keyed events, nothing for fixed ones. */
export type EventKeyOf<E extends EventName> = (typeof events)[E]['keyed'] extends true ? string : undefined;

const streamFields = { assessment_id: idSchema, candidate_id: idSchema, test_id: idSchema, at: z.string() };
/**
 * A finished assessment's stream event also carries its grade, whatever the candidate is shown:
 * points on the test's scaled score above its minimum (adaptive tests) or the percentage correct,
 * for integrations that return grades (LTI). Absent when there is no result.
 */
const finishedFields = { ...streamFields, grade: gradeSchema.optional() };

/**
 * Events of the assessment stream (JetStream, `assessment.v1.events.>`): kept, de-duplicated by
 * message id, for consumers that must see each once (reports, integrations).
 */
export const streamEvents = {
  started: { subject: 'assessment.v1.events.started', schema: z.object({ ...streamFields, deadline: z.string() }) },
  answered: {
    subject: 'assessment.v1.events.answered',
    schema: z.object({
      ...streamFields,
      question_id: idSchema,
      index: z.number().int().nonnegative(),
      correct: z.boolean(),
      /** Likert and partial-credit items: the category of the chosen option (`correct` is then false). */
      category: z.number().int().nonnegative().optional(),
    }),
  },
  completed: { subject: 'assessment.v1.events.completed', schema: completedSchema.extend(finishedFields) },
  expired: { subject: 'assessment.v1.events.expired', schema: completedSchema.extend(finishedFields) },
} as const;
/** The JetStream stream that holds {@link streamEvents}. */
export const ASSESSMENT_STREAM = { name: 'ASSESSMENT_EVENTS', subjects: 'assessment.v1.events.>' } as const;
export type StreamEventName = keyof typeof streamEvents;
export type StreamEventOf<E extends StreamEventName> = z.input<(typeof streamEvents)[E]['schema']>;

/** The chat room of an assessment. */
export function assessmentRoomId(assessmentId: string): string {
  return `asm_${assessmentId}`;
}

/** Support rooms a recruiter opens with a candidate start with this prefix. */
export const SUPPORT_ROOM_PREFIX = 'sup_';

/** The assessment id of an assessment room, or undefined for other rooms. */
export function assessmentIdOfRoom(roomId: string): string | undefined {
  return roomId.startsWith('asm_') ? roomId.slice(4) : undefined;
}
