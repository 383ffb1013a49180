import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import {
  MAX_CHAT_CHARS,
  MAX_FRAME_BYTES,
  clientFrameData,
  issueList,
  parseClientFrame,
  serverEnvelopeSchema,
  serverFrameData,
} from './frames.ts';
import type { ServerFrameType } from './frames.ts';

const iso = '2026-11-25T10:00:00.000Z';
const summary = {
  test_id: 't1',
  title: 'T',
  strategy: 'fixed',
  time_limit_s: 600,
  planned_items: { min: 10, max: 10 },
  skills: ['algebra'],
  show_feedback: false,
  time_warnings_s: [300, 60],
  on_expiry: 'autosubmit',
  grace_s: 0,
};
const question = {
  assessment_id: 'a1',
  question_id: 'q1',
  index: 3,
  type: 'single_choice',
  stem: 's',
  options: [{ id: 'a', text: 'A' }],
  skill: 'algebra',
  time_remaining_s: 0,
};
const approval = {
  test_id: 't1',
  candidate_id: 'c1',
  candidate_name: 'Ada',
  status: 'waiting',
  requested_at: iso,
  approved_at: null,
  approved_by: null,
};
const live = {
  assessment_id: 'a1',
  test_id: 't1',
  test_title: 'T',
  strategy: 'random',
  candidate_id: 'c1',
  candidate_name: 'Ada',
  status: 'paused',
  online: true,
  answered: 2,
  planned: 10,
  time_remaining_s: 120,
  deadline: iso,
  started_at: iso,
  theta: 0.5,
  se: 0.4,
  incidents: 1,
  last_incident: { kind: 'paste', at: iso },
  accommodations: { time_multiplier: 1.25, extra_seconds: 0 },
  updated_at: iso,
};
const message = { message_id: 'm1', room_id: 'asm_a1', sender_id: 'u1', sender_role: 'candidate', text: 'hi', created_at: iso };
const room = { room_id: 'sup_1', kind: 'support', members: ['c1'], topic: 't', opened_by: 'r1', created_at: iso };
const progress = {
  assessment_id: 'a1',
  status: 'in_progress',
  answered: 0,
  planned: 0,
  planned_range: { min: 0, max: 0 },
  percent: 100,
  time_remaining_s: 0,
  skills: [{ skill: 's', answered: 0 }],
};
const result = {
  number_correct: 0,
  answered: 0,
  percent_correct: 0,
  percentile: 100,
  incidents: 2,
  accommodations: { time_multiplier: 1, extra_seconds: 30 },
  decision: 'undecided',
  trace: [{ theta: 0, se: 1 }],
  skills: [{ skill: 's', answered: 1, correct: 0 }],
};

/** A valid data of every server frame type: each parses to itself. */
const SAMPLES: Record<ServerFrameType, unknown> = {
  auth_success: { user_id: 'u1', role: 'proctor', expires_at: iso },
  test_info: {
    test: summary,
    description: '',
    proctored: false,
    start_requires_approval: false,
    start_approval: null,
    practice: null,
    attempt: null,
  },
  assessment_started: {
    assessment_id: 'a1',
    test: summary,
    started_at: iso,
    deadline: iso,
    resumed: true,
    answered: 1,
    time_remaining_s: 60,
    status: 'in_progress',
    current_question_id: 'q1',
    current_question: question,
    answered_question_ids: ['q0'],
  },
  question,
  answer_feedback: { assessment_id: 'a1', question_id: 'q1', accepted: false, selected_option: 'b', answered: 1, finished: true },
  progress_update: progress,
  assessment_completed: { assessment_id: 'a1', status: 'abandoned', reason: 'abandoned', finished_at: iso, result },
  heartbeat_ack: { server_time: iso },
  chat_message: message,
  time_warning: { assessment_id: 'a1', time_remaining_s: 60 },
  session_replaced: { assessment_id: 'a1' },
  assessment_paused: { assessment_id: 'a1', reason: 'r' },
  assessment_resumed: { assessment_id: 'a1', deadline: iso, time_remaining_s: 30 },
  assessment_status: { assessment_id: 'a1', status: 'terminated', deadline: iso, time_remaining_s: -5 },
  integrity_recorded: { assessment_id: 'a1', kind: 'copy', incidents: 3 },
  time_extended: { assessment_id: 'a1', deadline: iso, time_remaining_s: 90, extra_s: 60 },
  room_joined: room,
  room_left: { room_id: 'r1' },
  room_opened: { room_id: 'sup_2', kind: 'support' },
  chat_history: { room_id: 'r1', messages: [message], next_cursor: 'm0' },
  typing: { room_id: 'r1', user_id: 'u1', role: 'recruiter', name: 'Bo' },
  live_assessments: { test_id: null, assessments: [live], start_requests: [approval] },
  live_assessment: live,
  start_approval: { ...approval, status: 'approved', approved_at: iso, approved_by: 'p1' },
  error: { code: 'TIME_EXPIRED', message: 'time is up', details: { at: iso } },
};

