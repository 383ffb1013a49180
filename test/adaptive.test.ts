import assert from 'node:assert/strict';
import { findAssessment, findAssessments } from '../services/assessment/src/repository.ts';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { AssessmentDoc, ItemDoc } from '../services/assessment/src/store.ts';
import { ADAPTIVE_SKILLS, ADAPTIVE_TEST_ID } from '@ap/demo';
import { openRaw, setup } from './support/setup.ts';
import type { TestStack } from './support/setup.ts';

let stack: TestStack;

before(async () => {
  stack = await setup();
});

after(async () => {
  await (stack as TestStack | undefined)?.close();
});

type Played = { doc: AssessmentDoc; skillsSeen: string[]; progress: Record<string, unknown>; completed: Record<string, unknown> };

/** Plays the adaptive demo test, answering right or wrong on purpose (the test reads the keys from the database). */
async function playAdaptive(answerCorrectly: boolean): Promise<Played> {
  const items = new Map((await stack.db.collection<ItemDoc>('items').find({}).toArray()).map((i) => [i._id, i] as const));
  const c = await stack.inviteCandidate(ADAPTIVE_TEST_ID);
  const s = await openRaw(`${stack.wsUrl}/ws/assessment?token=${c.token}`);
  await s.waitFor((f) => f.type === 'auth_success');
  s.send({ type: 'start_assessment', data: {}, id: 'start' });
  const started = await s.reply('start');
  assert.equal(started.type, 'assessment_started', JSON.stringify(started));
  assert.deepEqual((started.data['test'] as { planned_items: unknown }).planned_items, { min: 10, max: 20 });
  const skillsSeen: string[] = [];
  let progress: Record<string, unknown> = {};
  for (let n = 0; n < 25; n++) {
    s.send({ type: 'get_question', data: {}, id: `q${n}` });
    const q = await s.reply(`q${n}`);
    assert.equal(q.type, 'question', JSON.stringify(q));
    const item = items.get(String(q.data['question_id']));
    assert.ok(item);
    assert.equal(q.data['skill'], item.skill);
    skillsSeen.push(item.skill);
    const wrong = item.options.find((o) => o.id !== item.key)?.id ?? 'a';
    s.send({ type: 'submit_answer', data: { question_id: item._id, selected_option: answerCorrectly ? item.key : wrong }, id: `a${n}` });
    const fb = await s.reply(`a${n}`);
    assert.equal(fb.type, 'answer_feedback');
    if (n === 5) {
      s.send({ type: 'get_progress', data: {}, id: 'p' });
      progress = (await s.reply('p')).data;
    }
    if (fb.data['finished'] === true) {
      const completed = await s.waitFor((f) => f.type === 'assessment_completed');
      s.ws.close();
      const doc = await findAssessment(stack.db, { _id: String(started.data['assessment_id']) });
      assert.ok(doc);
      return { doc, skillsSeen, progress, completed: completed.data };
    }
  }
  throw new Error('the adaptive test did not stop within 25 items');
}

