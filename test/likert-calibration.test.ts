import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createRng, drawCategory, prob3pl } from '@ap/cat';
import type { PolyItemParams } from '@ap/cat';
import type { AssessmentDoc, ItemDoc } from '../services/assessment/src/store.ts';
import { runAdmin } from './support/admin.ts';
import { finishedAssessment, insertAssessments } from './support/finished.ts';
import { setup } from './support/setup.ts';
import type { TestStack } from './support/setup.ts';

/**
 * `npm run admin -- calibrate` on a test of Likert, partial-credit and single-choice items: the
 * GRM and GPCM items are estimated from their stored categories (not skipped), and --apply stores
 * their discrimination and thresholds.
 */
let stack: TestStack;
let work: string;
let testId: string;
const EXAMINEES = 1500;
const SCALE = ['Strongly disagree', 'Disagree', 'Neither', 'Agree', 'Strongly agree'].map((text, i) => ({ id: `s${i}`, text }));
const STEPS = ['None', 'Half', 'Most', 'All'].map((text, i) => ({ id: `p${i}`, text }));
/** The parameters the simulated answers follow; the items are authored with the defaults (a = 1, evenly spaced thresholds). */
const truth: Record<string, PolyItemParams | { a: number; b: number; c: number }> = {
  'lc-1': { model: 'GRM', a: 1.6, b: [-1.8, -0.6, 0.3, 1.5] },
  'lc-2': { model: 'GRM', a: 0.7, b: [-0.9, 0, 0.8, 2.1] },
  'lc-3': { model: 'GRM', a: 1.2, b: [-2.2, -1.4, -0.5, 0.6] },
  'lc-4': { model: 'GPCM', a: 1.4, b: [-0.6, 0.2, 1.3] },
  'lc-5': { model: 'GPCM', a: 0.8, b: [-1.2, 0.5, -0.2] },
  'lc-6': { a: 1.1, b: -0.4, c: 0 },
  'lc-7': { a: 1.5, b: 0.7, c: 0 },
  'lc-8': { a: 0.9, b: 0.1, c: 0 },
};
const ids = Object.keys(truth);
const isPoly = (t: (typeof truth)[string]): t is PolyItemParams => 'model' in t;

before(async () => {
  stack = await setup();
  work = await mkdtemp(join(tmpdir(), 'ap-likert-calibrate-'));
  const items = ids.map((id) => {
    const t = truth[id] as (typeof truth)[string];
    if (!isPoly(t)) return { id, skill: 'reasoning', stem: `Question ${id}`, options: STEPS, key: 'p1' };
    return t.model === 'GRM'
      ? { id, skill: 'teamwork', type: 'likert' as const, stem: `Statement ${id}`, options: SCALE }
      : { id, skill: 'reasoning', type: 'partial_credit' as const, stem: `Task ${id}`, options: STEPS };
  });
  ({ test_id: testId } = await stack.bus.request('testCreate', {
    caller: { user_id: stack.seed.recruiter.user_id, role: 'recruiter' },
    definition: { id: 'likert-calibrate', title: 'Scales to calibrate', time_limit_s: 1800, strategy: 'fixed', items: ids },
    items,
  }));
});
after(async () => {
  await stack.close();
  await rm(work, { recursive: true, force: true });
});

/** Finished assessments as the service leaves them: categories drawn from the GRM/GPCM, single choices from the 2PL. */
async function seedFinished(): Promise<void> {
  const rng = createRng('likert-calibration-e2e');
  const docs: AssessmentDoc[] = [];
  for (let n = 0; n < EXAMINEES; n++) {
    const theta = rng.normal();
    const at = new Date(Date.now() - 3_600_000);
    const responses = ids.map((id, index) => {
      const t = truth[id] as (typeof truth)[string];
      const base = { item_id: id, index, skill: isPoly(t) && t.model === 'GRM' ? 'teamwork' : 'reasoning', asked_at: at, answered_at: at };
      if (isPoly(t)) {
        const category = drawCategory(t, theta, rng.next());
        const options = t.model === 'GRM' ? SCALE : STEPS;
        return { ...base, selected_option: options[category]?.id ?? 'x', correct: false, category };
      }
      const right = rng.next() < prob3pl(theta, t.a, t.b, t.c);
      return { ...base, selected_option: right ? 'p1' : 'p0', correct: right };
    });
    docs.push(
      finishedAssessment({ testId, title: 'Scales to calibrate', n, at, responses, planned: { min: ids.length, max: ids.length } }),
    );
  }
  await insertAssessments(stack.db, docs);
}

