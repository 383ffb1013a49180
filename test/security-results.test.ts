import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { findAssessment } from '../services/assessment/src/repository.ts';
import { ADAPTIVE_TEST_ID } from '@ap/demo';
import { openRaw, setup, ask } from './support/setup.ts';
import type { RawSocket, TestStack } from './support/setup.ts';

// Issue 13, class 5: with correctness hidden, nothing that follows the answers one by one reaches
// the candidate. The θ trace did: θ rises exactly on a correct answer, so with the answer order it
// gave part of the key away.
let stack: TestStack;

before(async () => {
  stack = await setup();
});

after(async () => {
  await (stack as TestStack | undefined)?.close();
});

/** Plays a test to its end, always with the first option; returns every frame the candidate got. */
async function play(testId: string): Promise<{ frames: RawSocket['frames']; assessmentId: string }> {
  const { token } = await stack.inviteCandidate(testId);
  const s = await openRaw(`${stack.wsUrl}/ws/assessment?token=${encodeURIComponent(token)}`);
  await s.waitFor((f) => f.type === 'auth_success');
  const started = await ask(s, 'start_assessment', { test_id: testId });
  assert.equal(started.type, 'assessment_started', JSON.stringify(started));
  for (let i = 0; i < 40; i++) {
    const q = await ask(s, 'get_question');
    if (q.type !== 'question') break;
    const options = q.data['options'] as { id: string }[];
    const fb = await ask(s, 'submit_answer', { question_id: q.data['question_id'], selected_option: options[0]?.id });
    assert.equal(fb.type, 'answer_feedback', JSON.stringify(fb));
    if (fb.data['finished'] === true) break;
  }
  await s.waitFor((f) => f.type === 'assessment_completed');
  s.ws.close();
  return { frames: s.frames, assessmentId: String(started.data['assessment_id']) };
}

describe('results honour the feedback policy', () => {
  test('correctness hidden: no per-answer trace or correctness reaches the candidate; the stored result keeps the trace', async () => {
    const { frames, assessmentId } = await play(ADAPTIVE_TEST_ID);
    const completed = frames.find((f) => f.type === 'assessment_completed');
    assert.ok(completed);
    const result = completed.data['result'] as Record<string, unknown> | undefined;
    assert.ok(result, 'the score is shown (show_score)');
    assert.equal(result['trace'], undefined, 'no θ after each answer');
    for (const f of frames) {
      if (f.type === 'answer_feedback') assert.equal(f.data['correct'], undefined, 'no correctness per answer');
      assert.doesNotMatch(JSON.stringify(f.data), /"trace"/);
    }
    const stored = await findAssessment(stack.db, { _id: assessmentId });
    assert.ok(stored?.result && stored.result.trace.length > 0, 'recruiters keep the whole trace');
  });

  test('correctness shown: the trace is given', async () => {
    const testId = await stack.createTest(
      { title: 'Feedback on', time_limit_s: 600, strategy: 'fixed', feedback: { show_correctness: true, show_score: true } },
      3,
    );
    const { frames } = await play(testId);
    const completed = frames.find((f) => f.type === 'assessment_completed');
    const trace = (completed?.data['result'] as { trace?: unknown[] } | undefined)?.trace;
    assert.equal(trace?.length, 3);
    assert.ok(frames.some((f) => f.type === 'answer_feedback' && typeof f.data['correct'] === 'boolean'));
  });
});
