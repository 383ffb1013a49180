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

async function proctorSocket(email: string, password: string, roomId: string): Promise<RawSocket> {
  const login = await stack.bus.request('authLogin', { email, password });
  const s = await openRaw(`${stack.wsUrl}/ws/chat?room_id=${roomId}&token=${login.token}`);
  await s.waitFor((f) => f.type === 'auth_success');
  return s;
}

describe('proctors: commands, chat and integrity incidents', () => {
  test('pause, resume, extra time and terminate change what the candidate sees and what is stored', async () => {
    const c = await stack.inviteCandidate();
    const cand = await openRaw(`${stack.wsUrl}/ws/assessment?token=${c.token}`);
    await cand.waitFor((f) => f.type === 'auth_success');
    cand.send({ type: 'start_assessment', data: {}, id: 's' });
    const started = await cand.reply('s');
    const assessmentId = String(started.data['assessment_id']);
    const proctor = await proctorSocket(stack.seed.proctor.email, stack.seed.proctor.password, `asm_${assessmentId}`);

    // Chat both ways, live, in the assessment room.
    cand.send({ type: 'chat_message', data: { message: 'Is a calculator allowed?' }, id: 'c1' });
    const seen = await proctor.waitFor((f) => f.type === 'chat_message' && f.data['text'] === 'Is a calculator allowed?');
    assert.equal(seen.data['sender_role'], 'candidate');
    proctor.send({ type: 'chat_message', data: { message: 'No calculators, sorry.' }, id: 'p1' });
    const answer = await cand.waitFor((f) => f.type === 'chat_message' && f.data['text'] === 'No calculators, sorry.');
    assert.equal(answer.data['sender_role'], 'proctor');

    // An integrity incident from the candidate's client is stored.
    cand.send({ type: 'integrity_event', data: { kind: 'tab_hidden', at: new Date().toISOString() }, id: 'i1' });
    assert.equal((await cand.reply('i1')).data['incidents'], 1);

    // Pause: the candidate is told, cannot continue, and the clock stands still.
    proctor.send({ type: 'pause_assessment', data: { assessment_id: assessmentId, reason: 'fire drill' }, id: 'pause' });
    assert.equal((await proctor.reply('pause')).data['status'], 'paused');
    assert.equal((await cand.waitFor((f) => f.type === 'assessment_paused')).data['reason'], 'fire drill');
    cand.send({ type: 'get_question', data: {}, id: 'q-paused' });
    const refused = await cand.reply('q-paused');
    assert.equal(refused.data['code'], 'ASSESSMENT_NOT_ACTIVE');
    assert.equal((refused.data['details'] as { status: string }).status, 'paused');
    const before = await findAssessment(stack.db, { _id: assessmentId });
    await new Promise((r) => setTimeout(r, 1500));
    proctor.send({ type: 'resume_assessment', data: { assessment_id: assessmentId }, id: 'resume' });
    assert.equal((await proctor.reply('resume')).data['status'], 'in_progress');
    const resumed = await cand.waitFor((f) => f.type === 'assessment_resumed');
    const moved = new Date(String(resumed.data['deadline'])).getTime() - (before?.deadline.getTime() ?? 0);
    assert.ok(moved >= 1400 && moved < 5000, `the deadline moved by the paused time (${moved} ms)`);

    // Extra time; the same command again (a retry with its key) adds nothing.
    proctor.send({ type: 'extra_time', data: { assessment_id: assessmentId, seconds: 120, key: 'extra-1' }, id: 'extra' });
    const extended = await proctor.reply('extra');
    assert.equal(extended.type, 'assessment_status');
    assert.equal((await cand.waitFor((f) => f.type === 'time_extended')).data['extra_s'], 120);
    proctor.send({ type: 'extra_time', data: { assessment_id: assessmentId, seconds: 120, key: 'extra-1' }, id: 'extra-again' });
    assert.equal((await proctor.reply('extra-again')).data['deadline'], extended.data['deadline']);

    // A proctor of another test may not touch it.
    const otherToken = await stack.staffToken('other-proctor@test.example', 'proctor', ['another-test']);
    const outsider = await openRaw(`${stack.wsUrl}/ws/chat?token=${otherToken}`);
    await outsider.waitFor((f) => f.type === 'auth_success');
    outsider.send({ type: 'terminate_assessment', data: { assessment_id: assessmentId, reason: 'no' }, id: 't' });
    assert.equal((await outsider.reply('t')).data['code'], 'FORBIDDEN');
    outsider.ws.close();

    // Terminate with a reason.
    proctor.send({ type: 'terminate_assessment', data: { assessment_id: assessmentId, reason: 'phone in use' }, id: 'term' });
    assert.equal((await proctor.reply('term')).data['status'], 'terminated');
    const ended = await cand.waitFor((f) => f.type === 'assessment_completed');
    assert.equal(ended.data['status'], 'terminated');
    const doc = await findAssessment(stack.db, { _id: assessmentId });
    assert.ok(doc);
    assert.equal(doc.status, 'terminated');
    assert.deepEqual(
      doc.log.map((e) => [e.type, e.by]),
      ['pause', 'resume', 'extra_time', 'terminate'].map((t) => [t, stack.seed.proctor.user_id]),
    );
    assert.equal(doc.log[3]?.['reason'], 'phone in use');
    assert.equal(doc.incidents?.length, 1);
    assert.equal(doc.result?.incidents, 1);
    // A candidate cannot command.
    cand.send({ type: 'pause_assessment', data: { assessment_id: assessmentId }, id: 'cp' });
    assert.equal((await cand.reply('cp')).data['code'], 'FORBIDDEN');
    cand.ws.close();
    proctor.ws.close();
  });
});

