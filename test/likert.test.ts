import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { jetstream } from '@nats-io/jetstream';
import type { Caller, Question } from '@ap/protocol';
import { findAssessment } from '../services/assessment/src/repository.ts';
import type { AssessmentDoc, ItemDoc } from '../services/assessment/src/store.ts';
import { runAdmin } from './support/admin.ts';
import { setup } from './support/setup.ts';
import type { TestStack } from './support/setup.ts';

let stack: TestStack;
let dir: string;

before(async () => {
  stack = await setup();
  dir = await mkdtemp(join(tmpdir(), 'likert-'));
});

after(async () => {
  await (stack as TestStack | undefined)?.close();
  if ((dir as string | undefined) !== undefined) await rm(dir, { recursive: true, force: true });
});

const ADMIN: Caller = { user_id: 'system', role: 'admin' };

/** The `answered` events of one assessment in the ASSESSMENT_EVENTS stream, read with an ordered consumer. */
async function answeredEvents(assessmentId: string): Promise<{ question_id: string; correct: boolean; category?: number }[]> {
  const consumer = await jetstream(stack.bus.nc).consumers.get('ASSESSMENT_EVENTS', { filter_subjects: ['assessment.v1.events.answered'] });
  const found: { assessment_id: string; question_id: string; correct: boolean; category?: number }[] = [];
  const messages = await consumer.fetch({ max_messages: 10_000, expires: 3000 });
  for await (const m of messages) {
    found.push(m.json());
    if (m.info.pending === 0) break;
  }
  return found.filter((e) => e.assessment_id === assessmentId);
}

/** A bank that mixes 3PL single choices, GRM Likert items and GPCM partial-credit items, as an author writes it in YAML. */
const BANK = `
items:
  - { id: lk-mc-1, skill: reasoning, stem: "2 + 2?", options: [{ id: a, text: "3" }, { id: b, text: "4" }], key: b, a: 1.2, b: -0.5, c: 0.2 }
  - { id: lk-mc-2, skill: reasoning, stem: "3 × 3?", options: [{ id: a, text: "9" }, { id: b, text: "6" }], key: a, a: 1.0, b: 0.3, c: 0.2 }
  - { id: lk-mc-3, skill: reasoning, stem: "10 / 4?", options: [{ id: a, text: "2" }, { id: b, text: "2.5" }], key: b, a: 1.4, b: 0.8, c: 0.1 }
  - id: lk-1
    skill: teamwork
    type: likert
    stem: I ask colleagues for help when I am stuck.
    options:
      - { id: sd, text: Strongly disagree }
      - { id: d, text: Disagree }
      - { id: n, text: Neither agree nor disagree }
      - { id: ag, text: Agree }
      - { id: sa, text: Strongly agree }
    a: 1.6
    thresholds: [-1.5, -0.5, 0.5, 1.5]
  - id: lk-2
    skill: teamwork
    type: likert
    stem: I explain my decisions to the team.
    options:
      - { id: sd, text: Strongly disagree }
      - { id: d, text: Disagree }
      - { id: ag, text: Agree }
      - { id: sa, text: Strongly agree }
  - id: lk-pc-1
    skill: reasoning
    type: partial_credit
    stem: Which steps of the proof did you complete?
    options:
      - { id: none, text: None }
      - { id: half, text: The first lemma }
      - { id: all, text: The whole proof }
    model: GPCM
    a: 1.3
    thresholds: [-0.4, 0.6]
`;
const POLY = new Map([
  ['lk-1', ['sd', 'd', 'n', 'ag', 'sa']],
  ['lk-2', ['sd', 'd', 'ag', 'sa']],
  ['lk-pc-1', ['none', 'half', 'all']],
]);
const ITEMS = ['lk-mc-1', 'lk-mc-2', 'lk-mc-3', 'lk-1', 'lk-2', 'lk-pc-1'];
const KEYS: Record<string, string> = { 'lk-mc-1': 'b', 'lk-mc-2': 'a', 'lk-mc-3': 'b' };

type Level = 'low' | 'middle' | 'high';

/** The category a candidate of this level chooses among `count`. */
const categoryFor = (level: Level, count: number): number => (level === 'low' ? 0 : level === 'high' ? count - 1 : 1);

