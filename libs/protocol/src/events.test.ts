import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ASSESSMENT_STREAM, SUPPORT_ROOM_PREFIX, assessmentIdOfRoom, assessmentRoomId, events, streamEvents } from './events.ts';
import type { EventName } from './events.ts';

const iso = '2026-11-25T10:00:00.000Z';

describe('event registry', () => {
  test('keyed events end with their key; fixed events have one subject', () => {
    const registry: Record<EventName, [keyed: boolean, prefixOrSubject: string]> = {
      pushToUser: [true, 'gateway.v1.push.user'],
      presence: [false, 'gateway.v1.presence'],
      chatRoom: [true, 'chat.v1.events.room'],
      liveAssessment: [true, 'assessment.v1.live'],
      startRequest: [true, 'assessment.v1.start_requests'],
      connection: [false, 'gateway.v1.connection'],
      chatTyping: [true, 'chat.v1.events.typing'],
      reSignIn: [false, 'auth.v1.events.re_sign_in'],
      assessmentCompleted: [false, 'assessment.v1.events.completed'],
    };
    assert.deepEqual(Object.keys(events).sort(), Object.keys(registry).sort());
    for (const [name, [keyed, subject]] of Object.entries(registry) as [EventName, [boolean, string]][]) {
      const event = events[name];
      assert.equal(event.keyed, keyed, name);
      if (keyed) {
        assert.equal(event.subject('k1'), `${subject}.k1`, name);
        assert.equal(event.wildcard, `${subject}.*`, name);
      } else {
        assert.equal(event.subject(undefined as never), subject, name);
        assert.equal(event.wildcard, subject, name);
      }
    }
  });

  test('a push to a user is any server frame with its own data, optionally bound to an assessment', () => {
    const push = {
      type: 'time_warning',
      data: { assessment_id: 'a1', time_remaining_s: 60 },
      assessment_id: 'a1',
      except_connection: 'c'.repeat(64),
    };
    assert.deepEqual(events.pushToUser.schema.parse(push), push);
    const paused = { type: 'assessment_paused', data: { assessment_id: 'a1', reason: '' } };
    assert.deepEqual(events.pushToUser.schema.parse(paused), paused);
    for (const bad of [
      { type: 'time_warning', data: { assessment_id: 'a1', time_remaining_s: -1 } },
      { type: 'time_warning', data: { assessment_id: 'a1' } },
      { type: 'no_such_frame', data: {} },
      { ...push, except_connection: 'c'.repeat(65) },
      { ...push, assessment_id: 'a 1' },
    ])
      assert.equal(events.pushToUser.schema.safeParse(bad).success, false, JSON.stringify(bad));
  });

  test('presence, connection and re-sign-in payloads', () => {
    const presence = { gateway_id: 'g'.repeat(64), assessment_ids: Array.from({ length: 5000 }, (_, i) => `a${String(i)}`), at: iso };
    assert.deepEqual(events.presence.schema.parse(presence), presence);
    assert.equal(events.presence.schema.safeParse({ ...presence, assessment_ids: [...presence.assessment_ids, 'x'] }).success, false);
    assert.equal(events.presence.schema.safeParse({ ...presence, gateway_id: 'g'.repeat(65) }).success, false);

    const connection = { gateway_id: 'g1', connection_id: 'c'.repeat(64), assessment_id: 'a1', online: false, at: iso };
    assert.deepEqual(events.connection.schema.parse(connection), connection);
    assert.equal(events.connection.schema.safeParse({ ...connection, connection_id: 'c'.repeat(65) }).success, false);
    assert.equal(events.connection.schema.safeParse({ ...connection, gateway_id: 'g'.repeat(65) }).success, false);
    assert.equal(events.connection.schema.safeParse({ ...connection, online: 'yes' }).success, false);

    const again = { candidate_id: 'c1', test_id: 't1', application_id: 'app1', invitation_id: 'i1', at: iso, ip: '1'.repeat(64) };
    assert.deepEqual(events.reSignIn.schema.parse(again), again);
    assert.equal(events.reSignIn.schema.safeParse({ ...again, ip: '1'.repeat(65) }).success, false);
    assert.equal(events.reSignIn.schema.safeParse({ ...again, invitation_id: undefined }).success, false);
  });

  test('room, live, start request, typing and completion payloads', () => {
    const message = { message_id: 'm1', room_id: 'r1', sender_id: 'u1', sender_role: 'proctor', text: 'hi', created_at: iso };
    assert.deepEqual(events.chatRoom.schema.parse(message), message);
    const typing = { room_id: 'r1', user_id: 'u1', role: 'candidate', name: 'Ada' };
    assert.deepEqual(events.chatTyping.schema.parse(typing), typing);
    const approval = {
      test_id: 't1',
      candidate_id: 'c1',
      candidate_name: 'Ada',
      status: 'waiting',
      requested_at: iso,
      approved_at: null,
      approved_by: null,
    };
    assert.deepEqual(events.startRequest.schema.parse(approval), approval);
    const completed = {
      assessment_id: 'a1',
      status: 'terminated',
      reason: 'terminated',
      finished_at: iso,
      candidate_id: 'c1',
      test_id: 't1',
    };
    assert.deepEqual(events.assessmentCompleted.schema.parse(completed), completed);
    assert.equal(events.assessmentCompleted.schema.safeParse({ ...completed, test_id: undefined }).success, false);
    assert.equal(events.liveAssessment.schema.safeParse({ assessment_id: 'a1' }).success, false);
  });
});

