import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createRng, prob3pl } from '@ap/cat';
import type { Caller } from '@ap/protocol';
import { findAssessment } from '../services/assessment/src/repository.ts';
import type { AssessmentDoc, ItemDoc } from '../services/assessment/src/store.ts';
import { runAdmin } from './support/admin.ts';
import { finishedAssessment, insertAssessments } from './support/finished.ts';
import { setup } from './support/setup.ts';
import type { TestStack } from './support/setup.ts';

/**
 * `npm run admin -- calibrate`: the items of a test calibrated from its finished assessments,
 * a report in JSON and SVG, and the parameters stored only with --apply.
 */
let stack: TestStack;
let work: string;
let testId: string;
/** The scored items, then the pretest ones. */
let itemIds: string[];
let pretestIds: string[];
const ITEMS = 8;
/** Items being tried out, each asked to half of the examinees. */
const PRETEST = 2;
const EXAMINEES = 1500;
/** The parameters the simulated answers follow. */
const truth = Array.from({ length: ITEMS + PRETEST }, (_, j) => ({ a: 0.8 + 0.12 * j, b: -1.5 + (3 * j) / (ITEMS + PRETEST - 1) }));

before(async () => {
  stack = await setup();
  work = await mkdtemp(join(tmpdir(), 'ap-calibrate-'));
  const demo = await stack.db.collection<{ _id: string; items: string[] }>('tests').findOne({ _id: stack.seed.test_id });
  pretestIds = demo?.items.slice(ITEMS, ITEMS + PRETEST) ?? [];
  testId = await stack.createTest(
    { id: 'calibrate', title: 'To calibrate', time_limit_s: 1800, strategy: 'fixed', pretest: { items: pretestIds, rate: 0.2 } },
    ITEMS,
  );
  const test = await stack.db.collection<{ _id: string; items: string[] }>('tests').findOne({ _id: testId });
  itemIds = [...(test?.items ?? []), ...pretestIds];
  assert.equal(itemIds.length, ITEMS + PRETEST);
});
after(async () => {
  await stack.close();
  await rm(work, { recursive: true, force: true });
});

/** Finished assessments as the service leaves them, with answers drawn from the 2PL at each simulee's θ. */
async function seedFinished(): Promise<void> {
  const items = await stack.db
    .collection<ItemDoc>('items')
    .find({ _id: { $in: itemIds } })
    .toArray();
  const byId = new Map(items.map((i) => [i._id, i]));
  const rng = createRng('calibration-e2e');
  const docs: AssessmentDoc[] = [];
  for (let n = 0; n < EXAMINEES; n++) {
    const theta = rng.normal();
    const at = new Date(Date.now() - 3_600_000);
    // Every scored item, and one of the two pretest items (alternately).
    const asked = itemIds.filter((_, j) => j < ITEMS || j === ITEMS + (n % PRETEST));
    const responses = asked.map((id, index) => {
      const j = itemIds.indexOf(id);
      const item = byId.get(id) as ItemDoc;
      const right = rng.next() < prob3pl(theta, truth[j]?.a ?? 1, truth[j]?.b ?? 0, 0);
      const selected = right ? (item.key ?? 'x') : (item.options.find((o) => o.id !== item.key)?.id ?? 'x');
      return { item_id: id, index, skill: item.skill, selected_option: selected, correct: right, asked_at: at, answered_at: at };
    });
    docs.push(finishedAssessment({ testId, title: 'To calibrate', n, at, responses, planned: { min: ITEMS, max: ITEMS + 1 } }));
  }
  await insertAssessments(stack.db, docs);
}