describe('the adaptive demo test through the gateway', () => {
  test('questions adapt to the answers, skills follow their targets, and the result carries θ, SE, skills and the trace', async () => {
    const [strong, weak] = await Promise.all([playAdaptive(true), playAdaptive(false)]);
    const items = new Map((await stack.db.collection<ItemDoc>('items').find({}).toArray()).map((i) => [i._id, i] as const));
    const meanB = (doc: AssessmentDoc, from: number, to: number) => {
      const bs = doc.responses.slice(from, to).map((r) => items.get(r.item_id)?.b ?? 0);
      return bs.reduce((x, y) => x + y, 0) / bs.length;
    };
    for (const [label, run] of [
      ['all correct', strong],
      ['all wrong', weak],
    ] as const) {
      const doc = run.doc;
      assert.equal(doc.status, 'completed', label);
      assert.ok(doc.responses.length >= 10 && doc.responses.length <= 20, `${label}: ${doc.responses.length} items`);
      assert.equal(new Set(doc.responses.map((r) => r.item_id)).size, doc.responses.length, 'no item repeated');
      // Content balancing: four skills with equal shares stay within one item of each other.
      const counts = ADAPTIVE_SKILLS.map((skill) => doc.responses.filter((r) => r.skill === skill).length);
      assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `${label}: skill counts ${counts.join(',')}`);
      assert.ok(doc.result);
      assert.equal(typeof doc.result.theta, 'number');
      assert.equal(typeof doc.result.se, 'number');
      assert.equal(doc.result.trace.length, doc.responses.length);
      assert.equal(doc.result.skills.length, 4);
      for (const s of doc.result.skills) assert.equal(typeof s.theta, 'number', `${label}: θ for ${s.skill}`);
      assert.equal(typeof run.completed['score'], 'number');
      const p = run.progress as { planned_range: unknown; skills: { skill: string; answered: number }[] };
      assert.deepEqual(p.planned_range, { min: 10, max: 20 });
      assert.equal(p.skills.reduce((x, s) => x + s.answered, 0), 6);
    }
    const strongTheta = strong.doc.result?.theta ?? 0;
    const weakTheta = weak.doc.result?.theta ?? 0;
    assert.ok(strongTheta > 1.5, `all correct gives a high θ (${strongTheta})`);
    assert.ok(weakTheta < -1.5, `all wrong gives a low θ (${weakTheta})`);
    // Difficulty follows the answers: harder items after correct answers, easier after wrong ones.
    assert.ok(meanB(strong.doc, 5, 10) > meanB(strong.doc, 0, 2) + 0.5, 'items get harder after correct answers');
    assert.ok(meanB(weak.doc, 5, 10) < meanB(weak.doc, 0, 2) - 0.5, 'items get easier after wrong answers');
    assert.ok((strong.completed['score'] as number) > (weak.completed['score'] as number));
  });

  test('the CLI client plays the adaptive test to the end', async () => {
    const c = await stack.inviteCandidate(ADAPTIVE_TEST_ID);
    const cli = fileURLToPath(new URL('../libs/client/src/cli.ts', import.meta.url));
    const out = await new Promise<{ code: number | null; text: string }>((resolve) => {
      const child = spawn(process.execPath, [cli, '--url', `${stack.wsUrl}/ws/assessment`, '--code', c.code, '--seed', '3'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (d: Buffer) => (text += d.toString()));
      child.stderr.on('data', (d: Buffer) => (text += d.toString()));
      child.on('close', (code) => resolve({ code, text }));
    });
    assert.equal(out.code, 0, out.text);
    assert.match(out.text, /completed=true/);
    const doc = await findAssessment(stack.db, { candidate_id: c.user_id });
    assert.equal(doc?.status, 'completed');
    assert.ok(doc.responses.length >= 10 && doc.responses.length <= 20);
  });

  test('exposure parameters are updated from usage by the admin command, and results carry a percentile', async () => {
    const finished = await findAssessments(stack.db, { test_id: ADAPTIVE_TEST_ID, status: 'completed' });
    assert.ok(finished.length >= 2);
    for (const a of finished) assert.equal(typeof a.result?.percentile, 'number');
    const cli = fileURLToPath(new URL('../services/assessment/src/admin-cli.ts', import.meta.url));
    const out = await new Promise<{ code: number | null; text: string }>((resolve) => {
      const child = spawn(process.execPath, [cli, 'exposure', ADAPTIVE_TEST_ID, '--r-max', '0.25', '--min-examinees', '1'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, ...stack.cliEnv },
      });
      let text = '';
      child.stdout.on('data', (d: Buffer) => (text += d.toString()));
      child.stderr.on('data', (d: Buffer) => (text += d.toString()));
      child.on('close', (code) => resolve({ code, text }));
    });
    assert.equal(out.code, 0, out.text);
    assert.match(out.text, new RegExp(`${finished.length} finished assessments`));
    // Items given to every candidate exceed r_max = 0.25, so their K drops below 1.
    const limited = await stack.db.collection<ItemDoc>('items').countDocuments({ [`exposure_k.${ADAPTIVE_TEST_ID}`]: { $lt: 1 } });
    assert.ok(limited > 0, 'some items got an exposure parameter below 1');
  });
});