/**
 * Takes the test over the bus: every single choice right, every Likert and partial-credit
 * question at the level's category (the middle candidate names the category by its number).
 */
async function take(
  testId: string,
  level: Level,
): Promise<{ doc: AssessmentDoc; questions: Question[]; feedback: Record<string, unknown>[] }> {
  const c = await stack.inviteCandidate(testId);
  const caller: Caller = { user_id: c.user_id, role: 'candidate', tests: [testId] };
  const started = await stack.bus.request('assessmentStart', { caller, test_id: testId });
  assert.ok('assessment_id' in started);
  const questions: Question[] = [];
  const feedback: Record<string, unknown>[] = [];
  let q = (await stack.bus.request('assessmentQuestion', { caller, assessment_id: started.assessment_id })).question;
  while (q !== null) {
    questions.push(q);
    const options = POLY.get(q.question_id);
    const category = options === undefined ? undefined : categoryFor(level, options.length);
    const selected =
      category === undefined ? (KEYS[q.question_id] ?? 'a') : level === 'middle' ? String(category) : (options?.[category] ?? 'x');
    const r = await stack.bus.request('assessmentAnswer', {
      caller,
      assessment_id: started.assessment_id,
      question_id: q.question_id,
      selected_option: selected,
    });
    feedback.push(r.feedback);
    q = r.feedback.next_question ?? null;
  }
  const doc = await findAssessment(stack.db, { _id: started.assessment_id });
  assert.ok(doc);
  return { doc, questions, feedback };
}

