import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { authorNoteMayBeShown, canonicalNote } from './author-note.ts';
import type { NoteOptions } from './author-note.ts';
import { NOTE_WITHHELD, assistantReply, wantsAuthorNote } from './assistant.ts';
import type { HelpContext } from './assistant.ts';

const QUEUES: NoteOptions = [
  { id: 'a', text: 'Stack' },
  { id: 'b', text: 'Queue' },
  { id: 'c', text: 'Tree' },
  { id: 'd', text: 'Set' },
];
const COMPLEXITY: NoteOptions = [
  { id: 'a', text: 'O(n)' },
  { id: 'b', text: 'O(log n)' },
  { id: 'c', text: 'O(n log n)' },
  { id: 'd', text: 'O(1)' },
];
const SPEEDS: NoteOptions = [
  { id: 'a', text: '80 km/h' },
  { id: 'b', text: '90 km/h' },
  { id: 'c', text: '75 km/h' },
  { id: 'd', text: '85 km/h' },
];
const ROSES: NoteOptions = [
  { id: 'a', text: 'All roses fade quickly' },
  { id: 'b', text: 'Some roses fade quickly' },
  { id: 'c', text: 'Roses are flowers' },
  { id: 'd', text: 'No rose fades quickly' },
];
const NUMBERED: NoteOptions = [
  { id: 'opt-1', text: 'Red' },
  { id: 'opt-2', text: 'Green' },
  { id: 'opt-3', text: 'Blue' },
];

// Notes that name or point to an option, in as many phrasings as an author (or someone trying to
// get a key out) might write them. Each must be withheld.
const LEAKING: readonly (readonly [string, NoteOptions])[] = [
  ['The answer is b.', QUEUES],
  ['Choose b.', QUEUES],
  ['Correct: (b)', QUEUES],
  ['b', QUEUES],
  ['(b)', QUEUES],
  ['B)', QUEUES],
  ['It is option B.', QUEUES],
  ["It's B, trust me.", QUEUES],
  ['b is it', QUEUES],
  ['Not c.', QUEUES],
  ['Think A, not the others.', QUEUES],
  ['Hint: A', QUEUES],
  ['Go with "a"', QUEUES],
  ['Ｂ', QUEUES],
  ['b\u200B', QUEUES],
  ['\u202Eb', QUEUES],
  ['2', QUEUES],
  ['#2', QUEUES],
  ['No. 3 of course', QUEUES],
  ['Number two.', QUEUES],
  ['It is (2) here', QUEUES],
  ['Press 3 and submit.', QUEUES],
  ['①', QUEUES],
  ['It is II', QUEUES],
  ['the second', QUEUES],
  ['Take the 2nd.', QUEUES],
  ['The first one.', QUEUES],
  ['the last option', QUEUES],
  ['the top answer', QUEUES],
  ['Second from the top.', QUEUES],
  ['It is the one at the bottom.', QUEUES],
  ['The one on the left is it.', QUEUES],
  ['Not the first, not the last.', QUEUES],
  ['The right one is easy to spot.', QUEUES],
  ['The correct answer is the third.', QUEUES],
  ['Go with the latter.', QUEUES],
  ['Rule out everything but the stack.', QUEUES],
  ['None of the above.', QUEUES],
  ['Queue', QUEUES],
  ['Think of a queue at a shop.', QUEUES],
  ['Queues are first in, first out.', QUEUES],
  ['Binary search halves the range: log n steps.', COMPLEXITY],
  ['O(n log n)', COMPLEXITY],
  ['About 90.', SPEEDS],
  ['It is the one that says 85.', SPEEDS],
  ['Some roses fade quickly', ROSES],
  ['Only all of them.', ROSES],
  ['opt-2', NUMBERED],
  ['Green, like grass.', NUMBERED],
  ['Solution: red', NUMBERED],
];

// Notes that clarify without pointing anywhere: they stay visible.
const HARMLESS: readonly (readonly [string, NoteOptions])[] = [
  ['Think about the time complexity of a loop', COMPLEXITY],
  ['A loop that halves its range each time runs fewer times than one that steps through it.', COMPLEXITY],
  ['2 hours 15 minutes is two and a quarter hours.', SPEEDS],
  ['Speed is distance over time, in km/h.', SPEEDS],
  ['Use only what the statements say, not what you know about roses.', ROSES],
  ['Add the two numbers.', QUEUES],
  ['Collect the x terms on one side first.', QUEUES],
  ['Look at how each term follows from the one before it.', QUEUES],
  ['A data structure is judged by the order in which items come out.', QUEUES],
  ['Count in minutes, not seconds.', SPEEDS],
  ['p% of n is p × n / 100.', QUEUES],
  ['Think of an analogue clock: the hour hand keeps moving as the minutes pass.', NUMBERED],
];

