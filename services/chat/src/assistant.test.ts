import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ASSISTANT_ID, NOTE_WITHHELD, assistantReply, wantsAuthorNote } from './assistant.ts';
import type { HelpContext } from './assistant.ts';

const PROCTOR =
  'A proctor watches this conversation: write your question here and they will answer. They can clarify wording, pause the test or give extra time, but not answers.';
const ANSWER_REFUSED =
  'I cannot help with answers, hints or scores while the test is running. If a question seems wrong or unclear, say what is unclear and a proctor will look at it.';

/** A fixed-length test in progress, 5 min left, 2 of 10 answered, on its third question of four options. */
const help = (changes: Partial<HelpContext> = {}): HelpContext => ({
  assessment_id: 'a-1',
  status: 'in_progress',
  time_remaining_s: 300,
  answered: 2,
  planned: { min: 10, max: 10 },
  adaptive: false,
  on_expiry: 'autosubmit',
  question: { index: 2, type: 'single_choice', skill: 'software', options: 4 },
  ...changes,
});

describe('the help assistant', () => {
  test('its messages are sent as "assistant"', () => {
    assert.equal(ASSISTANT_ID, 'assistant');
  });

  test('a message it does not recognise is left to the proctors', () => {
    for (const message of ['hello', 'I like this test', 'ok thanks', '']) assert.equal(assistantReply(message, help()), undefined, message);
  });

  test('a request for an answer, a hint or a score is refused, even when it also asks about time or options', () => {
    for (const message of [
      'What is the answer?',
      'Which option is correct?',
      "what's the answer",
      'What are the choices worth? Which is the right one?',
      'is it b',
      'is the answer 4',
      'Tell me the answer',
      'give me the solution',
      'show me answer',
      'Can I have a hint?',
      'Did I get the last one?',
      'am I doing ok',
      'How am I doing?',
      'I think I am doing badly',
      'Is this wrong',
      'true or false?',
      'what is the key',
      'how do I cheat',
      'What is my score?',
      'what grade do I have',
      'what mark will I get',
      'show my result',
      'will I pass',
      'am I passing',
      'will I fail',
      'am I failing',
      'How much time is left to find the correct answer?',
      'How do I select the right option?',
    ]) {
      assert.equal(assistantReply(message, help()), ANSWER_REFUSED, message);
    }
  });

  test('time left in minutes and seconds, with what happens when it runs out', () => {
    const autosubmit = ' When the time runs out, what you answered is submitted.';
    const grace = ' When the time runs out you get a short grace period to submit.';
    const cases: readonly (readonly [number, string])[] = [
      [0, '0 seconds'],
      [1, '1 second'],
      [45, '45 seconds'],
      [60, '1 minute'],
      [61, '1 minute 1 second'],
      [125, '2 minutes 5 seconds'],
      [600, '10 minutes'],
    ];
    for (const [seconds, words] of cases) {
      assert.equal(assistantReply('How much time do I have?', help({ time_remaining_s: seconds })), `You have ${words} left.${autosubmit}`);
    }
    assert.equal(
      assistantReply('how long until the deadline', help({ time_remaining_s: 90, on_expiry: 'grace' })),
      `You have 1 minute 30 seconds left.${grace}`,
    );
    for (const message of [
      'how many minutes',
      'one more minute?',
      'seconds?',
      'just a second',
      'hours left?',
      'an hour?',
      'when does the clock stop',
      'is there a timer',
    ]) {
      assert.match(assistantReply(message, help()) ?? '', /^You have 5 minutes left\./, message);
    }
  });

  test('time while paused, overdue or after the end', () => {
    assert.equal(
      assistantReply('time left?', help({ status: 'paused', time_remaining_s: 121 })),
      'The test is paused; the clock is stopped with 2 minutes 1 second left.',
    );
    assert.equal(
      assistantReply('time left?', help({ status: 'overdue' })),
      'The time is up: end the test now to submit what you answered.',
    );
    for (const status of ['created', 'completed', 'expired', 'abandoned', 'terminated'] as const) {
      assert.equal(assistantReply('time left?', help({ status })), 'This assessment has ended.', status);
    }
  });

  test('progress: answered, planned and what is left of a fixed-length test', () => {
    assert.equal(
      assistantReply('How many questions are left?', help()),
      'You have answered 2 questions (8 to go); this test has 10 questions.',
    );
    assert.equal(
      assistantReply('what is my progress', help({ answered: 1, planned: { min: 5, max: 12 } })),
      'You have answered 1 question (11 to go); this test has between 5 and 12 questions.',
    );
    // More answered than planned (a changed definition) does not count below zero.
    assert.equal(
      assistantReply('questions remaining?', help({ answered: 12 })),
      'You have answered 12 questions (0 to go); this test has 10 questions.',
    );
    assert.equal(
      assistantReply('how many questions are there', help({ answered: 0, adaptive: true, planned: { min: 8, max: 20 } })),
      'You have answered 0 questions; this test has between 8 and 20 questions. The test adapts to your answers, so the exact number depends on them.',
    );
    for (const message of [
      'number of questions?',
      'how much longer is it',
      'is this the last question',
      'how many have I answered',
      'any question left?',
      'questions remaining',
    ]) {
      assert.match(assistantReply(message, help()) ?? '', /^You have answered 2 questions/, message);
    }
  });

  test('how to answer names the keys of the current question', () => {
    const reply = (n: number | undefined) =>
      `Choose one option (click it, use the arrow keys or press 1–${String(n ?? 9)}) and submit with Enter or the Submit button. A submitted answer is final: you cannot go back or skip.`;
    assert.equal(assistantReply('How do I submit?', help()), reply(4));
    assert.equal(assistantReply('how can i go back', help({ question: null })), reply(9));
    assert.equal(
      assistantReply('keyboard shortcut?', help({ question: { index: 0, type: 'single_choice', skill: 's', options: 12 } })),
      reply(9),
    );
    for (const message of ['how should I pick', 'can I skip this', 'change my answer', 'how do i choose']) {
      assert.equal(assistantReply(message, help()), reply(4), message);
    }
  });

  test('clarification without an author note, and the way to a proctor', () => {
    assert.equal(assistantReply('I do not understand this', help()), `This question has no author's note. ${PROCTOR}`);
    assert.equal(assistantReply('I do not understand this', help({ question: null })), `This question has no author's note. ${PROCTOR}`);
    assert.equal(NOTE_WITHHELD, `Notes from the author of this question cannot be shown while you are answering. ${PROCTOR}`);
    for (const message of ['Can I talk to a proctor?', 'I need a human', 'the page is broken', 'I am stuck', 'help me']) {
      assert.equal(assistantReply(message, help()), PROCTOR, message);
    }
  });

  test('only a clarification request about a question with a note wants the note', () => {
    const noted = help({ question: { index: 2, type: 'single_choice', skill: 's', options: 4, clarification: 'Think of a line.' } });
    for (const message of [
      'what does this mean',
      'what do you mean',
      'the meaning?',
      'it means?',
      'the wording is confusing',
      'I am confused',
      'a clarification please',
      'clarify',
      'I do not understand',
      'is this a typo',
      'ambiguous',
      'please explain',
      'unclear',
    ]) {
      assert.equal(wantsAuthorNote(message, noted), true, message);
    }
    assert.equal(wantsAuthorNote('what does this mean', help()), false);
    assert.equal(wantsAuthorNote('what does this mean', help({ question: null })), false);
    assert.equal(wantsAuthorNote('what is the answer, I do not understand', noted), false, 'answer seeking comes first');
    assert.equal(wantsAuthorNote('call a proctor', noted), false);
  });
});
