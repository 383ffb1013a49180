import type { Collection, Db } from 'mongodb';
import type { Accommodations, AssessmentResult, AssessmentStatus, CompletionReason, Item, TestDefinition } from '@ap/protocol';

/** A test as stored: its definition plus bookkeeping. */
export type TestDoc = Omit<TestDefinition, 'id' | 'proctored' | 'start_requires_approval'> & {
  /** Absent on tests stored before the field existed: not proctored. */
  proctored?: boolean;
  /** Absent on tests stored before the field existed: no approval needed. */
  start_requires_approval?: boolean;
  _id: string;
  created_by: string;
  created_at: Date;
  updated_at: Date;
};

/** An item as stored; `_id` is the item id. The key never leaves the service. */
export type ItemDoc = Omit<Item, 'id'> & {
  _id: string;
  /** Sympson–Hetter exposure parameters per test id, set by `assessment.v1.exposure.update`. */
  exposure_k?: Record<string, number>;
};

/** One answered question, embedded in its assessment. */
export type ResponseDoc = {
  item_id: string;
  index: number;
  skill: string;
  selected_option: string;
  /** Whether the chosen option is the key; always false for likert and partial-credit items (see `category`). */
  correct: boolean;
  /** Likert and partial-credit items: the category of the chosen option (its position, 0 for the first). */
  category?: number;
  asked_at: Date;
  answered_at: Date;
  theta?: number;
  se?: number;
};

/** The result of a finished assessment, as stored. */
export type ResultDoc = AssessmentResult & {
  incidents?: number;
  trace: { item_id: string; correct: boolean; category?: number; theta?: number; se?: number }[];
  percentile?: number;
};

/**
 * An assessment as the service works with it: the head document written at start, plus every
 * event after it (see {@link EventDoc}). The `assessments` collection holds a snapshot of this
 * document, written when the status or the deadline changes and when it ends (then with every
 * response, log entry and incident); answers are not written to it. `version` is the `seq` of the
 * last event folded in.
 */
export type AssessmentDoc = {
  _id: string;
  /** `${candidate_id}:${test_id}:${attempt}`, unique: at most one assessment per candidate, test and attempt. */
  attempt_key: string;
  test_id: string;
  candidate_id: string;
  /** The candidate's display name from the token, for proctors and results. */
  candidate_name?: string;
  /** The test's title when it started, for proctors. */
  test_title?: string;
  application_id: string | null;
  status: AssessmentStatus;
  strategy: TestDefinition['strategy'];
  seed: string;
  planned: { min: number; max: number };
  started_at: Date;
  deadline: Date;
  /** The candidate's time accommodations from its token, already in the deadline set at start. */
  accommodations?: Accommodations;
  finished_at: Date | null;
  reason: CompletionReason | null;
  current: { item_id: string; index: number; asked_at: Date } | null;
  responses: ResponseDoc[];
  result: ResultDoc | null;
  /** When a proctor paused it (the clock stops until it is resumed). */
  paused_at?: Date | null;
  /** Integrity incidents reported by the candidate's client (capped). */
  incidents?: Incident[];
  /** Commands applied to it (extra time, pause…), with who and when. */
  log: LogEntry[];
  /** Time warnings sent, as `<seconds before>@<deadline>` (see warnings.ts). */
  warnings_sent?: string[];
  version: number;
  created_at: Date;
  updated_at: Date;
};

/** A candidate's application: links candidate, test and assessment. */
export type ApplicationDoc = {
  _id: string;
  candidate_id: string;
  test_id: string;
  assessment_id: string | null;
  status: AssessmentStatus | 'invited';
  updated_at: Date;
};

/** One entry of an assessment's log of staff commands. */
export type LogEntry = { type: string; by: string; role: string; at: Date; [key: string]: unknown };

/** An integrity incident reported by the candidate's client. */
export type Incident = { kind: string; at: string; received_at: Date };

/** The fields of an assessment that an event may set (the lists grow by `response`, `log`, `incident`). */
export type AssessmentFields = Partial<Omit<AssessmentDoc, '_id' | 'version' | 'responses' | 'log' | 'incidents'>>;