describe('server frame data', () => {
  test('a valid data of every server frame type parses to itself', () => {
    assert.deepEqual(Object.keys(serverFrameData).sort(), Object.keys(SAMPLES).sort());
    for (const [type, data] of Object.entries(SAMPLES)) assert.deepEqual(serverFrameData[type as ServerFrameType].parse(data), data, type);
  });

  test('every enum value of statuses, reasons, strategies, kinds and roles is accepted', () => {
    for (const status of ['created', 'in_progress', 'paused', 'completed', 'expired', 'overdue', 'abandoned', 'terminated'])
      serverFrameData.progress_update.parse({ ...progress, status });
    for (const reason of [
      'candidate_ended',
      'max_items',
      'se_target',
      'classified',
      'pool_exhausted',
      'all_answered',
      'time_limit',
      'terminated',
      'abandoned',
    ])
      serverFrameData.assessment_completed.parse({ assessment_id: 'a1', status: 'completed', reason, finished_at: iso });
    for (const strategy of ['fixed', 'random', 'adaptive']) {
      serverFrameData.live_assessment.parse({ ...live, strategy });
      serverFrameData.test_info.parse({ ...(SAMPLES.test_info as object), test: { ...summary, strategy } });
    }
    for (const on_expiry of ['autosubmit', 'grace'])
      serverFrameData.test_info.parse({ ...(SAMPLES.test_info as object), test: { ...summary, on_expiry } });
    for (const decision of ['pass', 'fail', 'undecided'])
      serverFrameData.assessment_completed.parse({
        assessment_id: 'a1',
        status: 'completed',
        reason: 'classified',
        finished_at: iso,
        result: { ...result, decision },
      });
    for (const sender_role of ['candidate', 'proctor', 'recruiter', 'admin', 'assistant'])
      serverFrameData.chat_message.parse({ ...message, sender_role });
    for (const kind of ['assessment', 'support']) serverFrameData.room_joined.parse({ room_id: 'r1', kind });
    for (const status of ['waiting', 'approved']) serverFrameData.start_approval.parse({ ...approval, status });
  });

  test('server frame data is refused outside its bounds', () => {
    const bad: [ServerFrameType, unknown][] = [
      ['auth_success', { user_id: 'u1', role: 'assistant', expires_at: iso }],
      ['question', { ...question, index: -1 }],
      ['question', { ...question, index: 0.5 }],
      ['question', { ...question, type: 'essay' }],
      ['question', { ...question, time_remaining_s: -1 }],
      ['progress_update', { ...progress, percent: 100.1 }],
      ['progress_update', { ...progress, percent: -0.1 }],
      ['progress_update', { ...progress, answered: -1 }],
      ['progress_update', { ...progress, planned: -1 }],
      ['progress_update', { ...progress, status: 'running' }],
      ['assessment_completed', { assessment_id: 'a1', status: 'completed', reason: 'bored', finished_at: iso }],
      [
        'assessment_completed',
        { assessment_id: 'a1', status: 'completed', reason: 'max_items', finished_at: iso, result: { ...result, percent_correct: 101 } },
      ],
      [
        'assessment_completed',
        { assessment_id: 'a1', status: 'completed', reason: 'max_items', finished_at: iso, result: { ...result, percentile: -1 } },
      ],
      [
        'assessment_completed',
        { assessment_id: 'a1', status: 'completed', reason: 'max_items', finished_at: iso, result: { ...result, number_correct: -1 } },
      ],
      [
        'assessment_completed',
        { assessment_id: 'a1', status: 'completed', reason: 'max_items', finished_at: iso, result: { ...result, incidents: -1 } },
      ],
      [
        'assessment_completed',
        { assessment_id: 'a1', status: 'completed', reason: 'max_items', finished_at: iso, result: { ...result, decision: 'maybe' } },
      ],
      ['test_info', { ...(SAMPLES.test_info as object), time_allowed_s: 0 }],
      ['test_info', { ...(SAMPLES.test_info as object), test: { ...summary, time_limit_s: 0 } }],
      ['test_info', { ...(SAMPLES.test_info as object), test: { ...summary, grace_s: -1 } }],
      ['test_info', { ...(SAMPLES.test_info as object), test: { ...summary, time_warnings_s: [0] } }],
      [
        'test_info',
        { ...(SAMPLES.test_info as object), attempt: { assessment_id: 'a1', status: 'paused', answered: -1, time_remaining_s: 0 } },
      ],
      ['live_assessment', { ...live, incidents: -1 }],
      ['live_assessment', { ...live, online: undefined }],
      ['time_warning', { assessment_id: 'a1', time_remaining_s: -1 }],
      ['time_extended', { assessment_id: 'a1', deadline: iso, time_remaining_s: -1, extra_s: 60 }],
      ['assessment_resumed', { assessment_id: 'a1', deadline: iso, time_remaining_s: -1 }],
      ['typing', { room_id: 'r1', user_id: 'u1', role: 'assistant' }],
      ['chat_message', { ...message, sender_role: 'bot' }],
      ['room_joined', { room_id: 'r1', kind: 'private' }],
      ['start_approval', { ...approval, status: 'denied' }],
      ['error', { code: 'OOPS', message: 'm' }],
    ];
    for (const [type, data] of bad) assert.equal(serverFrameData[type].safeParse(data).success, false, `${type} ${JSON.stringify(data)}`);
  });

  test('the server envelope has a type, an object of data, a timestamp and maybe a reply id', () => {
    const frame = { type: 'heartbeat_ack', data: { server_time: iso }, reply_to: 'r1', ts: iso };
    assert.deepEqual(serverEnvelopeSchema.parse(frame), frame);
    assert.equal(serverEnvelopeSchema.safeParse({ ...frame, ts: undefined }).success, false);
    assert.equal(serverEnvelopeSchema.safeParse({ ...frame, data: [] }).success, false);
  });
});

