import { randomUUID } from 'node:crypto';
import { computeResult, loadTest } from '../../services/assessment/src/selection.ts';
import type { AssessmentDoc, EventDoc, ItemDoc, TestDoc } from '../../services/assessment/src/store.ts';
import type { Db } from 'mongodb';

/** Documents per insert command while seeding. */
const BATCH = 500;

/**
 * Adds finished assessments of `testId` straight through the store until `target` assessments
 * are stored: each one as the service leaves it (a final snapshot with its responses, and one
 * event per answer), so that the collections the answer path reads have the size they would have
 * after that many candidates. Returns how many it added.
 */
export async function seedStoredAssessments(
  db: Db,
  testId: string,
  target: number,
  onProgress: (done: number, total: number) => void,
): Promise<number> {
  // The collections by name (not the service's openCollections), so that the same seeding also
  // runs against an older service for a baseline.
  const col = {
    assessments: db.collection<AssessmentDoc>('assessments'),
    events: db.collection<EventDoc>('assessment_events'),
    tests: db.collection<TestDoc>('tests'),
    items: db.collection<ItemDoc>('items'),
  };
  const have = await col.assessments.estimatedDocumentCount();
  const missing = Math.max(0, target - have);
  const test = await col.tests.findOne({ _id: testId });
  if (test === null) throw new Error(`test ${testId} not found`);
  const items = await col.items.find({ _id: { $in: test.items } }).toArray();
  const loaded = loadTest(test, items);
  let heads: AssessmentDoc[] = [];
  let events: EventDoc[] = [];
  const flush = async (): Promise<void> => {
    if (heads.length > 0) await col.assessments.insertMany(heads, { ordered: false });
    for (let i = 0; i < events.length; i += BATCH) await col.events.insertMany(events.slice(i, i + BATCH), { ordered: false });
    heads = [];
    events = [];
  };
  for (let n = 0; n < missing; n++) {
    const id = randomUUID();
    const started = new Date(Date.now() - 3_600_000 - n * 1000);
    const responses = items.map((item, index) => {
      const option = item.options[(n + index) % item.options.length]?.id ?? 'a';
      const at = new Date(started.getTime() + (index + 1) * 20_000);
      return {
        item_id: item._id,
        index,
        skill: item.skill,
        selected_option: option,
        correct: option === item.key,
        asked_at: at,
        answered_at: at,
      };
    });
    const finishedAt = new Date(started.getTime() + (responses.length + 1) * 20_000);
    const final: AssessmentDoc = {
      _id: id,
      attempt_key: `stored-${id}:${testId}:1`,
      test_id: testId,
      candidate_id: `stored-${id}`,
      candidate_name: `Stored ${n}`,
      test_title: test.title,
      application_id: null,
      status: 'completed',
      strategy: test.strategy,
      seed: id,
      planned: { min: responses.length, max: responses.length },
      started_at: started,
      deadline: new Date(started.getTime() + test.time_limit_s * 1000),
      finished_at: finishedAt,
      reason: 'all_answered',
      current: null,
      responses,
      result: computeResult(loaded, responses),
      log: [],
      version: responses.length,
      created_at: started,
      updated_at: finishedAt,
    };
    heads.push(final);
    for (const [index, response] of responses.entries()) {
      const last = index === responses.length - 1;
      events.push({
        _id: `${id}:${index + 1}`,
        seq: index + 1,
        set: last
          ? {
              status: 'completed',
              reason: 'all_answered',
              finished_at: finishedAt,
              current: null,
              result: final.result,
              updated_at: finishedAt,
            }
          : {
              current: { item_id: responses[index + 1]?.item_id ?? '', index: index + 1, asked_at: response.answered_at },
              updated_at: response.answered_at,
            },
        response,
      });
    }
    if (heads.length >= BATCH / 10) await flush();
    if ((n + 1) % 100 === 0 || n + 1 === missing) onProgress(n + 1, missing);
  }
  await flush();
  return missing;
}
