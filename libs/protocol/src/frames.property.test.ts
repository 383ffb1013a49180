import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { CLIENT_FRAME_TYPES, parseClientFrame } from './frames.ts';
import type { ClientFrameType } from './frames.ts';

// Valid data of every client frame type, written from the protocol's documented limits rather
// than derived from the schemas, so that a schema that drifts from them fails here.
const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
const testId = fc.oneof(id, fc.nat());
const text = (minLength: number, maxLength: number) => fc.string({ minLength, maxLength });
const empty = fc.constant({});

type Shape = { data: fc.Arbitrary<Record<string, unknown>>; required: readonly string[] };
const shape = (fields: Record<string, fc.Arbitrary<unknown>>, required: readonly string[] = []): Shape => ({
  data: fc.record(fields, { requiredKeys: required as string[] }),
  required,
});

const VALID: Record<ClientFrameType, Shape> = {
  auth: shape({ token: text(1, 200) }, ['token']),
  start_assessment: shape({ test_id: testId }),
  get_test_info: shape({ test_id: testId }),
  get_question: { data: empty, required: [] },
  submit_answer: shape({ question_id: id, selected_option: text(1, 16) }, ['question_id', 'selected_option']),
  get_progress: { data: empty, required: [] },
  chat_message: shape({ message: text(1, 300), room_id: id }, ['message']),
  heartbeat: shape({ client_time: text(0, 64) }),
  end_assessment: { data: empty, required: [] },
  integrity_event: shape(
    { kind: fc.constantFrom('focus_lost', 'tab_hidden', 'paste', 'fullscreen_exit', 'copy', 'other'), at: text(0, 64) },
    ['kind', 'at'],
  ),
  pause_assessment: shape({ assessment_id: id, reason: text(0, 500) }, ['assessment_id']),
  resume_assessment: shape({ assessment_id: id }, ['assessment_id']),
  terminate_assessment: shape({ assessment_id: id, reason: text(1, 500) }, ['assessment_id', 'reason']),
  extra_time: shape({ assessment_id: id, seconds: fc.integer({ min: 1, max: 24 * 3600 }), reason: text(0, 500), key: id }, [
    'assessment_id',
    'seconds',
  ]),
  join_room: shape({ room_id: id }, ['room_id']),
  leave_room: shape({ room_id: id }, ['room_id']),
  chat_history: shape({ room_id: id, before: id, limit: fc.integer({ min: 1, max: 200 }) }),
  typing: shape({ room_id: id }),
  open_support_room: shape({ candidate_id: id, topic: text(0, 200) }, ['candidate_id']),
  watch_assessments: shape({ test_id: testId }),
  unwatch_assessments: { data: empty, required: [] },
  approve_start: shape({ candidate_id: id, test_id: testId }, ['candidate_id', 'test_id']),
};

/** A frame type with valid data for it and a request id of 1 to 64 characters. */
const validFrame = fc
  .constantFrom(...CLIENT_FRAME_TYPES)
  .chain((type) => fc.record({ type: fc.constant(type), data: VALID[type].data, id: text(1, 64) }));

/** Data as the parser returns it: a numeric test id becomes its decimal string. */
function normalized(data: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, k === 'test_id' && typeof v === 'number' ? String(v) : v]));
}

function assertRefused(text: string, code: string, id: string | undefined): void {
  const r = parseClientFrame(text);
  assert.ok(!r.ok, text);
  assert.equal(r.code, code, text);
  assert.equal(r.id, id, text);
}

