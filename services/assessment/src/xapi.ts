import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { AssessmentDoc } from './store.ts';

/** The xAPI version this platform speaks, sent as `X-Experience-API-Version`. */
export const XAPI_VERSION = '1.0.3';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/u;
// ISO 8601 date-time with a time zone (xAPI 1.0.3 §4.5), and durations without weeks mixed in (§4.6).
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/u;
const DURATION = /^P(?!$)(\d+Y)?(\d+M)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/u;
const iri = z.url();
const languageMap = z.record(z.string().regex(/^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$/u), z.string());

/**
 * The xAPI 1.0.3 statement rules this platform relies on: the required actor, verb and object,
 * UUID ids and registration, ISO 8601 timestamps and durations, a score with scaled in −1..1
 * and min ≤ raw ≤ max.
 */
export const statementSchema = z.strictObject({
  id: z.string().regex(UUID, 'must be a UUID'),
  actor: z.strictObject({
    objectType: z.literal('Agent'),
    account: z.strictObject({ homePage: iri, name: z.string().min(1) }),
  }),
  verb: z.strictObject({ id: iri, display: languageMap }),
  object: z.strictObject({
    objectType: z.literal('Activity'),
    id: iri,
    definition: z.strictObject({ name: languageMap, type: iri }),
  }),
  result: z
    .strictObject({
      score: z
        .strictObject({ scaled: z.number().min(-1).max(1), raw: z.number(), min: z.number(), max: z.number() })
        .refine((s) => s.min <= s.raw && s.raw <= s.max, 'score: min ≤ raw ≤ max')
        .optional(),
      success: z.boolean().optional(),
      completion: z.boolean().optional(),
      duration: z.string().regex(DURATION, 'must be an ISO 8601 duration').optional(),
      response: z.string().max(255).optional(),
    })
    .optional(),
  context: z.strictObject({
    registration: z.string().regex(UUID, 'must be a UUID'),
    platform: z.string().optional(),
    contextActivities: z
      .strictObject({ parent: z.array(z.strictObject({ objectType: z.literal('Activity'), id: iri })).min(1) })
      .optional(),
    extensions: z.record(iri, z.unknown()).optional(),
  }),
  timestamp: z.string().regex(TIMESTAMP, 'must be an ISO 8601 timestamp'),
});
export type Statement = z.infer<typeof statementSchema>;

/** Where statements point: the accounts' home page and the prefix of test activity ids. */
export type XapiIdentity = { homePage: string; activityBase: string };

const ADL = 'http://adlnet.gov/expapi/verbs/';
const VERBS = {
  attempted: `${ADL}attempted`,
  completed: `${ADL}completed`,
  terminated: `${ADL}terminated`,
  answered: `${ADL}answered`,
  passed: `${ADL}passed`,
  failed: `${ADL}failed`,
} as const;
export type XapiVerb = keyof typeof VERBS;
const STATUS_EXTENSION = 'https://w3id.org/xapi/assessment-platform/extensions/status';

/** A name-based UUID (version 5 layout, SHA-1) of `name`: the same name always gives the same UUID. */
export function nameUuid(name: string): string {
  const h = createHash('sha1').update(`assessment-platform:${name}`).digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x50;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The id of the statement of `verb` about an assessment (a retry sends the same id); `answered` names the answer's index. */
export function statementId(assessmentId: string, verb: XapiVerb, index?: number): string {
  return nameUuid(index === undefined ? `${assessmentId}:${verb}` : `${assessmentId}:${verb}:${String(index)}`);
}

/** The xAPI registration of an assessment. */
export function registrationOf(assessmentId: string): string {
  return nameUuid(`registration:${assessmentId}`);
}

/** An ISO 8601 duration in seconds (to the hundredth, as xAPI keeps it). */
export function isoDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 10) / 100);
  return `PT${String(seconds)}S`;
}

/**
 * The statements of a finished assessment: `attempted` at its start, then `completed` (completed or
 * expired by the time limit with what was answered) or `terminated` (abandoned or ended by staff),
 * then `passed` or `failed` when the test made a classification decision.
 */
export function buildStatements(a: AssessmentDoc, title: string, identity: XapiIdentity): Statement[] {
  if (a.finished_at === null || a.result === null) return [];
  const finished = a.finished_at;
  const result = a.result;
  const base = (verb: XapiVerb, timestamp: Date) => ({
    id: statementId(a._id, verb),
    actor: { objectType: 'Agent' as const, account: { homePage: identity.homePage, name: a.candidate_id } },
    verb: { id: VERBS[verb], display: { 'en-US': verb } },
    object: {
      objectType: 'Activity' as const,
      id: `${identity.activityBase}${encodeURIComponent(a.test_id)}`,
      definition: { name: { 'en-US': title }, type: 'http://adlnet.gov/expapi/activities/assessment' },
    },
    context: { registration: registrationOf(a._id), platform: 'assessment-platform', extensions: { [STATUS_EXTENSION]: a.status } },
    timestamp: timestamp.toISOString(),
  });
  const completion = a.status === 'completed' || a.status === 'expired';
  const decision = completion && (result.decision === 'pass' || result.decision === 'fail') ? result.decision : undefined;
  const outcome = {
    score: {
      scaled: result.percent_correct / 100,
      raw: result.number_correct,
      min: 0,
      max: Math.max(result.answered, result.number_correct),
    },
    ...(decision === undefined ? {} : { success: decision === 'pass' }),
    completion,
    duration: isoDuration(finished.getTime() - a.started_at.getTime()),
  };
  const testActivity = `${identity.activityBase}${encodeURIComponent(a.test_id)}`;
  // One `answered` per stored answer: the question as an interaction within the test, whether it
  // was right (not for likert and partial-credit items, which have no right answer), the option
  // chosen and the time taken. Item ids are the bank's; no question text leaves.
  const answered: Statement[] = a.responses.map((r) => {
    const statement = base('answered', r.answered_at);
    return {
      ...statement,
      id: statementId(a._id, 'answered', r.index),
      object: {
        objectType: 'Activity' as const,
        id: `${testActivity}/questions/${encodeURIComponent(r.item_id)}`,
        definition: {
          name: { 'en-US': `${title}: question ${String(r.index + 1)}` },
          type: 'http://adlnet.gov/expapi/activities/cmi.interaction',
        },
      },
      result: {
        ...(r.category === undefined ? { success: r.correct } : {}),
        response: r.selected_option,
        duration: isoDuration(r.answered_at.getTime() - r.asked_at.getTime()),
      },
      context: { ...statement.context, contextActivities: { parent: [{ objectType: 'Activity' as const, id: testActivity }] } },
    };
  });
  const statements: Statement[] = [
    base('attempted', a.started_at),
    ...answered,
    { ...base(completion ? 'completed' : 'terminated', finished), result: outcome },
  ];
  if (decision !== undefined) statements.push({ ...base(decision === 'pass' ? 'passed' : 'failed', finished), result: outcome });
  return statements.map((s) => statementSchema.parse(s));
}