/**
 * One change of an assessment, insert-only: `_id` is `${assessment_id}:${seq}` and `seq` is the
 * version it makes. Whoever inserts the next `_id` first has written the next version; everyone
 * else gets a duplicate key, reads what was written and decides again. A unique insert is atomic
 * on MongoDB and on FerretDB alike, so this needs no transaction, no conditional update and no
 * lock, and costs one command per change.
 */
export type EventDoc = {
  _id: string;
  seq: number;
  set?: AssessmentFields;
  response?: ResponseDoc;
  log?: LogEntry;
  incident?: Incident;
};

/** When a gateway last reported a live connection for an assessment (kept apart from the assessment document). */
export type PresenceDoc = { _id: string; last_seen_at: Date };

/** The one assessment of a candidate, test and attempt: `_id` is `${candidate_id}:${test_id}:${attempt}`. */
export type AttemptDoc = { _id: string; assessment_id: string };

/**
 * A small row per unfinished assessment, for the sweeps: they scan this instead of the assessments
 * (FerretDB filters anything but `_id` by reading every document of a collection).
 */
export type ActiveDoc = { _id: string; test_id: string; status: AssessmentStatus; deadline: Date; started_at: Date };

/**
 * A candidate's request to start a test that requires a proctor's approval: `_id` is
 * `${candidate_id}:${test_id}`, inserted once (a duplicate key means it exists), approved by one update.
 */
export type StartRequestDoc = {
  _id: string;
  test_id: string;
  candidate_id: string;
  candidate_name: string;
  status: 'waiting' | 'approved';
  requested_at: Date;
  approved_at: Date | null;
  approved_by: string | null;
};

/** θ of each finished assessment by test, for percentiles. */
export type ScoreDoc = { _id: string; test_id: string; theta: number };

export type Collections = {
  tests: Collection<TestDoc>;
  items: Collection<ItemDoc>;
  assessments: Collection<AssessmentDoc>;
  applications: Collection<ApplicationDoc>;
  events: Collection<EventDoc>;
  presence: Collection<PresenceDoc>;
  attempts: Collection<AttemptDoc>;
  active: Collection<ActiveDoc>;
  scores: Collection<ScoreDoc>;
  startRequests: Collection<StartRequestDoc>;
};

/** The service's collections, with their indexes created (idempotent). */
export async function openCollections(db: Db): Promise<Collections> {
  const c: Collections = {
    tests: db.collection<TestDoc>('tests'),
    items: db.collection<ItemDoc>('items'),
    assessments: db.collection<AssessmentDoc>('assessments'),
    applications: db.collection<ApplicationDoc>('applications'),
    events: db.collection<EventDoc>('assessment_events'),
    presence: db.collection<PresenceDoc>('assessment_presence'),
    attempts: db.collection<AttemptDoc>('assessment_attempts'),
    active: db.collection<ActiveDoc>('assessments_active'),
    scores: db.collection<ScoreDoc>('assessment_scores'),
    startRequests: db.collection<StartRequestDoc>('start_requests'),
  };
  // One index per command: FerretDB 1.24 drops the connection when one createIndexes lists several existing indexes.
  await c.assessments.createIndexes([{ key: { attempt_key: 1 }, name: 'attempt_key_unique', unique: true }]);
  await c.active.createIndexes([{ key: { status: 1, deadline: 1 }, name: 'status_deadline' }]);
  await c.scores.createIndexes([{ key: { test_id: 1, theta: 1 }, name: 'test_theta' }]);
  await c.assessments.createIndexes([{ key: { candidate_id: 1, test_id: 1 }, name: 'candidate_test' }]);
  await c.assessments.createIndexes([{ key: { status: 1, deadline: 1 }, name: 'status_deadline' }]);
  await c.assessments.createIndexes([{ key: { test_id: 1, status: 1 }, name: 'test_status' }]);
  await c.presence.createIndexes([{ key: { last_seen_at: 1 }, name: 'last_seen_at' }]);
  await c.applications.createIndexes([{ key: { candidate_id: 1, test_id: 1 }, name: 'candidate_test' }]);
  await c.startRequests.createIndexes([{ key: { test_id: 1, status: 1 }, name: 'test_status' }]);
  return c;
}
