import { randomUUID } from 'node:crypto';
import type { Db } from 'mongodb';
import type { AssessmentDoc, ResponseDoc } from '../../services/assessment/src/store.ts';

/**
 * A completed assessment as the service leaves it (a snapshot with every response, no result),
 * for tests that seed many straight into the store, such as calibration from stored answers.
 */
export function finishedAssessment(o: {
  testId: string;
  title: string;
  n: number;
  at: Date;
  responses: ResponseDoc[];
  planned: { min: number; max: number };
}): AssessmentDoc {
  const _id = randomUUID();
  return {
    _id,
    attempt_key: `seeded-${_id}:${o.testId}:1`,
    test_id: o.testId,
    candidate_id: `seeded-${_id}`,
    candidate_name: `Seeded ${String(o.n)}`,
    test_title: o.title,
    application_id: null,
    status: 'completed',
    strategy: 'fixed',
    seed: _id,
    planned: o.planned,
    started_at: o.at,
    deadline: new Date(o.at.getTime() + 1_800_000),
    finished_at: o.at,
    reason: 'all_answered',
    current: null,
    responses: o.responses,
    result: null,
    log: [],
    version: o.responses.length + 1,
    created_at: o.at,
    updated_at: o.at,
  };
}

/** Inserts assessments 500 at a time. */
export async function insertAssessments(db: Db, docs: readonly AssessmentDoc[]): Promise<void> {
  for (let i = 0; i < docs.length; i += 500) await db.collection<AssessmentDoc>('assessments').insertMany(docs.slice(i, i + 500));
}
