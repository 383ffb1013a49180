import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { findAssessment } from '../services/assessment/src/repository.ts';
import { openRaw, setup } from './support/setup.ts';
import type { RawSocket, TestStack } from './support/setup.ts';

let stack: TestStack;

before(async () => {
  stack = await setup();
});

after(async () => {
  await (stack as TestStack | undefined)?.close();
});

type Frame = RawSocket['frames'][number];

/** Plays a whole assessment over a raw socket; returns the acknowledged answers and the final frame. */
async function play(token: string, testId: string, label: string): Promise<{ acknowledged: Map<string, string>; completed: Frame; assessmentId: string }> {
  const s = await openRaw(`${stack.wsUrl}/ws/assessment?token=${encodeURIComponent(token)}`);
  await s.waitFor((f) => f.type === 'auth_success');
  s.send({ type: 'start_assessment', data: { test_id: testId }, id: 'start' });
  const started = await s.reply('start');
  assert.equal(started.type, 'assessment_started', JSON.stringify(started));
  assert.equal(started.data['resumed'], false);
  const assessmentId = String(started.data['assessment_id']);
  const acknowledged = new Map<string, string>();
  let n = 0;
  for (;;) {
    const qid = `q${n}`;
    s.send({ type: 'get_question', data: {}, id: qid });
    const q = await s.reply(qid);
    if (q.type === 'assessment_completed') return { acknowledged, completed: q, assessmentId };
    assert.equal(q.type, 'question', JSON.stringify(q));
    assert.ok(!JSON.stringify(q).includes('"key"'), 'a question never carries its key');
    const options = q.data['options'] as { id: string }[];
    const choice = (options[(n * 7 + label.length) % options.length] as { id: string }).id;
    const aid = `a${n}`;
    s.send({ type: 'submit_answer', data: { question_id: q.data['question_id'], selected_option: choice }, id: aid });
    const fb = await s.reply(aid);
    assert.equal(fb.type, 'answer_feedback', JSON.stringify(fb));
    assert.equal(fb.data['accepted'], true);
    acknowledged.set(String(q.data['question_id']), choice);
    if (n === 3) {
      s.send({ type: 'get_progress', data: {}, id: 'p' });
      const p = await s.reply('p');
      assert.equal(p.type, 'progress_update');
      assert.equal(p.data['answered'], 4);
      s.send({ type: 'heartbeat', data: {}, id: 'hb' });
      assert.equal((await s.reply('hb')).type, 'heartbeat_ack');
      s.send({ type: 'chat_message', data: { message: `hello from ${label}` }, id: 'chat' });
      const chat = await s.reply('chat');
      assert.equal(chat.type, 'chat_message', JSON.stringify(chat));
      assert.equal(chat.data['text'], `hello from ${label}`);
    }
    if (fb.data['finished'] === true) {
      const done = await s.waitFor((f) => f.type === 'assessment_completed');
      s.ws.close();
      return { acknowledged, completed: done, assessmentId };
    }
    n += 1;
    assert.ok(n < 200, 'the assessment ends');
  }
}