describe('parseClientFrame over generated frames', () => {
  test('every client frame type has a generator of valid data', () => {
    assert.deepEqual([...CLIENT_FRAME_TYPES].sort(), Object.keys(VALID).sort());
  });

  test('accepts valid data of every type, keeps every field and echoes the id', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(validFrame, ({ type, data, id }) => {
        const r = parseClientFrame(JSON.stringify({ type, data, id }));
        assert.ok(r.ok, `${type}: ${JSON.stringify(data)}`);
        assert.equal(r.frame.type, type);
        assert.equal(r.frame.id, id);
        const parsed = r.frame.data as Record<string, unknown>;
        for (const [k, v] of Object.entries(normalized(data))) assert.deepEqual(parsed[k], v, `${type}.${k}`);
        seen.add(type);
      }),
      { numRuns: 1500 },
    );
    assert.equal(seen.size, CLIENT_FRAME_TYPES.length, 'every type was generated');
  });

  test('a frame without data is the frame with empty data', () => {
    for (const type of CLIENT_FRAME_TYPES) {
      const r = parseClientFrame(JSON.stringify({ type }));
      assert.equal(r.ok, VALID[type].required.length === 0, type);
    }
  });

  test('a missing required field is VALIDATION_FAILED with the id echoed', () => {
    const withRequired = CLIENT_FRAME_TYPES.filter((t) => VALID[t].required.length > 0);
    const arb = fc.constantFrom(...withRequired).chain((type) =>
      fc.record({
        type: fc.constant(type),
        data: VALID[type].data,
        missing: fc.constantFrom(...VALID[type].required),
        id: text(1, 64),
      }),
    );
    fc.assert(
      fc.property(arb, ({ type, data, missing, id }) => {
        const rest = Object.fromEntries(Object.entries(data).filter(([k]) => k !== missing));
        assertRefused(JSON.stringify({ type, data: rest, id }), 'VALIDATION_FAILED', id);
      }),
      { numRuns: 500 },
    );
  });

  test('an extra key in data is VALIDATION_FAILED with the id echoed', () => {
    const arb = fc.record({
      frame: validFrame,
      key: fc.string({ minLength: 1, maxLength: 20 }),
      value: fc.jsonValue(),
    });
    fc.assert(
      fc.property(arb, ({ frame, key, value }) => {
        // Keys of the type's schema are not extra; `__proto__` is not an own key once spread.
        fc.pre(key !== '__proto__' && !knownKeys(frame.type).has(key));
        const data = { ...frame.data, [key]: value };
        assertRefused(JSON.stringify({ type: frame.type, data, id: frame.id }), 'VALIDATION_FAILED', frame.id);
      }),
      { numRuns: 500 },
    );
  });

  test('an envelope id of 64 characters is echoed; 65 is VALIDATION_FAILED with no id', () => {
    fc.assert(
      fc.property(validFrame, fc.integer({ min: 0, max: 1 }), fc.string({ minLength: 1, maxLength: 1 }), (frame, over, ch) => {
        const longId = ch.repeat(64 + over);
        const text = JSON.stringify({ type: frame.type, data: frame.data, id: longId });
        if (over === 0) {
          const r = parseClientFrame(text);
          assert.ok(r.ok, frame.type);
          assert.equal(r.frame.id, longId);
        } else {
          assertRefused(text, 'VALIDATION_FAILED', undefined);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('an id field of 64 characters is accepted and of 65 refused, in every frame that has one', () => {
    const idFields = CLIENT_FRAME_TYPES.flatMap((type) =>
      [...knownKeys(type)].filter((k) => k.endsWith('_id') || k === 'key' || k === 'before').map((field) => ({ type, field })),
    );
    assert.ok(idFields.length >= 10, 'frames with id fields were found');
    const arb = fc.record({
      target: fc.constantFrom(...idFields),
      over: fc.integer({ min: 0, max: 1 }),
      ch: fc.constantFrom('a', 'Z', '0', '_', '-'),
      id: text(1, 64),
    });
    fc.assert(
      fc.property(arb, ({ target, over, ch, id }) => {
        const base = fc.sample(VALID[target.type].data, { numRuns: 1, seed: 1 })[0] ?? {};
        const data = { ...requiredOnly(target.type, base), [target.field]: ch.repeat(64 + over) };
        const text = JSON.stringify({ type: target.type, data, id });
        if (over === 0) assert.ok(parseClientFrame(text).ok, `${target.type}.${target.field}`);
        else assertRefused(text, 'VALIDATION_FAILED', id);
      }),
      { numRuns: 400 },
    );
  });

  test('a malformed envelope is VALIDATION_FAILED and echoes its id only when the id is usable', () => {
    const badEnvelope = fc.oneof(
      fc.record({ type: fc.constantFrom('', 'x'.repeat(65)), data: fc.constant({}) }),
      fc.record({ type: fc.constantFrom(...CLIENT_FRAME_TYPES), data: fc.oneof(fc.string(), fc.integer(), fc.array(fc.nat())) }),
      fc.record({ type: fc.integer(), data: fc.constant({}) }),
    );
    const anyId = fc.oneof(text(1, 64), fc.constantFrom('', 'y'.repeat(65)), fc.integer(), fc.constant(null));
    fc.assert(
      fc.property(badEnvelope, anyId, (envelope, id) => {
        const usable = typeof id === 'string' && id.length >= 1 && id.length <= 64 ? id : undefined;
        assertRefused(JSON.stringify({ ...envelope, id }), 'VALIDATION_FAILED', usable);
      }),
      { numRuns: 500 },
    );
  });

  test('refusals list the fields at fault', () => {
    const r = parseClientFrame(JSON.stringify({ type: 'extra_time', data: { assessment_id: 'bad id!', seconds: 0 } }));
    assert.ok(!r.ok);
    const issues = (r.details?.['issues'] ?? []) as { path: string; message: string }[];
    assert.deepEqual(issues.map((i) => i.path).sort(), ['assessment_id', 'seconds']);
    assert.ok(issues.every((i) => i.message.length > 0));
    const envelope = parseClientFrame(JSON.stringify({ type: '', data: [] }));
    assert.ok(!envelope.ok);
    assert.deepEqual(((envelope.details?.['issues'] ?? []) as { path: string }[]).map((i) => i.path).sort(), ['data', 'type']);
  });

  test('a type outside the list is UNKNOWN_TYPE with the id echoed', () => {
    fc.assert(
      fc.property(text(1, 64), text(1, 64), (type, id) => {
        fc.pre(!(CLIENT_FRAME_TYPES as readonly string[]).includes(type));
        assertRefused(JSON.stringify({ type, data: {}, id }), 'UNKNOWN_TYPE', id);
      }),
      { numRuns: 500 },
    );
  });
});

/** Every key valid data of `type` may have (the generators' record keys). */
const keysOf = new Map<ClientFrameType, Set<string>>();
function knownKeys(type: ClientFrameType): Set<string> {
  const known = keysOf.get(type);
  if (known !== undefined) return known;
  const keys = new Set<string>();
  keysOf.set(type, keys);
  for (const sample of fc.sample(VALID[type].data, { numRuns: 200, seed: 7 })) for (const k of Object.keys(sample)) keys.add(k);
  return keys;
}

function requiredOnly(type: ClientFrameType, data: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(data).filter(([k]) => VALID[type].required.includes(k)));
}
