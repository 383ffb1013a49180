import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { answerFacts, singleChoiceCount, skillCorrectText, skillShare } from './session.ts';
import type { GivenAnswer } from './session.ts';

let next = 0;
const answer = (type: GivenAnswer['type'], skill = 'maths'): GivenAnswer => ({
  question_id: `q-${String((next += 1))}`,
  index: 0,
  selected_option: 'a',
  option_text: 'A',
  acknowledged: true,
  ...(type === undefined ? {} : { type }),
  skill,
});

describe('the end screen counts correct answers of single choices only', () => {
  it('a test of single choices only reads "x of n" as before', () => {
    const result = { number_correct: 3, answered: 4, percent_correct: 75 };
    assert.deepEqual(answerFacts(result, []), [['Correct answers', '3 of 4 (75%)']]);
    assert.equal(skillCorrectText('maths', 3, result, []), '3');
  });

  it('with Likert answers seen on the page: correct of the single choices, the scale answers as answered', () => {
    // 2 single choices (1 right, 50%) and 3 Likert answers: never "1 of 5".
    const answers = [
      answer('single_choice'),
      answer('likert', 'team'),
      answer('single_choice'),
      answer('likert', 'team'),
      answer('partial_credit', 'team'),
    ];
    const result = { number_correct: 1, answered: 5, percent_correct: 50 };
    assert.equal(singleChoiceCount(result, answers), 2);
    assert.deepEqual(answerFacts(result, answers), [
      ['Correct answers', '1 of 2 single-choice questions (50%)'],
      ['Scale questions answered', '3 (no right or wrong answer)'],
    ]);
    assert.equal(skillCorrectText('maths', 1, result, answers), '1 of 2');
    assert.equal(skillCorrectText('team', 0, result, answers), '—');
  });

  it('a test of Likert questions only says nothing about correct answers', () => {
    const answers = [answer('likert'), answer('likert')];
    const result = { number_correct: 0, answered: 2, percent_correct: 0 };
    assert.deepEqual(answerFacts(result, answers), [['Scale questions answered', '2 (no right or wrong answer)']]);
    assert.equal(skillCorrectText('maths', 0, result, answers), '—');
  });

  it('after a reload (no answer seen), the count of single choices comes from the percent when only one count fits', () => {
    // 2 of 3 single choices right = 66.7%; 2 of 4 would be 50%, 2 of 5 40%.
    const result = { number_correct: 2, answered: 5, percent_correct: 66.7 };
    assert.equal(singleChoiceCount(result, []), 3);
    assert.deepEqual(answerFacts(result, []), [
      ['Correct answers', '2 of 3 single-choice questions (67%)'],
      ['Scale questions answered', '2 (no right or wrong answer)'],
    ]);
    assert.equal(skillCorrectText('maths', 2, result, []), '2 (single choice)');
  });

  it('when no count fits uniquely it says the percent is of the single choices', () => {
    // None right: any number of single choices fits.
    const result = { number_correct: 0, answered: 4, percent_correct: 0 };
    assert.equal(singleChoiceCount(result, []), undefined);
    assert.deepEqual(answerFacts(result, []), [
      ['Questions answered', '4'],
      ['Correct answers', '0 (0% of the single-choice questions; scale questions have no right answer)'],
    ]);
    // Some answers seen, not all: the page does not guess from them.
    assert.equal(singleChoiceCount(result, [answer('likert')]), undefined);
  });

  it('the percent-correct bars by skill: single choices only, and none when a share is unknown', () => {
    const maths = { skill: 'maths', answered: 3, correct: 1 };
    const team = { skill: 'team', answered: 2, correct: 0 };
    // Every answer a single choice: the counts as the server gives them.
    assert.deepEqual(skillShare(maths, { number_correct: 1, answered: 3, percent_correct: 33.3 }, []), {
      value: 100 / 3,
      detail: '1 of 3 correct',
    });
    // One single choice (right) and two Likert answers in maths, two Likert answers in team.
    const answers = [answer('single_choice'), answer('likert'), answer('likert'), answer('likert', 'team'), answer('likert', 'team')];
    const result = { number_correct: 1, answered: 5, percent_correct: 100 };
    assert.deepEqual(skillShare(maths, result, answers), { value: 100, detail: '1 of 1 single-choice questions correct' });
    assert.deepEqual(skillShare(team, result, answers), { value: 0, detail: 'no single-choice questions' });
    // After a reload: the single choices are known in all (1 of 1 at 100%), not per skill.
    assert.equal(skillShare(maths, result, []), undefined);
    // Known to be none at all: every skill has none.
    assert.deepEqual(skillShare(team, { number_correct: 0, answered: 2, percent_correct: 0 }, [answer('likert'), answer('likert')]), {
      value: 0,
      detail: 'no single-choice questions',
    });
  });
});