describe('assessment stream', () => {
  test('stream subjects sit under the stream', () => {
    assert.deepEqual(ASSESSMENT_STREAM, { name: 'ASSESSMENT_EVENTS', subjects: 'assessment.v1.events.>' });
    assert.deepEqual(Object.fromEntries(Object.entries(streamEvents).map(([k, v]) => [k, v.subject])), {
      started: 'assessment.v1.events.started',
      answered: 'assessment.v1.events.answered',
      completed: 'assessment.v1.events.completed',
      expired: 'assessment.v1.events.expired',
    });
  });

  test('stream payloads carry the assessment, candidate and test', () => {
    const base = { assessment_id: 'a1', candidate_id: 'c1', test_id: 't1', at: iso };
    const started = { ...base, deadline: iso };
    assert.deepEqual(streamEvents.started.schema.parse(started), started);
    const answered = { ...base, question_id: 'q1', index: 0, correct: true };
    assert.deepEqual(streamEvents.answered.schema.parse(answered), answered);
    assert.equal(streamEvents.answered.schema.safeParse({ ...answered, index: -1 }).success, false);
    assert.equal(streamEvents.answered.schema.safeParse({ ...answered, index: 0.5 }).success, false);
    const done = { ...base, status: 'expired', reason: 'time_limit', finished_at: iso };
    assert.deepEqual(streamEvents.completed.schema.parse(done), done);
    assert.deepEqual(streamEvents.expired.schema.parse(done), done);
    for (const schema of [streamEvents.started.schema, streamEvents.completed.schema, streamEvents.expired.schema])
      assert.equal(schema.safeParse({ ...done, deadline: iso, candidate_id: undefined }).success, false);
  });
});

describe('rooms', () => {
  test('an assessment room is asm_ and the assessment id', () => {
    assert.equal(assessmentRoomId('a1'), 'asm_a1');
    assert.equal(assessmentIdOfRoom('asm_a1'), 'a1');
    assert.equal(assessmentIdOfRoom(assessmentRoomId('x_asm_')), 'x_asm_');
    assert.equal(assessmentIdOfRoom('sup_a1'), undefined);
    assert.equal(assessmentIdOfRoom('a1_asm_'), undefined);
    assert.equal(SUPPORT_ROOM_PREFIX, 'sup_');
  });
});