describe('author notes: withheld when they could point to an option', () => {
  test(`${String(LEAKING.length)} leaking phrasings are withheld`, () => {
    assert.ok(LEAKING.length >= 25);
    for (const [note, options] of LEAKING) assert.equal(authorNoteMayBeShown(note, options), false, `shown: ${JSON.stringify(note)}`);
  });

  test(`${String(HARMLESS.length)} harmless hints are shown`, () => {
    for (const [note, options] of HARMLESS) assert.equal(authorNoteMayBeShown(note, options), true, `withheld: ${JSON.stringify(note)}`);
  });

  test('without the options, or with an empty note, nothing is shown', () => {
    assert.equal(authorNoteMayBeShown('Think about the time complexity of a loop', undefined), false);
    assert.equal(authorNoteMayBeShown('Think about the time complexity of a loop', []), false);
    assert.equal(authorNoteMayBeShown(' \u200B ', QUEUES), false);
  });

  test('the decision reads the options alike: reordering them or their ids changes nothing', () => {
    const reordered = [...QUEUES].reverse().map((o, i) => ({ id: String.fromCharCode(97 + i), text: o.text }));
    for (const [note] of [...LEAKING, ...HARMLESS]) {
      assert.equal(authorNoteMayBeShown(note, reordered), authorNoteMayBeShown(note, QUEUES), note);
    }
  });

  test('a note is shown as it was checked: no format characters, whitespace collapsed', () => {
    assert.equal(canonicalNote(' Think \u200Bof\n a\u202E loop '), 'Think of a loop');
  });
});

// Random notes: a harmless sentence with a reference to one option put in it. The sentence alone is
// shown; with the reference, in whatever case, bracket or wording, it is withheld.
const WORDS = ['Stack', 'Queue', 'Tree', 'Graph', 'Heap', 'Array', 'Hash map', 'Linked list', '42', '3.5', 'O(n)', 'Never', 'Always'];
const BEFORE = ['', 'Honestly,', 'Look again:', 'Read the stem twice.', 'Remember the definition;', 'Hint -', 'Between us,'];
const AFTER = ['', '.', 'fits the definition best.', 'matches the description.', 'is what the author meant.', '— think about why.'];
const ORDINAL_WORDS = ['first', 'second', 'third', 'fourth', 'fifth', 'sixth'];
const NUMBER_NAMES = ['one', 'two', 'three', 'four', 'five', 'six'];

const withCase = (s: string, upper: boolean) => (upper ? s.toUpperCase() : s);
const reference = fc
  .record({
    texts: fc.uniqueArray(fc.constantFrom(...WORDS), { minLength: 2, maxLength: 6 }),
    pick: fc.nat(),
    form: fc.nat(13),
    upper: fc.boolean(),
    wrap: fc.constantFrom(['', ''], ['(', ')'], ['', ')'], ['[', ']'], ['"', '"'], ["'", "'"], ['', '.'], ['#', '']),
    before: fc.constantFrom(...BEFORE),
    after: fc.constantFrom(...AFTER),
  })
  .map(({ texts, pick, form, upper, wrap, before, after }) => {
    const index = pick % texts.length;
    const letter = String.fromCharCode(97 + index);
    const options = texts.map((text, k) => ({ id: String.fromCharCode(97 + k), text }));
    const [open, close] = wrap;
    const forms = [
      `${open}${withCase(letter, upper)}${close}`,
      `option ${withCase(letter, upper)}`,
      `choice ${String(index + 1)}`,
      `${open}${String(index + 1)}${close === '' ? ')' : close}`,
      `number ${NUMBER_NAMES[index] ?? 'one'}`,
      `#${String(index + 1)}`,
      `the ${ORDINAL_WORDS[index] ?? 'first'} one`,
      `the ${ORDINAL_WORDS[index] ?? 'first'}.`,
      `the ${index === texts.length - 1 ? 'last' : 'top'} one`,
      `the correct answer`,
      `go with ${withCase(letter, upper)}`,
      `${open}${texts[index] ?? ''}${close}`,
      withCase(texts[index] ?? '', upper),
      withCase(letter === 'a' ? 'A' : letter, true),
    ];
    return { options, before, after, form: forms[form % forms.length] ?? '' };
  });

describe('author notes: random references to an option', () => {
  test('a harmless sentence is shown, and withheld once it refers to an option', () => {
    fc.assert(
      fc.property(reference, ({ options, before, after, form }) => {
        const plain = `${before} ${after}`.trim();
        if (plain.length > 0) assert.equal(authorNoteMayBeShown(plain, options), true, plain);
        const note = `${before} ${form} ${after}`.trim();
        assert.equal(authorNoteMayBeShown(note, options), false, note);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('the help assistant relays a note only when it is safe', () => {
  const context = (clarification?: string): HelpContext => ({
    assessment_id: 'a-1',
    status: 'in_progress',
    time_remaining_s: 300,
    answered: 2,
    planned: { min: 10, max: 10 },
    adaptive: false,
    on_expiry: 'autosubmit',
    question: { index: 2, type: 'single_choice', skill: 'software', options: 4, ...(clarification === undefined ? {} : { clarification }) },
  });

  test('asked what a question means, it gives a harmless note and withholds a pointing one', () => {
    const ask = 'What does this question mean?';
    assert.equal(wantsAuthorNote(ask, context('Think of a line at a shop.')), true);
    assert.equal(wantsAuthorNote('How much time is left?', context('Think of a line at a shop.')), false);
    assert.equal(wantsAuthorNote(ask, context()), false);
    assert.equal(
      assistantReply(ask, context('Think of a line at a shop.'), QUEUES),
      "The author's note on this question: Think of a line at a shop.",
    );
    for (const note of ['The answer is b.', 'Choose b.', 'Correct: (b)', 'A queue, obviously.']) {
      const reply = assistantReply(ask, context(note), QUEUES);
      assert.equal(reply, NOTE_WITHHELD);
      assert.ok(!reply.includes(note));
    }
    // Without the options the note cannot be checked: withheld.
    assert.equal(assistantReply(ask, context('Think of a line at a shop.')), NOTE_WITHHELD);
    assert.match(assistantReply(ask, context(), QUEUES) ?? '', /has no author's note/);
  });
});
