import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { authorNoteMayBeShown } from './author-note.ts';
import type { NoteOptions } from './author-note.ts';

// Each word and mark in the lists of author-note.ts is there for a phrasing that points to an
// option: one note per entry, which that entry alone withholds. A note that leaves the entry out
// is shown, so each case also checks that the rest of the note points nowhere.

const FOUR: NoteOptions = [
  { id: 'a', text: 'Stack' },
  { id: 'b', text: 'Queue' },
  { id: 'c', text: 'Tree' },
  { id: 'd', text: 'Set' },
];
const COLOURS = ['Red', 'Green', 'Blue', 'Cyan', 'Magenta', 'Yellow', 'Black', 'White', 'Grey', 'Brown', 'Pink', 'Violet'];
// Twelve options, so that every number up to twelve names one.
const TWELVE: NoteOptions = COLOURS.map((text, k) => ({ id: String.fromCharCode(97 + k), text }));

const withheld = (note: string, options: NoteOptions = FOUR) => assert.equal(authorNoteMayBeShown(note, options), false, `shown: ${note}`);
const shown = (note: string, options: NoteOptions = FOUR) => assert.equal(authorNoteMayBeShown(note, options), true, `withheld: ${note}`);

describe('author notes: every entry of the lists withholds its phrasing', () => {
  test('ordinals and place words: "the second.", "the 2nd", "first item"', () => {
    const ordinals = ['first', 'second', 'third', 'fourth', 'fifth', 'sixth', 'seventh', 'eighth', 'ninth', 'tenth', 'last', 'final'];
    const places = [
      'top',
      'bottom',
      'middle',
      'upper',
      'lower',
      'uppermost',
      'topmost',
      'bottommost',
      'lowermost',
      'leftmost',
      'rightmost',
    ];
    for (const word of [...ordinals, ...places]) withheld(`Think about the ${word}.`, TWELVE);
    shown('Think about the loop.', TWELVE);
    withheld('Think about the 3rd.', TWELVE);
    withheld('Think of the 2nd of them', TWELVE);
    withheld('The 3rd fits', TWELVE);
    shown('The 13th fits', TWELVE);
    for (const noun of [
      'one',
      'ones',
      'item',
      'items',
      'entry',
      'entries',
      'listed',
      'given',
      'shown',
      'displayed',
      'mentioned',
      'button',
      'line',
      'row',
    ]) {
      withheld(`Look twice: first ${noun} fits well`, TWELVE);
    }
    shown('Look twice: first loop fits well', TWELVE);
    shown('Look twice: first, item fits well', TWELVE);
  });

  test('words that make a number or letter a label: "number 2", "press 3", "letter b"', () => {
    const labels = [
      'number',
      'numbers',
      'no',
      'nr',
      'num',
      'numero',
      'item',
      'letter',
      'press',
      'hit',
      'type',
      'mark',
      'label',
      'labelled',
      'labeled',
    ];
    for (const label of labels) withheld(`Think ${label} 2 fits`);
    shown('Think loop 2 fits');
  });

  test('numbers in words up to the number of options, and roman numerals from ii', () => {
    const spelled = ['one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve'];
    for (const word of spelled) withheld(`Hint (${word}) fits`, TWELVE);
    shown('Hint (zero) fits', TWELVE);
    shown('Hint (five) fits');
    const roman = ['ii', 'iii', 'iv', 'v', 'vi', 'vii', 'viii', 'ix', 'x', 'xi', 'xii'];
    for (const numeral of roman) withheld(`See ${numeral} again`, TWELVE);
    shown('See v again');
  });

  test('what follows a letter written as a label but never the article: "a is", "a and c"', () => {
    const after = [
      'is',
      "isn't",
      'was',
      "wasn't",
      'are',
      'be',
      'fits',
      'matches',
      'works',
      'holds',
      'wins',
      'applies',
      'seems',
      'looks',
      'sounds',
      'does',
      "doesn't",
      'did',
      'should',
      'would',
      'could',
      'must',
      'can',
      "can't",
      'cannot',
      'will',
      "won't",
      'may',
      'might',
      'has',
      'had',
      'makes',
      'gives',
      'says',
      'describes',
      'and',
      'or',
      'nor',
      'but',
      'then',
      'vs',
      'versus',
      'over',
      'rather',
      'instead',
      'alone',
      'it',
    ];
    for (const word of after) withheld(`I think a ${word} here`);
    shown('I think a loop here');
  });

  test('brackets, quotes and marks around a number make it a label', () => {
    for (const open of ['(', '[', '{', '<', '"', "'", '‘', '“', '«', '#']) withheld(`Think ${open}2 here`);
    for (const close of [')', ']', '}', '>', '"', "'", '’', '”', '»']) withheld(`Think 2${close} here`);
    for (const end of ['.', '!', '?', ',', ';', ':', '—', '–', '-', '/']) withheld(`Think 2${end} here`);
    for (const before of [':', '=', '>', '-', '→']) withheld(`Think ${before} 2 here`);
    withheld('Think 2');
    shown('Think 2 here');
    shown('Think 7.');
  });

  test('a capital A inside a sentence is a label; at the start of one it is the article', () => {
    for (const start of ['A loop halves the range.', 'Read it. A loop halves the range.', 'Why? A loop halves it!']) {
      shown(start);
    }
    withheld('Then A loop halves the range.');
    // With nine options "i" is a letter too, but the pronoun "I" is not a label.
    const nine = TWELVE.slice(0, 9);
    shown('Then I think it halves the range.', nine);
    withheld('Then (I) halves the range.', nine);
  });

  test('common words of an option text do not count as quoting it', () => {
    const stopwords = ['an', 'the', 'is', 'are', 'was', 'were', 'be', 'been', 'being', 'it', 'its', 'of', 'to', 'in', 'on', 'at'];
    const more = ['by', 'for', 'with', 'as', 'from', 'into', 'and', 'or', 'but', 'if', 'then', 'so', 'than', 'that', 'these', 'those'];
    const rest = [
      'there',
      'do',
      'did',
      'can',
      'will',
      'would',
      'should',
      'may',
      'might',
      'must',
      'has',
      'have',
      'had',
      'you',
      'we',
      'they',
      'he',
      'she',
    ];
    // "this", "does" and "it's" too, which lose their last letter like a plural -s before the comparison.
    for (const word of [...stopwords, ...more, ...rest, 'what', 'which', 'who', 'this', 'does', "it's"]) {
      const options: NoteOptions = [
        { id: 'a', text: `Stack ${word} heap` },
        { id: 'b', text: 'Queue' },
        { id: 'c', text: 'Tree' },
      ];
      shown(`Slow down ${word} read twice`, options);
    }
    shown("Slow down this it's read twice", [
      { id: 'a', text: "Stack this it's" },
      { id: 'b', text: 'Queue' },
    ]);
    withheld('Slow down heap read twice', [
      { id: 'a', text: 'Stack heap' },
      { id: 'b', text: 'Queue' },
    ]);
  });

  test('words that pick or judge an option, in any form', () => {
    const words = [
      'answer',
      'answered',
      'correct',
      'correctly',
      'incorrect',
      'incorrectly',
      'wrong',
      'wrongly',
      'option',
      'optional',
      'opt',
      'choice',
      'choices',
      'choose',
      'choosing',
      'chosen',
      'chose',
      'pick',
      'picking',
      'select',
      'selected',
      'alternative',
      'alternatives',
      'solution',
      'solutions',
      'key',
      'keys',
      'tick',
      'ticked',
      'circle',
      'circled',
      'click',
      'clicking',
      'eliminate',
      'elimination',
      'former',
      'latter',
      'penultimate',
    ];
    for (const word of words) withheld(`Read it twice; ${word} matters here`);
    for (const word of ['keyboard', 'monkey', 'donkeys', 'formerly', 'optics', 'topic']) shown(`Read it twice; ${word} matters here`);
  });

  test('phrases that point at a place in the list', () => {
    const phrases = [
      'go with it',
      'goes with it',
      'going with it',
      'went with it',
      'rule out',
      'rules it out',
      'ruled them out',
      'cross out',
      'crossed out',
      'counting from the top',
      'counting from the bottom',
      'counting from the end',
      'counting from the start',
      'counting from the beginning',
      'counting from the left',
      'counting from the right',
      'look at the top here',
      'look on the bottom here',
      'look near the very top here',
      'the one on the left fits',
      'the ones at the right fit',
      'the one in the middle fits',
      'the one near the end fits',
      'the one to the start fits',
      'the one nearest the beginning fits',
      'the one closest the end fits',
      'the ones closest bottom fit',
      'none of the above fits',
      'all from the below fit',
      'the one above fits',
      'the ones below fit',
      'the item below fits',
      'the items above fit',
      'the entry below fits',
      'the entries above fit',
      'those listed below fit',
      'those given above fit',
      'those shown below fit',
      'see the above here',
      'see the below here',
      'the right one fits',
      'the best ones fit',
      'the only one fits',
      'the true one fits',
      'the valid one fits',
      'the good one fits',
      'the proper one fits',
      'the expected one fits',
    ];
    for (const phrase of phrases) withheld(`Think twice: ${phrase}`);
    for (const phrase of [
      'go on with it',
      'rule of thumb',
      'from the heart',
      'at the start here',
      'the one we saw fits',
      'above all fits',
      'the right way fits',
    ]) {
      shown(`Think twice: ${phrase}`);
    }
  });

  test('numbers: positions up to the number of options, as labels only; equal values compare equal', () => {
    withheld('Hint (10) fits', TWELVE);
    withheld('Hint (12) fits', TWELVE);
    shown('Hint (13) fits', TWELVE);
    shown('Hint (0) fits');
    withheld('Hint: 4th fits');
    shown('Hint: 5th fits');
    withheld('The 11th fits', TWELVE);
    withheld('Think about the second of them here');
    const lengths: NoteOptions = [
      { id: 'a', text: '12.50 m' },
      { id: 'b', text: '0,65 m' },
      { id: 'c', text: '7 m' },
    ];
    withheld('It is about 12.5 here', lengths);
    withheld('It is about 0.650 here', lengths);
    shown('It is about 12.05 here', lengths);
  });

  test('newlines and tabs in a note separate words; a zero-width space does not', () => {
    withheld('Que\u200Bue is it');
    shown('Think\nabout\tloops');
    withheld('Think\nb\tfits');
  });

  test('an option of symbols only does not withhold every note', () => {
    shown('Think about the loop', [...FOUR, { id: 'e', text: '?' }]);
  });

  test("an option's whole text is quoted even when it is only common words, at the end of the note too", () => {
    const common: NoteOptions = [
      { id: 'a', text: 'It is' },
      { id: 'b', text: 'Queue' },
      { id: 'c', text: 'Tree' },
    ];
    withheld('Read it as it is', common);
    withheld('It is hard', common);
    shown('Read it as is', common);
  });

  test('the letters a candidate may call the options by, whatever their ids, and ids of their own', () => {
    const named: NoteOptions = [
      { id: 'opt-x', text: 'Red' },
      { id: 'opt-y', text: 'Green' },
      { id: 'opt-z', text: 'Blue' },
    ];
    withheld('It is b', named);
    shown('Raise e to the power', FOUR);
    withheld('See opt-x here', named);
    const hyphenated: NoteOptions = [
      { id: 'red-fox', text: 'Stack' },
      { id: 'blue-jay', text: 'Queue' },
      { id: 'grey-owl', text: 'Tree' },
    ];
    withheld('See blue-jay here', hyphenated);
    shown('See the sky here', hyphenated);
    const words: NoteOptions = [
      { id: 'alpha', text: 'Stack' },
      { id: 'Beta', text: 'Queue' },
    ];
    withheld('Think beta here', words);
    shown('Think gamma here', words);
    // Numeric ids are positions: a number names one only as a label, up to the highest id.
    const numeric: NoteOptions = [
      { id: '10', text: 'Red' },
      { id: '20', text: 'Green' },
      { id: '30', text: 'Blue' },
    ];
    shown('Wait 20 minutes here', numeric);
    withheld('Think (20) here', numeric);
    shown('Think (31) here', numeric);
  });

  test('the articles "a" and "I" in an option text do not count as quoting it', () => {
    shown('Think of a loop', [
      { id: 'a', text: 'A stack' },
      { id: 'b', text: 'Queue' },
      { id: 'c', text: 'Tree' },
    ]);
    shown('I think about loops', [
      { id: 'a', text: 'I agree' },
      { id: 'b', text: 'Queue' },
      { id: 'c', text: 'Tree' },
    ]);
    // "I" followed by what is said of a label is still the pronoun.
    shown('Then I can see it halves the range.', TWELVE.slice(0, 9));
  });
});