describe('item calibration from the platform’s own data', () => {
  test('refused for people other than admins, and for a test without finished assessments', async () => {
    for (const caller of [
      { user_id: stack.seed.recruiter.user_id, role: 'recruiter' as const },
      { user_id: 'someone', role: 'candidate' as const },
    ]) {
      await assert.rejects(
        stack.bus.request('itemsCalibrate', { caller, test_id: testId }),
        (err: Error & { code?: string }) => err.code === 'FORBIDDEN',
      );
    }
    const r = await runAdmin(stack, ['calibrate', testId, '--out', work]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /VALIDATION_FAILED: .*no finished assessment/);
    const bad = await runAdmin(stack, ['calibrate', testId, '--model', '4PL']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /usage: /);
  });

  test('reports estimates near the parameters the answers follow, changes nothing without --apply, and stores them with it', async () => {
    await seedFinished();
    const items = stack.db.collection<ItemDoc>('items');
    const before = await items.find({ _id: { $in: itemIds } }).toArray();

    const dry = await runAdmin(stack, ['calibrate', testId, '--out', work]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(
      dry.stdout,
      new RegExp(`calibrated ${ITEMS + PRETEST} of ${ITEMS + PRETEST} items \\(2PL\\) from ${EXAMINEES} finished assessments`),
    );
    assert.match(dry.stdout, /nothing changed/);
    const report = JSON.parse(await readFile(join(work, `calibration-${testId}.json`), 'utf8')) as {
      items: { id: string; pretest: boolean; a: number; b: number; se: { a: number; b: number }; estimated: boolean; n: number }[];
      converged: boolean;
    };
    assert.ok(report.converged);
    report.items.forEach((it, j) => {
      assert.equal(it.id, itemIds[j]);
      assert.equal(it.pretest, j >= ITEMS, 'pretest items are calibrated with the scored ones, and named as such');
      assert.equal(it.n, j < ITEMS ? EXAMINEES : EXAMINEES / PRETEST);
      const t = truth[j] as { a: number; b: number };
      // Within four standard errors of the truth (and the errors are small with 1,500 answers).
      assert.ok(Math.abs(it.b - t.b) <= 4 * it.se.b + 0.05, `b of ${it.id}: ${it.b} ± ${it.se.b} against ${t.b}`);
      assert.ok(Math.abs(it.a - t.a) <= 4 * it.se.a + 0.05, `a of ${it.id}: ${it.a} ± ${it.se.a} against ${t.a}`);
      assert.ok(it.se.b < 0.25);
    });
    const svg = await readFile(join(work, `calibration-${testId}.svg`), 'utf8');
    assert.ok(svg.startsWith('<svg') && svg.trimEnd().endsWith('</svg>'));
    assert.equal([...svg.matchAll(/r="4" fill="#/g)].length, ITEMS + PRETEST + 2, 'one marker per item and two legend markers');
    assert.deepEqual(await items.find({ _id: { $in: itemIds } }).toArray(), before, 'a dry run changes no item');

    const applied = await runAdmin(stack, ['calibrate', testId, '--out', work, '--apply']);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, new RegExp(`${ITEMS + PRETEST} items updated`));
    const after = await items.find({ _id: { $in: itemIds } }).toArray();
    for (const it of after) {
      const j = itemIds.indexOf(it._id);
      const reported = report.items[j];
      assert.ok(reported !== undefined);
      assert.ok(Math.abs((it.a ?? 0) - reported.a) < 0.01 && Math.abs((it.b ?? 0) - reported.b) < 0.01, `${it._id} stored`);
    }
  });

  test('a candidate is asked the pretest items among the scored ones, and the result counts only the scored ones', async () => {
    const always = await stack.createTest(
      {
        id: 'pretest-always',
        title: 'Pretest first',
        time_limit_s: 1800,
        strategy: 'fixed',
        pretest: { items: pretestIds, rate: 1, max_per_assessment: PRETEST },
      },
      ITEMS,
    );
    const c = await stack.inviteCandidate(always);
    const caller: Caller = { user_id: c.user_id, role: 'candidate', tests: [always] };
    const started = await stack.bus.request('assessmentStart', { caller, test_id: always });
    assert.ok('assessment_id' in started);
    const asked: string[] = [];
    let q = (await stack.bus.request('assessmentQuestion', { caller, assessment_id: started.assessment_id })).question;
    while (q !== null) {
      asked.push(q.question_id);
      const r = await stack.bus.request('assessmentAnswer', {
        caller,
        assessment_id: started.assessment_id,
        question_id: q.question_id,
        selected_option: q.options[0]?.id ?? 'A',
      });
      q = r.feedback.next_question ?? null;
    }
    // With rate 1 both pretest items come first, then every scored item once.
    assert.deepEqual(new Set(asked.slice(0, PRETEST)), new Set(pretestIds));
    assert.equal(asked.length, ITEMS + PRETEST);
    const stored = await findAssessment(stack.db, { _id: started.assessment_id });
    assert.equal(stored?.status, 'completed');
    assert.equal(stored.responses.length, ITEMS + PRETEST, 'the pretest answers are stored');
    assert.equal(stored.result?.answered, ITEMS, 'and not scored');
  });
});
