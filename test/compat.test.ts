import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { EXAMPLE_TEST_ID } from '@ap/demo';
import { openRaw, setup } from './support/setup.ts';
import type { RawSocket, TestStack } from './support/setup.ts';

/**
 * A client written from the protocol's own example frames: each is sent exactly as the protocol
 * document writes it (only the token is filled in), in its order, and each gets its documented reply.
 */

let stack: TestStack;

before(async () => {
  stack = await setup();
});

after(async () => {
  await (stack as TestStack | undefined)?.close();
});

/** Sends a frame given as JSON text, as a client would, and returns the next frame of `type`. */
async function exchange(s: RawSocket, text: string, type: string): Promise<Record<string, unknown>> {
  const seen = s.frames.length;
  s.ws.send(text);
  const frame = await s.waitFor((f) => f.type === type || (f.type === 'error' && s.frames.indexOf(f) >= seen), 10_000);
  assert.equal(frame.type, type, `${text} → ${JSON.stringify(frame)}`);
  return frame.data;
}

describe('the protocol example frames, verbatim', () => {
  test('/ws/assessment: auth, start with test_id 123, question, answer "A", progress, chat, heartbeat, end', async () => {
    const candidate = await stack.inviteCandidate(EXAMPLE_TEST_ID);
    const s = await openRaw(`${stack.wsUrl}/ws/assessment`);
    const auth = await exchange(s, `{"type": "auth", "data": {"token": "${candidate.token}"}}`, 'auth_success');
    assert.equal(auth['role'], 'candidate');
    const started = await exchange(s, '{"type": "start_assessment", "data": {"test_id": 123}}', 'assessment_started');
    assert.equal((started['test'] as { test_id: string }).test_id, '123');
    const question = await exchange(s, '{"type": "get_question", "data": {}}', 'question');
    assert.equal(question['question_id'], 'q1');
    const feedback = await exchange(
      s,
      '{"type": "submit_answer", "data": {"question_id": "q1", "selected_option": "A"}}',
      'answer_feedback',
    );
    assert.equal(feedback['accepted'], true);
    // Letter options compare case-insensitively; the canonical id is reported.
    assert.equal(feedback['selected_option'], 'a');
    assert.equal(feedback['correct'], true);
    const progress = await exchange(s, '{"type": "get_progress", "data": {}}', 'progress_update');
    assert.equal(progress['answered'], 1);
    const chat = await exchange(s, '{"type": "chat_message", "data": {"message": "Is a calculator allowed?"}}', 'chat_message');
    assert.equal(chat['text'], 'Is a calculator allowed?');
    await exchange(s, '{"type": "heartbeat", "data": {}}', 'heartbeat_ack');
    const completed = await exchange(s, '{"type": "end_assessment", "data": {}}', 'assessment_completed');
    assert.equal(completed['status'], 'completed');
    s.ws.close();
  });

  test('/ws/chat: auth, then a message in the room and its history', async () => {
    const candidate = await stack.inviteCandidate(EXAMPLE_TEST_ID);
    const a = await openRaw(`${stack.wsUrl}/ws/assessment?token=${candidate.token}`);
    const started = await exchange(a, '{"type": "start_assessment", "data": {"test_id": 123}}', 'assessment_started');
    const room = `asm_${String(started['assessment_id'])}`;
    const login = await stack.bus.request('authLogin', { email: stack.seed.proctor.email, password: stack.seed.proctor.password });
    const s = await openRaw(`${stack.wsUrl}/ws/chat?room_id=${room}`);
    await exchange(s, `{"type": "auth", "data": {"token": "${login.token}"}}`, 'auth_success');
    const sent = await exchange(s, '{"type": "chat_message", "data": {"message": "Hello, how can I help?"}}', 'chat_message');
    assert.equal(sent['room_id'], room);
    const history = await exchange(s, '{"type": "chat_history", "data": {}}', 'chat_history');
    assert.ok((history['messages'] as { text: string }[]).some((m) => m.text === 'Hello, how can I help?'));
    await exchange(s, '{"type": "heartbeat", "data": {}}', 'heartbeat_ack');
    s.ws.close();
    a.ws.close();
  });

  test('test ids given as numbers are the same test over HTTP', async () => {
    const login = await stack.bus.request('authLogin', { email: stack.seed.recruiter.email, password: stack.seed.recruiter.password });
    const res = await fetch(`${stack.httpUrl}/api/tests/123/invitations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${login.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ candidate_email: 'numbered@example.com' }),
    });
    assert.equal(res.status, 201, await res.clone().text());
  });
});
