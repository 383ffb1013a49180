import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { CLIENT_FRAME_TYPES, parseClientFrame, questionSchema } from './frames.ts';

describe('parseClientFrame', () => {
  test('never throws, whatever the text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        (text) => {
          const r = parseClientFrame(text);
          assert.equal(typeof r.ok, 'boolean');
          if (!r.ok) assert.ok(['INVALID_JSON', 'UNKNOWN_TYPE', 'VALIDATION_FAILED'].includes(r.code));
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('accepts every well-formed frame type and echoes the id', () => {
    const samples: Record<string, unknown> = {
      auth: { token: 't.k.n' },
      start_assessment: { test_id: 'demo' },
      get_question: {},
      submit_answer: { question_id: 'q1', selected_option: 'a' },
      get_progress: {},
      chat_message: { message: 'hello' },
      heartbeat: {},
      end_assessment: {},
      integrity_event: { kind: 'tab_hidden', at: '2026-11-25T10:00:00Z' },
      pause_assessment: { assessment_id: 'a1' },
      resume_assessment: { assessment_id: 'a1' },
      terminate_assessment: { assessment_id: 'a1', reason: 'phone in use' },
      extra_time: { assessment_id: 'a1', seconds: 60 },
      join_room: { room_id: 'asm_a1' },
      leave_room: { room_id: 'asm_a1' },
      chat_history: { room_id: 'asm_a1', before: '0001', limit: 20 },
      typing: {},
      open_support_room: { candidate_id: 'c1', topic: 'your results' },
      watch_assessments: { test_id: 't1' },
      unwatch_assessments: {},
      approve_start: { candidate_id: 'u1', test_id: 't1' },
    };
    for (const type of CLIENT_FRAME_TYPES) {
      const r = parseClientFrame(JSON.stringify({ type, data: samples[type], id: 'r1' }));
      assert.ok(r.ok, type);
      assert.equal(r.frame.id, 'r1');
      assert.equal(r.frame.type, type);
    }
  });

  test('rejects unknown fields, wrong types and long ids with a code', () => {
    const extra = parseClientFrame(JSON.stringify({ type: 'get_question', data: { sneaky: true }, id: 'a' }));
    assert.deepEqual([extra.ok, !extra.ok && extra.code, !extra.ok && extra.id], [false, 'VALIDATION_FAILED', 'a']);
    const unknown = parseClientFrame(JSON.stringify({ type: 'nope', data: {} }));
    assert.equal(!unknown.ok && unknown.code, 'UNKNOWN_TYPE');
    const longId = parseClientFrame(JSON.stringify({ type: 'heartbeat', data: {}, id: 'x'.repeat(65) }));
    assert.equal(!longId.ok && longId.code, 'VALIDATION_FAILED');
    assert.equal(!longId.ok && longId.id, undefined);
    assert.equal(parseClientFrame('{').ok, false);
  });
});

describe('questionSchema', () => {
  const question = {
    assessment_id: 'a1',
    question_id: 'q1',
    index: 0,
    stem: 'How much of the proof is done?',
    options: [
      { id: 'p0', text: 'None' },
      { id: 'p1', text: 'Half' },
      { id: 'p2', text: 'All' },
    ],
    skill: 'reasoning',
    time_remaining_s: 600,
  };
  test('takes each question type, and no other', () => {
    for (const type of ['single_choice', 'likert', 'partial_credit'] as const) {
      assert.equal(questionSchema.parse({ ...question, type }).type, type);
    }
    for (const type of ['', 'essay', 'Likert', undefined])
      assert.equal(questionSchema.safeParse({ ...question, type }).success, false, String(type));
  });
});