describe('the whole assessment flow across five services', () => {
  test('three candidates complete at once and every acknowledged answer is stored', async () => {
    const candidates = await Promise.all([0, 1, 2].map(() => stack.inviteCandidate()));
    const runs = await Promise.all(candidates.map((c, i) => play(c.token, stack.seed.test_id, `candidate-${i}`)));
    for (const [i, run] of runs.entries()) {
      assert.equal(run.completed.data['status'], 'completed');
      assert.equal(run.acknowledged.size, 30);
      const doc = await findAssessment(stack.db, { _id: run.assessmentId });
      assert.ok(doc, 'the assessment is stored');
      assert.equal(doc.status, 'completed');
      assert.equal(doc.candidate_id, candidates[i]?.user_id);
      assert.equal(doc.responses.length, run.acknowledged.size);
      for (const r of doc.responses) assert.equal(r.selected_option, run.acknowledged.get(r.item_id));
      assert.ok(doc.result, 'the result is stored');
      assert.equal(doc.result.answered, 30);
      assert.equal(new Set(doc.responses.map((r) => r.item_id)).size, 30, 'no question repeated');
    }
    const applications = await stack.db.collection('applications').find({ _id: { $in: candidates.map((c) => c.application_id) } as never }).toArray();
    assert.equal(applications.length, 3);
    for (const a of applications) assert.equal(a['status'], 'completed');
    const messages = await stack.db.collection('chat_messages').countDocuments({ room_id: { $in: runs.map((r) => `asm_${r.assessmentId}`) } });
    assert.equal(messages, 3);
  });

  test('answers are idempotent: the same answer again returns the stored feedback, another is CONFLICT', async () => {
    const c = await stack.inviteCandidate();
    const s = await openRaw(`${stack.wsUrl}/ws/assessment`, { authorization: `Bearer ${c.token}` });
    await s.waitFor((f) => f.type === 'auth_success');
    s.send({ type: 'start_assessment', data: {}, id: 's' });
    const started = await s.reply('s');
    assert.equal(started.type, 'assessment_started');
    s.send({ type: 'get_question', data: {}, id: 'q' });
    const q = await s.reply('q');
    const qid = q.data['question_id'];
    const [first, second] = (q.data['options'] as { id: string }[]).map((o) => o.id);
    s.send({ type: 'submit_answer', data: { question_id: qid, selected_option: first }, id: 'a1' });
    const feedback = await s.reply('a1');
    assert.equal(feedback.type, 'answer_feedback');
    // The feedback names the next question: the one get_question then returns.
    const announced = feedback.data['next_question'] as Record<string, unknown> | undefined;
    assert.ok(announced !== undefined && announced['question_id'] !== qid, JSON.stringify(feedback.data));
    s.send({ type: 'get_question', data: {}, id: 'q2' });
    const asked = await s.reply('q2');
    assert.equal(asked.data['question_id'], announced['question_id']);
    assert.deepEqual(asked.data['options'], announced['options']);
    s.send({ type: 'submit_answer', data: { question_id: qid, selected_option: first }, id: 'a2' });
    const again = await s.reply('a2');
    assert.equal(again.type, 'answer_feedback');
    assert.equal(again.data['answered'], 1);
    assert.equal((again.data['next_question'] as Record<string, unknown> | undefined)?.['question_id'], announced['question_id']);
    s.send({ type: 'submit_answer', data: { question_id: qid, selected_option: second }, id: 'a3' });
    const conflict = await s.reply('a3');
    assert.equal(conflict.type, 'error');
    assert.equal(conflict.data['code'], 'CONFLICT');
    const doc = await findAssessment(stack.db, { _id: String(started.data['assessment_id']) });
    assert.ok(doc);
    assert.equal(doc.responses.length, 1);
    assert.equal(doc.responses[0]?.selected_option, first);
    // A reconnect resumes the same assessment instead of creating a second one.
    s.ws.close();
    const again2 = await openRaw(`${stack.wsUrl}/ws/assessment?token=${c.token}`);
    await again2.waitFor((f) => f.type === 'auth_success');
    again2.send({ type: 'start_assessment', data: {}, id: 's2' });
    const resumed = await again2.reply('s2');
    assert.equal(resumed.data['resumed'], true);
    assert.equal(resumed.data['assessment_id'], started.data['assessment_id']);
    assert.equal(resumed.data['answered'], 1);
    again2.send({ type: 'end_assessment', data: {}, id: 'e' });
    const ended = await again2.reply('e');
    assert.equal(ended.type, 'assessment_completed');
    assert.equal(ended.data['reason'], 'candidate_ended');
    again2.ws.close();
  });

  test('the HTTP API signs staff in and redeems invitations', async () => {
    const ok = await fetch(`${stack.httpUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: stack.seed.recruiter.email, password: stack.seed.recruiter.password }),
    });
    assert.equal(ok.status, 200);
    const body = (await ok.json()) as { token: string; role: string };
    assert.equal(body.role, 'recruiter');
    const bad = await fetch(`${stack.httpUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: stack.seed.recruiter.email, password: 'wrong-password' }),
    });
    assert.equal(bad.status, 401);
    assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'AUTH_INVALID');
    const garbage = await fetch(`${stack.httpUrl}/api/auth/invitations/redeem`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{not json',
    });
    assert.equal(garbage.status, 400);
    const c = await stack.inviteCandidate();
    const redeemed = await fetch(`${stack.httpUrl}/api/auth/invitations/redeem`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: c.code }),
    });
    assert.equal(redeemed.status, 200);
    assert.equal(((await redeemed.json()) as { test_id: string }).test_id, stack.seed.test_id);
    assert.equal((await fetch(`${stack.httpUrl}/healthz`)).status, 200);
    assert.equal((await fetch(`${stack.httpUrl}/readyz`)).status, 200);
  });
});
