import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ask, nextFrame, openAuthed, setup } from './support/setup.ts';
import type { RawSocket, TestStack } from './support/setup.ts';

let stack: TestStack;
let testId: string;
let otherTestId: string;

const LIMIT_S = 15 * 60;
const PRACTICE = {
  stem: 'Practice: what is 2 + 2?',
  options: [
    { id: 'a', text: '3' },
    { id: 'b', text: '4' },
  ],
  answer: 'b',
};

before(async () => {
  stack = await setup();
  testId = await stack.createTest(
    {
      id: 'gated',
      title: 'Starts when a proctor approves',
      time_limit_s: LIMIT_S,
      strategy: 'fixed',
      proctored: true,
      start_requires_approval: true,
      practice: PRACTICE,
    },
    3,
  );
  otherTestId = await stack.createTest({ id: 'gated-other', title: 'Another test', time_limit_s: 600, strategy: 'fixed' }, 2);
});

after(async () => {
  await (stack as TestStack | undefined)?.close();
});

/** What the candidate has in the assessment service's collections (a start writes to each). */
async function candidateDocuments(candidateId: string): Promise<Record<string, number>> {
  const count = (name: string, filter: Record<string, unknown>) => stack.db.collection(name).countDocuments(filter);
  return {
    assessments: await count('assessments', { candidate_id: candidateId }),
    attempts: await count('assessment_attempts', { _id: { $regex: `^${candidateId}:` } }),
    applications_started: await count('applications', { candidate_id: candidateId, assessment_id: { $ne: null } }),
  };
}

function waitingOf(s: RawSocket, candidateId: string, status: string, since = 0): Promise<RawSocket['frames'][number]> {
  return nextFrame(s, since, (f) => f.type === 'start_approval' && f.data['candidate_id'] === candidateId && f.data['status'] === status);
}