describe('Likert and partial-credit questions', () => {
  test('a bank that gives a key to a Likert item, or GRM thresholds out of order, imports nothing and names the field', async () => {
    const bad = `
- { id: lk-bad-1, skill: s, type: likert, stem: Q, options: [{ id: x, text: "no" }, { id: y, text: "yes" }], key: y }
- { id: lk-bad-2, skill: s, type: likert, stem: Q, options: [{ id: x, text: "a" }, { id: y, text: "b" }, { id: z, text: "c" }], thresholds: [1, -1] }
`;
    await writeFile(join(dir, 'bad.yaml'), bad);
    const out = await runAdmin(stack, ['import', join(dir, 'bad.yaml')]);
    assert.equal(out.code, 1, out.stdout);
    assert.match(out.stderr, /item lk-bad-1, field key: a likert item has no key/);
    assert.match(out.stderr, /item lk-bad-2, field thresholds: GRM thresholds must increase/);
    assert.equal(await stack.db.collection<ItemDoc>('items').countDocuments({ _id: { $in: ['lk-bad-1', 'lk-bad-2'] } }), 0);
  });

  test('an adaptive test mixing 3PL, GRM and GPCM items scores the categories the candidates choose', async () => {
    await writeFile(join(dir, 'bank.yaml'), BANK);
    const imported = await runAdmin(stack, ['import', join(dir, 'bank.yaml')]);
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /imported 6 items/);
    const lk2 = await stack.db.collection<ItemDoc>('items').findOne({ _id: 'lk-2' });
    assert.deepEqual(
      [lk2?.['type'], lk2?.['model'], lk2?.['a'], lk2?.['thresholds'], lk2?.['key']],
      ['likert', 'GRM', 1, [-1, 0, 1], undefined],
    );

    const { test_id: testId } = await stack.bus.request('testCreate', {
      caller: { user_id: stack.seed.recruiter.user_id, role: 'recruiter' },
      definition: {
        id: 'likert-mixed',
        title: 'Reasoning and teamwork',
        time_limit_s: 900,
        strategy: 'adaptive',
        items: ITEMS,
        stopping: { min_items: ITEMS.length, max_items: ITEMS.length },
        feedback: { show_correctness: true, show_score: true },
      },
      items: [],
    });
    const runs = { low: await take(testId, 'low'), middle: await take(testId, 'middle'), high: await take(testId, 'high') };

    for (const [level, run] of Object.entries(runs) as [Level, (typeof runs)[Level]][]) {
      assert.equal(run.doc.status, 'completed', level);
      assert.deepEqual(new Set(run.questions.map((q) => q.question_id)), new Set(ITEMS), `${level}: every item asked once`);
      for (const q of run.questions) {
        assert.equal(
          q.type,
          POLY.get(q.question_id) === undefined ? 'single_choice' : q.question_id === 'lk-pc-1' ? 'partial_credit' : 'likert',
        );
        assert.ok(!JSON.stringify(q).includes('threshold'), 'no item parameters reach the candidate');
      }
      for (const r of run.doc.responses) {
        const options = POLY.get(r.item_id);
        if (options === undefined) {
          assert.equal(r.category, undefined);
          assert.equal(r.correct, true, `${level}: ${r.item_id}`);
          continue;
        }
        const category = categoryFor(level, options.length);
        assert.equal(r.category, category, `${level}: ${r.item_id}`);
        assert.equal(r.selected_option, options[category], `${level}: the option id is stored, whatever named it`);
        assert.equal(r.correct, false);
      }
      for (const f of run.feedback) {
        const poly = POLY.get(String(f['question_id']));
        assert.equal('correct' in f, poly === undefined, `${level}: correctness only for single choices`);
        assert.equal(f['category'], poly === undefined ? undefined : categoryFor(level, poly.length));
      }
      const result = run.doc.result;
      assert.ok(result);
      assert.equal(result.answered, ITEMS.length);
      assert.equal(result.number_correct, 3, `${level}: only the single choices count as correct`);
      assert.equal(result.percent_correct, 100);
      assert.deepEqual(
        (result.trace as { item_id: string; category?: number }[]).filter((t) => POLY.has(t.item_id)).map((t) => t.category),
        run.doc.responses.filter((r) => POLY.has(r.item_id)).map((r) => r.category),
      );
    }
    const theta = (level: Level): number => runs[level].doc.result?.theta ?? Number.NaN;
    assert.ok(theta('high') > theta('middle'), `θ high ${theta('high')} > middle ${theta('middle')}`);
    assert.ok(theta('middle') > theta('low'), `θ middle ${theta('middle')} > low ${theta('low')}`);

    const { results } = await stack.bus.request('assessmentResults', { caller: ADMIN, test_id: testId });
    assert.equal(results.length, 3);
    for (const row of results) {
      const run = Object.values(runs).find((r) => r.doc._id === row.assessment_id);
      assert.ok(run, 'a row of each candidate');
      assert.equal(row.result?.number_correct, 3);
      assert.equal(row.result.theta, run.doc.result?.theta);
      assert.equal(row.answered, ITEMS.length);
    }

    const report = await stack.bus.request('assessmentReport', { caller: ADMIN, test_id: testId, assessment_id: runs.high.doc._id });
    const lk1 = report.answers.find((a) => a.item_id === 'lk-1');
    assert.deepEqual([lk1?.selected_option, lk1?.category, lk1?.correct], ['sa', 4, false]);
    assert.equal(report.answers.find((a) => a.item_id === 'lk-mc-1')?.category, undefined);

    // The stream's answered events carry the category of likert and partial-credit answers.
    const answered = await answeredEvents(runs.high.doc._id);
    assert.equal(answered.length, ITEMS.length);
    for (const e of answered) {
      const options = POLY.get(e.question_id);
      assert.equal(e.category, options === undefined ? undefined : categoryFor('high', options.length), e.question_id);
      assert.equal(e.correct, options === undefined);
    }

    const stats = await stack.bus.request('itemStats', { caller: ADMIN, test_id: testId });
    const byId = new Map(stats.items.map((i) => [i.item_id, i] as const));
    // Categories 0, 1 and 4 of five; 0, 1 and 3 of four; 0, 1 and 2 of three.
    assert.deepEqual(
      [byId.get('lk-1')?.mean_category, byId.get('lk-1')?.proportion_correct, byId.get('lk-1')?.type],
      [1.667, null, 'likert'],
    );
    assert.equal(byId.get('lk-2')?.mean_category, 1.333);
    assert.equal(byId.get('lk-pc-1')?.mean_category, 1);
    assert.deepEqual([byId.get('lk-mc-1')?.proportion_correct, byId.get('lk-mc-1')?.mean_category], [1, undefined]);
  });
});
