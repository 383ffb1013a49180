import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Caller } from '@ap/protocol';
import { findAssessment, findAssessments } from '../services/assessment/src/repository.ts';
import { setup } from './support/setup.ts';
import type { TestStack } from './support/setup.ts';

/**
 * Concurrent writers of one assessment, through two replicas of the assessment service (the
 * queue group spreads the requests, so they race across processes and caches) and read back
 * from the database with the test's own client.
 */
let stack: TestStack;
let testId: string;
const ITEMS = 12;
const LIMIT_S = 1800;
const STAFF: Caller = { user_id: 'admin-concurrency', role: 'admin' };

before(async () => {
  stack = await setup({ replicas: { assessment: 2 } });
  testId = await stack.createTest({ id: 'concurrency', title: 'Concurrent writers', time_limit_s: LIMIT_S, strategy: 'fixed' }, ITEMS);
});
after(async () => {
  await stack.close();
});

type Code = string | undefined;
const codeOf = (err: unknown): Code => (typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined);

async function started(): Promise<{ caller: Caller; assessmentId: string }> {
  const c = await stack.inviteCandidate(testId);
  const caller: Caller = { user_id: c.user_id, role: 'candidate', tests: [testId] };
  const r = await stack.bus.request('assessmentStart', { caller, test_id: testId });
  assert.ok('assessment_id' in r);
  return { caller, assessmentId: r.assessment_id };
}

async function currentQuestion(caller: Caller, assessmentId: string): Promise<{ id: string; options: string[] }> {
  const q = await stack.bus.request('assessmentQuestion', { caller, assessment_id: assessmentId });
  assert.ok(q.question !== null);
  return { id: q.question.question_id, options: q.question.options.map((o) => o.id) };
}

describe('concurrent writers of one assessment', () => {
  test('different answers to one question at once: exactly one is stored, the others are CONFLICT', async () => {
    const { caller, assessmentId } = await started();
    const q = await currentQuestion(caller, assessmentId);
    assert.ok(q.options.length >= 3, 'the question has several options');
    // Every option twice, all at once.
    const sent = [...q.options, ...q.options];
    const outcomes = await Promise.allSettled(
      sent.map((selected_option) =>
        stack.bus.request('assessmentAnswer', { caller, assessment_id: assessmentId, question_id: q.id, selected_option }),
      ),
    );
    const accepted = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [sent[i]] : []));
    const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [codeOf(o.reason)] : []));
    const winner = accepted[0];
    assert.ok(winner !== undefined, 'one answer was accepted');
    assert.deepEqual(accepted, [winner, winner], 'only the winning option was accepted (its second copy as a retry)');
    assert.deepEqual(new Set(refused), new Set(['CONFLICT']), `the other options were refused as CONFLICT: ${refused.join(',')}`);
    assert.equal(refused.length, sent.length - 2);

    const stored = await findAssessment(stack.db, { _id: assessmentId });
    const responses = stored?.responses.filter((r) => r.item_id === q.id) ?? [];
    assert.deepEqual(
      responses.map((r) => r.selected_option),
      [winner],
      'one response stored for the question, with the accepted option',
    );
    const events = await stack.db
      .collection<{ _id: string; response?: { item_id: string } }>('assessment_events')
      .countDocuments({ _id: { $regex: `^${assessmentId}:` }, 'response.item_id': q.id });
    assert.equal(events, 1, 'one answer event stored');
  });

  test('concurrent starts of one candidate make one assessment', async () => {
    const c = await stack.inviteCandidate(testId);
    const caller: Caller = { user_id: c.user_id, role: 'candidate', tests: [testId] };
    const replies = await Promise.all(Array.from({ length: 6 }, () => stack.bus.request('assessmentStart', { caller, test_id: testId })));
    const ids = new Set(replies.map((r) => ('assessment_id' in r ? r.assessment_id : 'none')));
    assert.equal(ids.size, 1, `one assessment id in every reply: ${[...ids].join(',')}`);
    const stored = await findAssessments(stack.db, { candidate_id: c.user_id, test_id: testId });
    assert.equal(stored.length, 1, 'one assessment stored');
    assert.equal(stored[0]?._id, [...ids][0]);
  });

  test('answers, pauses, resumes and extra time interleaved: every acknowledged change is stored once and the deadline adds up', async () => {
    const { caller, assessmentId } = await started();
    const initial = await findAssessment(stack.db, { _id: assessmentId });
    assert.ok(initial !== null);
    const acknowledged: string[] = [];
    let extraGranted = 0;
    const expected = new Set(['ASSESSMENT_NOT_ACTIVE', 'CONFLICT']);

    /** One try at the current question: acknowledged, or refused with a code a paused or raced assessment gives. */
    async function answerOnce(): Promise<void> {
      try {
        const q = await currentQuestion(caller, assessmentId);
        await stack.bus.request('assessmentAnswer', {
          caller,
          assessment_id: assessmentId,
          question_id: q.id,
          selected_option: q.options[0] ?? 'A',
        });
        acknowledged.push(q.id);
      } catch (err) {
        assert.ok(expected.has(codeOf(err) ?? ''), String(err));
      }
    }

    // Each round races a pause, a grant of extra time and an answer, then resumes and answers.
    for (let i = 0; i < 4; i++) {
      const seconds = 10 + i;
      const [pause, extra] = await Promise.allSettled([
        stack.bus.request('assessmentCommand', { caller: STAFF, assessment_id: assessmentId, command: 'pause', reason: `p${i}` }),
        stack.bus.request('assessmentExtraTime', { caller: STAFF, assessment_id: assessmentId, seconds, reason: `e${i}`, key: `e${i}` }),
        answerOnce(),
      ]);
      assert.equal(pause.status, 'fulfilled', pause.status === 'rejected' ? String(pause.reason) : '');
      assert.equal(extra.status, 'fulfilled', extra.status === 'rejected' ? String(extra.reason) : '');
      extraGranted += seconds;
      // The same grant again (a retried command with its key) adds nothing.
      await stack.bus.request('assessmentExtraTime', {
        caller: STAFF,
        assessment_id: assessmentId,
        seconds,
        reason: `e${i}`,
        key: `e${i}`,
      });
      await Promise.all([
        stack.bus.request('assessmentCommand', { caller: STAFF, assessment_id: assessmentId, command: 'resume', reason: `r${i}` }),
        answerOnce(),
      ]);
      await answerOnce();
    }
    while (acknowledged.length < ITEMS) await answerOnce();

    const a = await findAssessment(stack.db, { _id: assessmentId });
    assert.ok(a !== null);
    assert.equal(a.status, 'completed');
    assert.deepEqual(
      a.responses.map((r) => r.item_id),
      acknowledged,
      'the stored answers are the acknowledged ones, in order, once each',
    );
    const kinds = a.log.map((e) => e.type);
    assert.equal(kinds.filter((k) => k === 'extra_time').length, 4, 'four grants stored');
    assert.equal(kinds.filter((k) => k === 'pause').length, 4);
    assert.equal(kinds.filter((k) => k === 'resume').length, 4);
    // Deadline = the first one + the time granted + each pause's length.
    let paused = 0;
    let pausedAt: Date | undefined;
    for (const e of a.log) {
      if (e.type === 'pause') pausedAt = e.at;
      if (e.type === 'resume' && pausedAt !== undefined) {
        paused += e.at.getTime() - pausedAt.getTime();
        pausedAt = undefined;
      }
    }
    assert.equal(extraGranted, 10 + 11 + 12 + 13);
    assert.equal(a.deadline.getTime(), initial.deadline.getTime() + extraGranted * 1000 + paused);
  });
});
