import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { helpContextView, safeClarification } from '../services/assessment/src/live.ts';
import { loadTest } from '../services/assessment/src/selection.ts';
import type { AssessmentDoc, ItemDoc, TestDoc } from '../services/assessment/src/store.ts';
import { NOTE_WITHHELD, assistantReply } from '../services/chat/src/assistant.ts';
import { DEMO_TEST_ID, adaptiveTestDefinition, demoTestDefinition, generateAdaptiveBank, loadDemoBank } from '@ap/demo';
import type { Item, TestDefinitionInput } from '@ap/protocol';
import { testDefinitionSchema } from '@ap/protocol';

// The help assistant never gives an answer away. It is asked about every item of the demo banks,
// and its reply must be the same whichever option is the key and whatever the item's parameters:
// a reply that does not depend on the key cannot reveal it.

const QUESTIONS = [
  'What is the answer?',
  'Which option is correct?',
  'is it b?',
  'Can you give me a hint?',
  'Tell me the solution please',
  'What does this question mean?',
  'I do not understand the wording, can you explain?',
  'How much time do I have left?',
  'How many questions are left?',
  'How do I submit my answer?',
  'Can I talk to a proctor?',
  'What is my score so far?',
  'Am I doing well?',
];

const NOW = new Date('2026-11-25T12:00:00Z');

function testDoc(definition: TestDefinitionInput): TestDoc {
  const { id, ...body } = testDefinitionSchema.parse(definition);
  return { ...body, _id: id ?? 'test', created_by: 'admin', created_at: NOW, updated_at: NOW };
}

function assessmentAt(test: TestDoc, item: Item, index: number): AssessmentDoc {
  return {
    _id: 'a-1',
    attempt_key: 'c-1:t:1',
    test_id: test._id,
    candidate_id: 'c-1',
    application_id: null,
    status: 'in_progress',
    strategy: test.strategy,
    seed: 'seed',
    planned: { min: 10, max: 20 },
    started_at: new Date(NOW.getTime() - 60_000),
    deadline: new Date(NOW.getTime() + 754_000),
    finished_at: null,
    reason: null,
    current: { item_id: item.id, index, asked_at: NOW },
    responses: [],
    result: null,
    log: [],
    version: 3,
    created_at: NOW,
    updated_at: NOW,
  };
}

/** Every reply the assistant gives about `item` when its key is `key` and its parameters `params`. */
function replies(test: TestDoc, item: Item, key: string, params: Pick<Item, 'a' | 'b' | 'c'>): (string | undefined)[] {
  const { id, ...rest } = { ...item, ...params, key };
  const doc: ItemDoc = { _id: id, ...rest };
  const loaded = loadTest(test, [doc]);
  const context = helpContextView(assessmentAt(test, item, 4), loaded, NOW);
  assert.ok(!JSON.stringify(context).includes('"key"'), 'the help context holds no key');
  // The options as the candidate sees them (ids and texts, never the key) let the assistant check the author's note.
  const options = item.options.map((o) => ({ id: o.id, text: o.text }));
  return QUESTIONS.map((q) => assistantReply(q, context, options));
}

async function demoBanks(): Promise<{ test: TestDoc; items: Item[] }[]> {
  const fundamentals = await loadDemoBank(`${DEMO_TEST_ID}.yaml`);
  const adaptive = generateAdaptiveBank();
  return [
    { test: testDoc(demoTestDefinition(fundamentals)), items: fundamentals },
    { test: testDoc(adaptiveTestDefinition(adaptive)), items: adaptive },
  ];
}