describe('a paused assessment', () => {
  test('reports the same seconds left in every frame, however long the pause', async () => {
    const c = await stack.inviteCandidate();
    const cand = await openRaw(`${stack.wsUrl}/ws/assessment?token=${c.token}`);
    await cand.waitFor((f) => f.type === 'auth_success');
    cand.send({ type: 'start_assessment', data: {}, id: 's' });
    const assessmentId = String((await cand.reply('s')).data['assessment_id']);
    cand.send({ type: 'get_question', data: {}, id: 'q' });
    await cand.reply('q');
    const proctor = await proctorSocket(stack.seed.proctor.email, stack.seed.proctor.password, `asm_${assessmentId}`);
    proctor.send({ type: 'watch_assessments', data: {}, id: 'w' });
    await proctor.reply('w');
    proctor.send({ type: 'pause_assessment', data: { assessment_id: assessmentId, reason: 'check' }, id: 'pause' });
    const paused = await proctor.reply('pause');
    // Long enough for a clock that kept running to lose more than a second.
    await new Promise((r) => setTimeout(r, 2200));

    const seen: Record<string, unknown> = { pause_reply: paused.data['time_remaining_s'] };
    cand.send({ type: 'get_progress', data: {}, id: 'p' });
    seen['progress_update'] = (await cand.reply('p')).data['time_remaining_s'];
    // A new connection resuming it: the started frame and its current question.
    const again = await openRaw(`${stack.wsUrl}/ws/assessment?token=${c.token}`);
    await again.waitFor((f) => f.type === 'auth_success');
    again.send({ type: 'start_assessment', data: {}, id: 's2' });
    const resumed = await again.reply('s2');
    seen['assessment_started'] = resumed.data['time_remaining_s'];
    seen['current_question'] = (resumed.data['current_question'] as { time_remaining_s?: number } | null)?.time_remaining_s;
    proctor.send({ type: 'watch_assessments', data: {}, id: 'w2' });
    const rows = (await proctor.reply('w2')).data['assessments'] as { assessment_id: string; time_remaining_s: number }[];
    seen['live_assessments'] = rows.find((r) => r.assessment_id === assessmentId)?.time_remaining_s;

    const values = new Set(Object.values(seen));
    assert.equal(values.size, 1, `one value in every frame: ${JSON.stringify(seen)}`);
    assert.equal(typeof paused.data['time_remaining_s'], 'number');
    for (const s of [cand, again, proctor]) s.ws.close();
  });
});