describe('client frames', () => {
  test('limits of the socket', () => {
    assert.equal(MAX_FRAME_BYTES, 65_536);
    assert.equal(MAX_CHAT_CHARS, 2000);
  });

  test('defaults are applied to the data of commands and reads', () => {
    const cases: [string, Record<string, unknown>, Record<string, unknown>][] = [
      ['pause_assessment', { assessment_id: 'a1' }, { assessment_id: 'a1', reason: '' }],
      ['extra_time', { assessment_id: 'a1', seconds: 60 }, { assessment_id: 'a1', seconds: 60, reason: '' }],
      ['chat_history', {}, { limit: 50 }],
      ['open_support_room', { candidate_id: 'c1' }, { candidate_id: 'c1', topic: '' }],
      ['start_assessment', { test_id: 42 }, { test_id: '42' }],
      ['get_test_info', { test_id: 'demo' }, { test_id: 'demo' }],
      ['approve_start', { candidate_id: 'c1', test_id: 7 }, { candidate_id: 'c1', test_id: '7' }],
    ];
    for (const [type, data, expected] of cases) {
      const r = parseClientFrame(JSON.stringify({ type, data }));
      assert.ok(r.ok, type);
      assert.deepEqual(r.frame, { type, data: expected }, type);
    }
    // A frame without data is a frame with empty data.
    assert.deepEqual(parseClientFrame(JSON.stringify({ type: 'get_question' })), { ok: true, frame: { type: 'get_question', data: {} } });
  });

  test('bounds of the client frames', () => {
    const ok: [keyof typeof clientFrameData, Record<string, unknown>][] = [
      ['auth', { token: 't'.repeat(8192) }],
      ['chat_message', { message: 'm'.repeat(8000) }],
      ['heartbeat', { client_time: 't'.repeat(64) }],
      ['terminate_assessment', { assessment_id: 'a1', reason: 'r'.repeat(500) }],
      ['extra_time', { assessment_id: 'a1', seconds: 86_400, reason: 'r'.repeat(500) }],
      ['chat_history', { limit: 200 }],
      ['chat_history', { limit: 1 }],
    ];
    for (const [type, data] of ok) assert.ok(clientFrameData[type].safeParse(data).success, type);
    const bad: [keyof typeof clientFrameData, Record<string, unknown>][] = [
      ['auth', { token: '' }],
      ['auth', { token: 't'.repeat(8193) }],
      ['chat_message', { message: '' }],
      ['chat_message', { message: 'm'.repeat(8001) }],
      ['heartbeat', { client_time: 't'.repeat(65) }],
      ['terminate_assessment', { assessment_id: 'a1', reason: '' }],
      ['terminate_assessment', { assessment_id: 'a1', reason: 'r'.repeat(501) }],
      ['pause_assessment', { assessment_id: 'a1', reason: 'r'.repeat(501) }],
      ['extra_time', { assessment_id: 'a1', seconds: 0 }],
      ['extra_time', { assessment_id: 'a1', seconds: 86_401 }],
      ['chat_history', { limit: 0 }],
      ['chat_history', { limit: 201 }],
      ['chat_history', { before: 'b'.repeat(65) }],
      ['open_support_room', { candidate_id: 'c1', topic: 't'.repeat(201) }],
      ['integrity_event', { kind: 'print', at: iso }],
      ['integrity_event', { kind: 'copy', at: 't'.repeat(65) }],
      ['submit_answer', { question_id: 'q1', selected_option: 'o'.repeat(17) }],
    ];
    for (const [type, data] of bad) assert.equal(clientFrameData[type].safeParse(data).success, false, `${type} ${JSON.stringify(data)}`);
  });

  test('refusals say what was wrong', () => {
    assert.deepEqual(parseClientFrame('{'), { ok: false, code: 'INVALID_JSON', message: 'frame is not valid JSON' });
    assert.deepEqual(parseClientFrame(JSON.stringify({ type: 'nope', id: 'r1' })), {
      ok: false,
      code: 'UNKNOWN_TYPE',
      message: 'unknown frame type "nope"',
      id: 'r1',
    });
    assert.deepEqual(parseClientFrame(JSON.stringify({ type: 'nope' })), {
      ok: false,
      code: 'UNKNOWN_TYPE',
      message: 'unknown frame type "nope"',
    });
    // An inherited property is not a frame type.
    assert.equal((parseClientFrame(JSON.stringify({ type: 'toString' })) as { code?: string }).code, 'UNKNOWN_TYPE');

    const invalid = parseClientFrame(JSON.stringify({ type: 'submit_answer', data: { question_id: 'q 1' }, id: 'r2' }));
    assert.ok(!invalid.ok);
    assert.equal(invalid.code, 'VALIDATION_FAILED');
    assert.equal(invalid.message, 'invalid data for "submit_answer"');
    assert.equal(invalid.id, 'r2');
    assert.deepEqual(
      (invalid.details?.issues as { path: string }[]).map((i) => i.path),
      ['question_id', 'selected_option'],
    );

    const envelope = parseClientFrame(JSON.stringify({ type: '', id: 'r3' }));
    assert.ok(!envelope.ok);
    assert.equal(envelope.code, 'VALIDATION_FAILED');
    assert.equal(envelope.message, 'frame must be {"type": string, "data": object, "id"?: string}');
    assert.equal(envelope.id, 'r3');
    assert.deepEqual(
      (envelope.details?.issues as { path: string }[]).map((i) => i.path),
      ['type'],
    );
  });

  test('a malformed envelope echoes only a usable id', () => {
    const idOf = (raw: unknown) => {
      const r = parseClientFrame(JSON.stringify(raw));
      assert.ok(!r.ok);
      return r.id;
    };
    assert.equal(idOf({ type: 1, id: 'x'.repeat(64) }), 'x'.repeat(64));
    assert.equal(idOf({ type: 1, id: 'x'.repeat(65) }), undefined);
    assert.equal(idOf({ type: 1, id: '' }), undefined);
    assert.equal(idOf({ type: 1, id: 7 }), undefined);
    assert.equal(idOf({ type: 1 }), undefined);
    assert.equal(idOf([1]), undefined);
    assert.equal(idOf(null), undefined);
    assert.equal(idOf('text'), undefined);
    const r = parseClientFrame(JSON.stringify({ type: 1, id: 'r1' }));
    assert.ok(!r.ok && 'id' in r);
    const none = parseClientFrame(JSON.stringify({ type: 1 }));
    assert.ok(!none.ok && !('id' in none));
  });

  test('an issue list has at most ten issues, each with a dotted path', () => {
    const many = z.object(Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`f${String(i)}`, z.string()])));
    const error = many.safeParse({}).error;
    assert.ok(error);
    const issues = issueList(error);
    assert.equal(issues.length, 10);
    assert.deepEqual(issues[0], { path: 'f0', message: error.issues[0]?.message });
    const nested = z.object({ a: z.object({ b: z.array(z.string()) }) }).safeParse({ a: { b: [1] } }).error;
    assert.ok(nested);
    assert.deepEqual(
      issueList(nested).map((i) => i.path),
      ['a.b.0'],
    );
  });
});
