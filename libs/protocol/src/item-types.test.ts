import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { itemSchema } from './definitions.ts';
import { serverFrameData } from './frames.ts';

const scale = [
  { id: 'sd', text: 'Strongly disagree' },
  { id: 'd', text: 'Disagree' },
  { id: 'n', text: 'Neutral' },
  { id: 'ag', text: 'Agree' },
  { id: 'sa', text: 'Strongly agree' },
];
const likert = { id: 'lk-1', skill: 'teamwork', type: 'likert', stem: 'I ask for help when stuck.', options: scale };

/** The fields named by the issues of a refused item. */
function refusedFields(input: unknown): string[] {
  const r = itemSchema.safeParse(input);
  if (r.success) assert.fail('expected the item to be refused');
  return r.error.issues.map((i) => i.path.join('.'));
}

describe('itemSchema: likert and partial_credit', () => {
  it('takes a likert item without key, model or thresholds, and one with them', () => {
    assert.equal(itemSchema.parse(likert).type, 'likert');
    const full = itemSchema.parse({ ...likert, model: 'GPCM', a: 1.3, thresholds: [0.5, -0.2, 0.1, 1] });
    assert.deepEqual(full.thresholds, [0.5, -0.2, 0.1, 1]);
    const pc = itemSchema.parse({ ...likert, type: 'partial_credit', options: scale.slice(0, 3), thresholds: [-1, 1] });
    assert.equal(pc.type, 'partial_credit');
  });

  it('refuses a key, b or c on a likert item, naming the field', () => {
    assert.deepEqual(refusedFields({ ...likert, key: 'sa' }), ['key']);
    assert.deepEqual(refusedFields({ ...likert, b: 0.3, c: 0.2 }), ['b', 'c']);
  });

  it('refuses GRM thresholds out of order and thresholds that do not fit the categories', () => {
    assert.deepEqual(refusedFields({ ...likert, thresholds: [-1, 0.5, 0.2, 1] }), ['thresholds']);
    assert.deepEqual(refusedFields({ ...likert, thresholds: [-1, 0, 1] }), ['thresholds']);
    assert.deepEqual(refusedFields({ ...likert, thresholds: [-1, 0, 1, 20] }), ['thresholds.3']);
    assert.deepEqual(refusedFields({ ...likert, model: 'PCM' }), ['model']);
  });

  it('still needs the key of a single choice, and refuses thresholds on it', () => {
    const choice = { id: 'q-1', skill: 's', stem: 'Pick', options: scale.slice(0, 2) };
    assert.deepEqual(refusedFields(choice), ['key']);
    assert.deepEqual(refusedFields({ ...choice, key: 'sd', thresholds: [0] }), ['thresholds']);
    assert.equal(itemSchema.parse({ ...choice, key: 'sd' }).type, 'single_choice');
  });
});

describe('frames: likert questions', () => {
  it('carries the question type and the category of an answer', () => {
    const question = {
      assessment_id: 'as-1',
      question_id: 'lk-1',
      index: 0,
      type: 'likert',
      stem: 'I ask for help when stuck.',
      options: scale,
      skill: 'teamwork',
      time_remaining_s: 100,
    };
    assert.ok(serverFrameData.question.safeParse(question).success);
    const feedback = {
      assessment_id: 'as-1',
      question_id: 'lk-1',
      accepted: true,
      selected_option: 'ag',
      category: 3,
      answered: 1,
      finished: false,
    };
    assert.ok(serverFrameData.answer_feedback.safeParse(feedback).success);
    assert.equal(serverFrameData.question.safeParse({ ...question, type: 'essay' }).success, false);
  });
});