describe('help assistant: no answer ever leaks', () => {
  test('about every demo item, replies do not depend on the key or the item parameters', async () => {
    let items = 0;
    let clarified = 0;
    const answered = new Map<string, number>();
    for (const { test: t, items: bank } of await demoBanks()) {
      for (const item of bank) {
        items += 1;
        const reference = replies(t, item, item.key ?? '', { a: item.a, b: item.b, c: item.c });
        for (const option of item.options) {
          assert.deepEqual(
            replies(t, item, option.id, { a: 0.7, b: -1.3, c: 0.05 }),
            reference,
            `${item.id}: a reply changes with the key`,
          );
        }
        const keyText = item.options.find((o) => o.id === item.key)?.text ?? '';
        for (const [i, reply] of reference.entries()) {
          if (reply === undefined) continue;
          answered.set(QUESTIONS[i] ?? '', (answered.get(QUESTIONS[i] ?? '') ?? 0) + 1);
          // Belt and braces: no reply names an option or quotes a distinctive key text.
          assert.doesNotMatch(reply, /\b(option|answer|choice) [a-j]\b/i, `${item.id}: ${reply}`);
          if (keyText.length >= 4 && !/^[\d\s.,/%°]+$/.test(keyText)) assert.ok(!reply.includes(keyText), `${item.id}: ${reply}`);
        }
        if (reference.some((r) => r?.startsWith("The author's note") === true)) clarified += 1;
      }
    }
    // The test is not vacuous: all 270 items were asked, the assistant answered, and notes were given.
    assert.equal(items, 270);
    assert.ok(clarified >= 200, `author's notes given for ${clarified} items`);
    for (const q of QUESTIONS) assert.equal(answered.get(q), items, `"${q}" got a reply for every item`);
    console.log(
      `assistant asked ${QUESTIONS.length} questions about ${items} items; notes given for ${clarified}; no reply depends on the key`,
    );
  });

  test('refuses answers and scores, and answers what the platform knows', async () => {
    const [{ test: t, items }] = (await demoBanks()) as [{ test: TestDoc; items: Item[] }];
    const item = items[0] as Item;
    const [answer, , , hint, , , , time, left, submit, proctor, score] = replies(t, item, item.key ?? '', {});
    for (const refused of [answer, hint, score]) assert.match(refused ?? '', /cannot help with answers/);
    assert.equal(time, 'You have 12 minutes 34 seconds left. When the time runs out, what you answered is submitted.');
    assert.match(left ?? '', /You have answered 0 questions \(20 to go\)/);
    assert.match(submit ?? '', /press 1–4/);
    assert.match(proctor ?? '', /proctor watches this conversation/);
    assert.equal(assistantReply('thanks!', helpContextView(assessmentAt(t, item, 0), loadTest(t, []), NOW)), undefined);
  });

  test('an author note that points to an option in any phrasing is withheld, whichever option is the key', async () => {
    const [{ test: t, items }] = (await demoBanks()) as [{ test: TestDoc; items: Item[] }];
    const base = items.find((i) => i.clarification !== undefined) as Item;
    const clarify = QUESTIONS.indexOf('What does this question mean?');
    for (const note of ['The answer is b.', 'Choose b.', 'Correct: (b)', 'It is the second one.', 'Pick #2', 'the last option', 'B)']) {
      for (const option of base.options) {
        const reply = replies(t, { ...base, clarification: note }, option.id, {})[clarify];
        assert.equal(reply, NOTE_WITHHELD, `${note} (key ${option.id})`);
      }
    }
    assert.match(
      replies(t, { ...base, clarification: 'Think about the time complexity of a loop.' }, base.key ?? '', {})[clarify] ?? '',
      /^The author's note on this question: Think about/,
    );
  });

  test('a note that quotes an option or names one is withheld, whichever option is the key', () => {
    const options = [
      { id: 'a', text: 'Stack' },
      { id: 'b', text: 'Queue' },
    ];
    assert.equal(safeClarification({ options, clarification: 'Think of a line at a shop.' }), 'Think of a line at a shop.');
    assert.equal(safeClarification({ options, clarification: 'A queue is not the same as a list.' }), undefined);
    assert.equal(safeClarification({ options, clarification: 'Hint: not option a.' }), undefined);
    assert.equal(
      safeClarification({
        options: [
          { id: 'a', text: '12' },
          { id: 'b', text: '120' },
        ],
        clarification: 'Round to 120.',
      }),
      undefined,
    );
    assert.equal(
      safeClarification({
        options: [
          { id: 'a', text: '12' },
          { id: 'b', text: '7' },
        ],
        clarification: 'Count 120 days.',
      }),
      'Count 120 days.',
    );
  });
});