describe('calibrating Likert and partial-credit items from the platform’s own data', () => {
  test('GRM and GPCM items are estimated from their categories, reported with their location, and stored with --apply', async () => {
    await seedFinished();
    const items = stack.db.collection<ItemDoc>('items');
    const before = await items.find({ _id: { $in: ids } }).toArray();
    assert.ok(
      before.filter((i) => i.type === 'likert').every((i) => i.thresholds === undefined && i.a === undefined),
      'authored with the defaults',
    );

    const dry = await runAdmin(stack, ['calibrate', testId, '--out', work]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(
      dry.stdout,
      new RegExp(`calibrated ${ids.length} of ${ids.length} items \\(2PL\\) from ${EXAMINEES} finished assessments`),
    );
    const report = JSON.parse(await readFile(join(work, `calibration-${testId}.json`), 'utf8')) as {
      items: {
        id: string;
        a: number;
        b: number;
        c: number;
        p_value: number;
        se: { a: number; b: number; thresholds?: number[] };
        model?: string;
        thresholds?: number[];
        estimated: boolean;
        n: number;
      }[];
    };
    for (const it of report.items) {
      const t = truth[it.id] as (typeof truth)[string];
      assert.ok(it.estimated, `${it.id} estimated, not skipped`);
      assert.equal(it.n, EXAMINEES);
      // b of a polytomous item is its location, the mean of its thresholds.
      const location = isPoly(t) ? t.b.reduce((s, v) => s + v, 0) / t.b.length : t.b;
      assert.ok(Math.abs(it.b - location) <= 4 * it.se.b + 0.05, `location of ${it.id}: ${it.b} ± ${it.se.b} against ${location}`);
      assert.ok(Math.abs(it.a - t.a) <= 4 * it.se.a + 0.05, `a of ${it.id}: ${it.a} ± ${it.se.a} against ${t.a}`);
      if (!isPoly(t)) {
        assert.equal(it.thresholds, undefined);
        continue;
      }
      assert.equal(it.c, 0);
      // The report gives the model and every threshold with its standard error.
      assert.equal(it.model, t.model);
      assert.equal(it.thresholds?.length, t.b.length, `thresholds of ${it.id}`);
      assert.equal(it.se.thresholds?.length, t.b.length);
      it.thresholds.forEach((b, k) => {
        const se = it.se.thresholds?.[k] ?? 0;
        assert.ok(
          se > 0 && Math.abs(b - (t.b[k] ?? 99)) <= 4 * se + 0.05,
          `threshold ${String(k)} of ${it.id}: ${b} ± ${se} against ${t.b[k]}`,
        );
      });
    }
    assert.deepEqual(await items.find({ _id: { $in: ids } }).toArray(), before, 'a dry run changes no item');

    const applied = await runAdmin(stack, ['calibrate', testId, '--out', work, '--apply']);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, new RegExp(`${ids.length} items updated`));
    const stored = await items.find({ _id: { $in: ids } }).toArray();
    for (const it of stored) {
      const t = truth[it._id] as (typeof truth)[string];
      if (!isPoly(t)) {
        assert.ok(Math.abs((it.b ?? 99) - t.b) < 0.3, `b of ${it._id}`);
        continue;
      }
      assert.equal(it.model, t.model);
      assert.equal(it.b, undefined, 'no b on a polytomous item');
      assert.ok(Math.abs((it.a ?? 0) - t.a) < 0.3, `a of ${it._id}: ${it.a} against ${t.a}`);
      const thresholds = it.thresholds ?? [];
      assert.equal(thresholds.length, t.b.length);
      thresholds.forEach((b, k) =>
        assert.ok(Math.abs(b - (t.b[k] as number)) < 0.35, `threshold ${k} of ${it._id}: ${b} against ${t.b[k]}`),
      );
    }
    // The stored parameters are valid test content: the test still loads and asks its first question.
    const candidate = await stack.inviteCandidate(testId);
    const caller = { user_id: candidate.user_id, role: 'candidate' as const, tests: [testId] };
    const started = await stack.bus.request('assessmentStart', { caller, test_id: testId });
    assert.ok('assessment_id' in started);
    const q = await stack.bus.request('assessmentQuestion', { caller, assessment_id: started.assessment_id });
    assert.ok(q.question !== null);
  });
});
