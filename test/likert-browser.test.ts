import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { findAssessment } from '../services/assessment/src/repository.ts';
import { assertAccessible } from './support/a11y.ts';
import { closeBrowserAndStack, focused, nextScreen, openPage, startBrowserAndStack, visible } from './support/browser.ts';
import type { TestStack } from './support/setup.ts';

let stack: TestStack;
let browser: Browser;
let testId: string;

const SCALE = ['Strongly disagree', 'Disagree', 'Neither agree nor disagree', 'Agree', 'Strongly agree'];

before(async () => {
  ({ browser, stack } = await startBrowserAndStack());
  const options = SCALE.map((text, i) => ({ id: `s${i}`, text }));
  ({ test_id: testId } = await stack.bus.request('testCreate', {
    caller: { user_id: stack.seed.recruiter.user_id, role: 'recruiter' },
    definition: {
      id: 'likert-browser',
      title: 'Working style',
      time_limit_s: 600,
      strategy: 'fixed',
      items: ['lkb-1', 'lkb-2'],
      // Correctness is shown for single choices; a Likert answer has none to show.
      feedback: { show_correctness: true, show_score: true },
    },
    items: [
      { id: 'lkb-1', skill: 'teamwork', type: 'likert', stem: 'I ask colleagues for help when I am stuck.', options },
      { id: 'lkb-2', skill: 'teamwork', type: 'likert', stem: 'I explain my decisions to the team.', options, model: 'GPCM' },
    ],
  }));
});

// Either may be missing when the set-up failed.
after(() => closeBrowserAndStack(browser, stack));

/** The top edges of the option labels, rounded to whole pixels. */
function optionTops(page: Page): Promise<number[]> {
  return page.$$eval('#options .option', (els) => els.map((el) => Math.round(el.getBoundingClientRect().top)));
}

describe('a Likert question on the candidate page', () => {
  test('shows its ordered options as a scale, answers with the number keys, shows no correctness and passes axe', async () => {
    const candidate = await stack.inviteCandidate(testId);
    const { page, problems } = await openPage(browser, 1100, 800);
    await page.goto(`${stack.httpUrl}/?token=${encodeURIComponent(candidate.token)}`);
    await visible(page, 'screen-intro');
    await page.click('#start-button');
    assert.equal(await nextScreen(page, 1), 'question');
    assert.equal(await page.textContent('#question-stem'), 'I ask colleagues for help when I am stuck.');
    assert.equal(await page.getAttribute('#options', 'data-type'), 'likert');
    assert.deepEqual(await page.$$eval('#options .option-text', (els) => els.map((el) => el.textContent)), SCALE);
    assert.equal(new Set(await optionTops(page)).size, 1, 'the scale lies in one row on a wide screen');
    await assertAccessible(page, 'Likert question, wide screen');

    // The keyboard handling of every question: a number key chooses that option, Enter submits.
    assert.match(await focused(page), /^#option-\d$/);
    await page.keyboard.press('4');
    assert.equal(await page.$eval('#options', (el) => el.querySelector<HTMLInputElement>('input:checked')?.value ?? ''), 's3');
    await page.keyboard.press('Enter');
    assert.equal(await nextScreen(page, 2), 'question');
    const saved = (await page.textContent('#answers-list')) ?? '';
    assert.match(saved, /Question 1: Agree — saved/);
    assert.doesNotMatch(saved, /correct/, 'no correctness for a Likert answer');

    // On a narrow screen the same scale is a column.
    await page.setViewportSize({ width: 390, height: 844 });
    const tops = await optionTops(page);
    assert.equal(new Set(tops).size, SCALE.length, 'one option a line on a narrow screen');
    assert.deepEqual(
      [...tops].sort((x, y) => x - y),
      tops,
      'in their order',
    );
    await assertAccessible(page, 'Likert question, narrow screen');
    await page.keyboard.press('1');
    await page.keyboard.press('Enter');
    assert.equal(await nextScreen(page, 3), 'end');
    // The end screen counts no Likert answer as a wrong one: no "0 of 2 correct".
    const facts = (await page.textContent('#end-facts')) ?? '';
    assert.match(facts, /Scale questions answered\s*2 \(no right or wrong answer\)/);
    assert.doesNotMatch(facts, /Correct answers/);
    assert.deepEqual(await page.$$eval('#end-skills-body td', (els) => els.map((el) => el.textContent)).then((t) => t.slice(0, 2)), [
      '2',
      '—',
    ]);
    // After a reload the page has not seen the answers: it says what the count of correct answers is of.
    await page.reload();
    await visible(page, 'screen-end');
    const reloaded = (await page.textContent('#end-facts')) ?? '';
    assert.match(reloaded, /Questions answered\s*2/);
    assert.match(reloaded, /of the single-choice questions; scale questions have no right answer/);
    assert.doesNotMatch(reloaded, /0 of 2/);
    assert.match(reloaded, /Answers saved\s*2/, 'the answers given before the reload still count as saved');

    const doc = await findAssessment(stack.db, { candidate_id: candidate.user_id, test_id: testId });
    assert.deepEqual(
      doc?.responses.map((r) => [r.item_id, r.selected_option, r.category, r.correct]),
      [
        ['lkb-1', 's3', 3, false],
        ['lkb-2', 's0', 0, false],
      ],
    );
    assert.deepEqual(problems.errors, []);
    assert.deepEqual(problems.csp, []);
  });
});
