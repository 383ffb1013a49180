import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { findAssessment } from '../services/assessment/src/repository.ts';
import type { TestDefinitionInput } from '@ap/protocol';
import { openRaw, setup } from './support/setup.ts';
import type { RawSocket, TestStack } from './support/setup.ts';

let stack: TestStack;

before(async () => {
  stack = await setup({ env: { SWEEP_INTERVAL_MS: '500', PRESENCE_INTERVAL_MS: '500' } });
});

after(async () => {
  await (stack as TestStack | undefined)?.close();
});

function createTest(definition: Omit<TestDefinitionInput, 'items'>): Promise<string> {
  return stack.createTest(definition, 5);
}

/** A candidate connected to a test, with the assessment started. */
async function startCandidate(testId: string): Promise<{ s: RawSocket; token: string; assessmentId: string; userId: string }> {
  const c = await stack.inviteCandidate(testId);
  const s = await openRaw(`${stack.wsUrl}/ws/assessment?token=${c.token}`);
  await s.waitFor((f) => f.type === 'auth_success');
  s.send({ type: 'start_assessment', data: {}, id: 'start' });
  const started = await s.reply('start');
  assert.equal(started.type, 'assessment_started', JSON.stringify(started));
  return { s, token: c.token, assessmentId: String(started.data['assessment_id']), userId: c.user_id };
}

async function answerOne(s: RawSocket, n: number): Promise<string> {
  s.send({ type: 'get_question', data: {}, id: `q${n}` });
  const q = await s.reply(`q${n}`);
  assert.equal(q.type, 'question', JSON.stringify(q));
  s.send({ type: 'submit_answer', data: { question_id: q.data['question_id'], selected_option: 'a' }, id: `a${n}` });
  assert.equal((await s.reply(`a${n}`)).type, 'answer_feedback');
  return String(q.data['question_id']);
}

