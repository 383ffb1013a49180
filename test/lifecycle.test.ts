import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { findAssessment } from '../services/assessment/src/repository.ts';
import { openRaw, setup } from './support/setup.ts';
import type { TestStack } from './support/setup.ts';

let stack: TestStack;

before(async () => {
  stack = await setup({ env: { SWEEP_INTERVAL_MS: '500' } });
});

after(async () => {
  await (stack as TestStack | undefined)?.close();
});

const cliPath = fileURLToPath(new URL('../libs/client/src/cli.ts', import.meta.url));

const adminPath = fileURLToPath(new URL('../services/assessment/src/admin-cli.ts', import.meta.url));

function runCli(args: string[], script = cliPath, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the CLI client and the cleanup sweep against the running services', () => {
  test('the CLI client redeems an invitation, plays the whole demo test, chats and ends', async () => {
    const c = await stack.inviteCandidate();
    const r = await runCli(['--url', `${stack.wsUrl}/ws/assessment`, '--code', c.code, '--answers', 'random', '--seed', '7', '--chat', 'Hello, proctor']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /assessment_completed/);
    assert.match(r.stdout, /completed=true/);
    const doc = await findAssessment(stack.db, { candidate_id: c.user_id });
    assert.equal(doc?.status, 'completed');
    assert.equal(doc.responses.length, 30);
    assert.equal(await stack.db.collection('chat_messages').countDocuments({ sender_id: c.user_id, text: 'Hello, proctor' }), 1);
  });

  test('the CLI client exits 2 on bad arguments and 1 on a bad invitation code', async () => {
    assert.equal((await runCli(['--answers'])).code, 2);
    const bad = await runCli(['--url', `${stack.wsUrl}/ws/assessment`, '--code', 'NOPE-NOPE-NO']);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout + bad.stderr, /AUTH_INVALID/);
  });

  test('past the deadline, cleanup expires the assessment with what was answered and the candidate is told', async () => {
    const items = (await stack.db.collection('tests').findOne({ _id: stack.seed.test_id } as never))?.['items'] as string[];
    const recruiter = { user_id: stack.seed.recruiter.user_id, role: 'recruiter' as const };
    await stack.bus.request('testCreate', {
      caller: recruiter,
      definition: { id: 'short-test', title: 'Ten seconds', time_limit_s: 10, strategy: 'fixed', items: items.slice(0, 5) },
    });
    const c = await stack.inviteCandidate('short-test');
    const s = await openRaw(`${stack.wsUrl}/ws/assessment?token=${c.token}`);
    await s.waitFor((f) => f.type === 'auth_success');
    s.send({ type: 'start_assessment', data: {}, id: 's' });
    const started = await s.reply('s');
    assert.equal(started.type, 'assessment_started', JSON.stringify(started));
    s.send({ type: 'get_question', data: {}, id: 'q' });
    const q = await s.reply('q');
    s.send({ type: 'submit_answer', data: { question_id: q.data['question_id'], selected_option: 'a' }, id: 'a' });
    assert.equal((await s.reply('a')).type, 'answer_feedback');
    // The candidate stays connected but idle; the sweep finalizes after the deadline and pushes the result.
    const pushed = await s.waitFor((f) => f.type === 'assessment_completed', 20_000);
    assert.equal(pushed.data['status'], 'expired');
    assert.equal(pushed.data['reason'], 'time_limit');
    const doc = await findAssessment(stack.db, { _id: String(started.data['assessment_id']) });
    assert.ok(doc);
    assert.equal(doc.status, 'expired');
    assert.equal(doc.responses.length, 1);
    assert.equal(doc.finished_at?.toISOString(), doc.deadline.toISOString(), 'finish time is the deadline');
    assert.equal(doc.result?.answered, 1);
    // An answer after the deadline is refused and not stored.
    s.send({ type: 'get_question', data: {}, id: 'late-q' });
    const late = await s.reply('late-q');
    assert.equal(late.type, 'assessment_completed');
    s.send({ type: 'submit_answer', data: { question_id: 'num-03', selected_option: 'a' }, id: 'late' });
    const refused = await s.reply('late');
    assert.equal(refused.type, 'error');
    assert.ok(['ASSESSMENT_NOT_ACTIVE', 'TIME_EXPIRED'].includes(String(refused.data['code'])));
    s.ws.close();
  });

  test('a bank file imports by CLI; a bad one imports nothing and names the item and field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bank-'));
    const good = join(dir, 'good.yaml');
    await writeFile(
      good,
      [
        '- {id: imp-1, skill: geography, difficulty: easy, stem: "Capital of France?", options: [{id: a, text: Paris}, {id: b, text: Rome}], key: a}',
        '- {id: imp-2, skill: geography, a: 1.3, b: 0.4, c: 0.2, stem: "Longest river?", options: [{id: a, text: Nile}, {id: b, text: Seine}], key: a}',
      ].join('\n'),
    );
    const items = stack.db.collection('items');
    const ok = await runCli(['import', good], adminPath, stack.cliEnv);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /imported 2 items/);
    const imported = await items.findOne({ _id: 'imp-2' } as never);
    assert.equal(imported?.['b'], 0.4);
    const bad = join(dir, 'bad.json');
    await writeFile(
      bad,
      JSON.stringify([
        { id: 'imp-3', skill: 'geography', stem: 'Highest mountain?', options: [{ id: 'a', text: 'Everest' }, { id: 'b', text: 'K2' }], key: 'a' },
        { id: 'imp-4', skill: 'geography', stem: 'Largest ocean?', options: [{ id: 'a', text: 'Pacific' }, { id: 'b', text: 'Indian' }], key: 'z' },
      ]),
    );
    const before = await items.countDocuments();
    const refused = await runCli(['import', bad], adminPath, stack.cliEnv);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /VALIDATION_FAILED/);
    assert.match(refused.stderr, /item imp-4, field key/);
    assert.equal(await items.countDocuments(), before, 'nothing imported');
    assert.equal(await items.countDocuments({ _id: 'imp-3' } as never), 0);
  });
});