describe('a start that requires a proctor’s approval', () => {
  test('the candidate waits, proctors see it live, one approves, and the clock starts only then', async () => {
    const candidate = await stack.inviteCandidate(testId);
    const proctor = await stack.staffToken('gate-proctor@example.com', 'proctor', [testId]);
    const outsider = await stack.staffToken('gate-outsider@example.com', 'proctor', [otherTestId]);
    const ps = await openAuthed(`${stack.wsUrl}/ws/chat`, proctor);
    const watch = await ask(ps, 'watch_assessments', { test_id: testId });
    assert.equal(watch.type, 'live_assessments', JSON.stringify(watch));
    assert.deepEqual(watch.data['start_requests'], []);

    const cs = await openAuthed(`${stack.wsUrl}/ws/assessment`, candidate.token);
    const info = await ask(cs, 'get_test_info');
    assert.equal(info.data['start_requires_approval'], true);
    assert.equal(info.data['start_approval'], null);
    assert.deepEqual(info.data['practice'], PRACTICE);

    // Start: a request is recorded, the candidate is told to wait, nothing of an assessment exists.
    const since = ps.frames.length;
    const waiting = await ask(cs, 'start_assessment');
    assert.equal(waiting.type, 'start_approval', JSON.stringify(waiting));
    assert.equal(waiting.data['status'], 'waiting');
    assert.equal(waiting.data['candidate_id'], candidate.user_id);
    assert.equal(waiting.data['test_id'], testId);
    const live = await waitingOf(ps, candidate.user_id, 'waiting', since);
    assert.equal(live.data['requested_at'], waiting.data['requested_at']);
    assert.deepEqual(await candidateDocuments(candidate.user_id), { assessments: 0, attempts: 0, applications_started: 0 });

    // Asking again changes nothing: one request, the same time.
    const again = await ask(cs, 'start_assessment');
    assert.equal(again.type, 'start_approval');
    assert.equal(again.data['requested_at'], waiting.data['requested_at']);
    const stored = await stack.db.collection('start_requests').find({ candidate_id: candidate.user_id }).toArray();
    assert.equal(stored.length, 1);
    assert.equal(stored[0]?._id, `${candidate.user_id}:${testId}`);
    assert.equal((await ask(cs, 'get_test_info')).data['start_approval'] !== null, true);

    // A proctor who starts watching now finds the candidate in the snapshot.
    const late = await openAuthed(`${stack.wsUrl}/ws/chat`, proctor);
    const snapshot = await ask(late, 'watch_assessments', { test_id: testId });
    const requests = snapshot.data['start_requests'] as Record<string, unknown>[];
    assert.deepEqual(
      requests.map((r) => [r['candidate_id'], r['status']]),
      [[candidate.user_id, 'waiting']],
    );
    late.ws.close();

    // Who may not approve: another test's proctor, the candidate; bad data; no such request.
    const os = await openAuthed(`${stack.wsUrl}/ws/chat`, outsider);
    assert.equal((await ask(os, 'approve_start', { candidate_id: candidate.user_id, test_id: testId })).data['code'], 'FORBIDDEN');
    os.ws.close();
    assert.equal((await ask(cs, 'approve_start', { candidate_id: candidate.user_id, test_id: testId })).data['code'], 'FORBIDDEN');
    assert.equal((await ask(ps, 'approve_start', { candidate_id: candidate.user_id })).data['code'], 'VALIDATION_FAILED');
    assert.equal((await ask(ps, 'approve_start', { candidate_id: 'nobody', test_id: testId })).data['code'], 'NOT_FOUND');
    assert.equal((await ask(cs, 'start_assessment')).type, 'start_approval', 'still waiting');

    // The proctor approves: the candidate is told, and the proctors' feed shows it.
    const beforeApproval = cs.frames.length;
    const feedSince = ps.frames.length;
    const approved = await ask(ps, 'approve_start', { candidate_id: candidate.user_id, test_id: testId });
    assert.equal(approved.type, 'start_approval', JSON.stringify(approved));
    assert.equal(approved.data['status'], 'approved');
    assert.ok(typeof approved.data['approved_by'] === 'string');
    const pushed = await waitingOf(cs, candidate.user_id, 'approved', beforeApproval);
    assert.equal(pushed.data['approved_at'], approved.data['approved_at']);
    await waitingOf(ps, candidate.user_id, 'approved', feedSince);
    assert.equal(((await ask(cs, 'get_test_info')).data['start_approval'] as Record<string, unknown>)['status'], 'approved');
    assert.deepEqual(await candidateDocuments(candidate.user_id), { assessments: 0, attempts: 0, applications_started: 0 });

    // Approving again is harmless: the same approval, no second push.
    const pushes = cs.frames.filter((f) => f.type === 'start_approval' && f.reply_to === undefined).length;
    const twice = await ask(ps, 'approve_start', { candidate_id: candidate.user_id, test_id: testId });
    assert.equal(twice.data['approved_at'], approved.data['approved_at']);
    // A push is published before the approval's reply; the candidate's next reply from the same
    // service comes after it on the same socket.
    assert.equal(((await ask(cs, 'get_test_info')).data['start_approval'] as Record<string, unknown>)['status'], 'approved');
    assert.equal(cs.frames.filter((f) => f.type === 'start_approval' && f.reply_to === undefined).length, pushes);

    // The candidate's page starts again: the clock starts now, from the full limit.
    const started = await ask(cs, 'start_assessment');
    assert.equal(started.type, 'assessment_started', JSON.stringify(started));
    assert.equal(started.data['resumed'], false);
    assert.ok(Number(started.data['time_remaining_s']) >= LIMIT_S - 2, 'the full limit at the approved start');
    assert.ok(Date.parse(String(started.data['started_at'])) >= Date.parse(String(approved.data['approved_at'])), 'started after approval');
    const row = await nextFrame(ps, feedSince, (f) => f.type === 'live_assessment' && f.data['candidate_id'] === candidate.user_id);
    assert.equal(row.data['assessment_id'], started.data['assessment_id']);

    // A reconnect resumes the same assessment without asking again.
    cs.ws.close();
    const back = await openAuthed(`${stack.wsUrl}/ws/assessment`, candidate.token);
    const resumed = await ask(back, 'start_assessment');
    assert.equal(resumed.type, 'assessment_started');
    assert.equal(resumed.data['resumed'], true);
    assert.equal(resumed.data['assessment_id'], started.data['assessment_id']);
    back.ws.close();
    ps.ws.close();
  });

  test('a test without the flag starts at once and reports no approval', async () => {
    const candidate = await stack.inviteCandidate(otherTestId);
    const s = await openAuthed(`${stack.wsUrl}/ws/assessment`, candidate.token);
    const info = await ask(s, 'get_test_info');
    assert.equal(info.data['start_requires_approval'], false);
    assert.equal(info.data['start_approval'], null);
    assert.equal(info.data['practice'], null);
    assert.equal((await ask(s, 'start_assessment')).type, 'assessment_started');
    assert.equal(await stack.db.collection('start_requests').countDocuments({ candidate_id: candidate.user_id }), 0);
    s.ws.close();
  });
});