describe('sessions that survive: server time, recovery, one live connection, presence', () => {
  test('a reconnect resumes with the current question, what was answered and the time left', async () => {
    const { s, token } = await startCandidate(stack.seed.test_id);
    const first = await answerOne(s, 0);
    s.send({ type: 'get_question', data: {}, id: 'pending' });
    const pending = await s.reply('pending');
    s.ws.terminate();
    const again = await openRaw(`${stack.wsUrl}/ws/assessment?token=${token}`);
    await again.waitFor((f) => f.type === 'auth_success');
    again.send({ type: 'start_assessment', data: {}, id: 'resume' });
    const resumed = await again.reply('resume');
    assert.equal(resumed.data['resumed'], true);
    assert.deepEqual(resumed.data['answered_question_ids'], [first]);
    assert.equal((resumed.data['current_question'] as { question_id: string }).question_id, pending.data['question_id']);
    assert.ok((resumed.data['time_remaining_s'] as number) > 1700);
    again.ws.close();
  });

  test('a newer connection takes over: the older one gets session_replaced and close 4409', async () => {
    const { s, token, assessmentId } = await startCandidate(stack.seed.test_id);
    const tab2 = await openRaw(`${stack.wsUrl}/ws/assessment?token=${token}`);
    await tab2.waitFor((f) => f.type === 'auth_success');
    tab2.send({ type: 'start_assessment', data: {}, id: 's2' });
    assert.equal((await tab2.reply('s2')).data['assessment_id'], assessmentId);
    const replaced = await s.waitFor((f) => f.type === 'session_replaced');
    assert.equal(replaced.data['assessment_id'], assessmentId);
    assert.equal((await s.closed).code, 4409);
    await answerOne(tab2, 0);
    tab2.ws.close();
  });

  test('time warnings come from the server deadline; extra time moves the deadline and the warnings', async () => {
    const testId = await createTest({ id: 'warned', title: 'Warned', time_limit_s: 14, strategy: 'fixed', time_warnings_s: [11] });
    const { s, assessmentId } = await startCandidate(testId);
    const warning = await s.waitFor((f) => f.type === 'time_warning', 8000);
    assert.ok(Math.abs((warning.data['time_remaining_s'] as number) - 11) <= 1, JSON.stringify(warning));
    const before = await findAssessment(stack.db, { _id: assessmentId });
    const extended = await stack.bus.request('assessmentExtraTime', {
      caller: { user_id: stack.seed.proctor.user_id, role: 'proctor', tests: ['warned'] },
      assessment_id: assessmentId,
      seconds: 30,
      reason: 'accommodation',
    });
    const push = await s.waitFor((f) => f.type === 'time_extended');
    assert.equal(push.data['extra_s'], 30);
    assert.equal(push.data['deadline'], extended.deadline);
    const after = await findAssessment(stack.db, { _id: assessmentId });
    assert.ok(before && after);
    assert.equal(after.deadline.getTime() - before.deadline.getTime(), 30_000);
    const entry = after.log[0];
    assert.ok(entry);
    assert.equal(entry.type, 'extra_time');
    assert.equal(entry.by, stack.seed.proctor.user_id);
    // A candidate cannot give themselves time.
    await assert.rejects(
      stack.bus.request('assessmentExtraTime', { caller: { user_id: after.candidate_id, role: 'candidate' }, assessment_id: assessmentId, seconds: 60 }),
      (e: Error & { code?: string }) => e.code === 'FORBIDDEN',
    );
    s.ws.close();
  });

  test('with a grace period the candidate may submit after the deadline but not answer; after it the assessment is abandoned', async () => {
    const testId = await createTest({ id: 'graceful', title: 'Grace', time_limit_s: 10, strategy: 'fixed', on_expiry: 'grace', grace_s: 6 });
    const [submitter, absent] = await Promise.all([startCandidate(testId), startCandidate(testId)]);
    await answerOne(submitter.s, 0);
    await answerOne(absent.s, 0);
    absent.s.ws.close();
    const overdue = await submitter.s.waitFor((f) => f.type === 'time_warning' && f.data['time_remaining_s'] === 0, 15_000);
    assert.ok(overdue);
    assert.equal((await findAssessment(stack.db, { _id: submitter.assessmentId }))?.status, 'overdue');
    submitter.s.send({ type: 'get_question', data: {}, id: 'late-q' });
    const refused = await submitter.s.reply('late-q');
    assert.equal(refused.data['code'], 'TIME_EXPIRED');
    submitter.s.send({ type: 'end_assessment', data: {}, id: 'end' });
    const ended = await submitter.s.reply('end');
    assert.equal(ended.type, 'assessment_completed');
    assert.equal(ended.data['status'], 'completed');
    // The absent one passes the grace period and is abandoned by the sweep, finish time = the deadline.
    const deadline = Date.now() + 15_000;
    let doc = await findAssessment(stack.db, { _id: absent.assessmentId });
    while (doc?.status !== 'abandoned' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 300));
      doc = await findAssessment(stack.db, { _id: absent.assessmentId });
    }
    assert.equal(doc?.status, 'abandoned');
    assert.equal(doc.responses.length, 1);
    assert.equal(doc.finished_at?.getTime(), doc.deadline.getTime());
    // Reconnecting shows the outcome.
    const back = await openRaw(`${stack.wsUrl}/ws/assessment?token=${absent.token}`);
    await back.waitFor((f) => f.type === 'auth_success');
    back.send({ type: 'start_assessment', data: {}, id: 'again' });
    const outcome = await back.reply('again');
    assert.equal(outcome.type, 'assessment_completed');
    assert.equal(outcome.data['status'], 'abandoned');
    back.ws.close();
    submitter.s.ws.close();
  });

  test('with no live connection for longer than the test allows, the assessment becomes abandoned; a connected one does not', async () => {
    const testId = await createTest({ id: 'watched', title: 'Watched', time_limit_s: 600, strategy: 'fixed', abandon_after_s: 2 });
    const [present, gone] = await Promise.all([startCandidate(testId), startCandidate(testId)]);
    gone.s.ws.close();
    const deadline = Date.now() + 15_000;
    let doc = await findAssessment(stack.db, { _id: gone.assessmentId });
    while (doc?.status !== 'abandoned' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 300));
      doc = await findAssessment(stack.db, { _id: gone.assessmentId });
    }
    assert.equal(doc?.status, 'abandoned');
    assert.equal(doc.reason, 'abandoned');
    assert.equal((await findAssessment(stack.db, { _id: present.assessmentId }))?.status, 'in_progress');
    present.s.ws.close();
  });

  test('started, answered and completed events reach the JetStream stream', async () => {
    // The test's own connection (the operator's NATS user) may read the stream.
    const jsm = await jetstreamManager(stack.bus.nc);
    const info = await jsm.streams.info('ASSESSMENT_EVENTS');
    assert.ok(info.state.messages > 0);
    for (const kind of ['started', 'answered', 'completed', 'expired']) {
      const last = await jsm.streams.getMessage('ASSESSMENT_EVENTS', { last_by_subj: `assessment.v1.events.${kind}` });
      assert.ok(last, kind);
      assert.ok(last.header.get('Nats-Msg-Id').length > 0, `${kind} carries a message id`);
    }
  });
});
