import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { ADAPTIVE_TEST_ID } from '@ap/demo';
import { findAssessment } from '../services/assessment/src/repository.ts';
import { closeBrowserAndStack, focused, nextScreen, openPage, startBrowserAndStack, visible } from './support/browser.ts';
import type { TestStack } from './support/setup.ts';

let stack: TestStack;
let browser: Browser;

before(async () => {
  ({ browser, stack } = await startBrowserAndStack());
});

// Either may be missing when the set-up failed.
after(() => closeBrowserAndStack(browser, stack));

/** Seconds of an `m:ss` clock. */
function seconds(clock: string | null): number {
  const m = /^(\d+):(\d\d)$/.exec(clock ?? '');
  assert.ok(m, `a clock, not "${clock ?? ''}"`);
  return Number(m[1]) * 60 + Number(m[2]);
}

describe('the clock starts when the candidate presses Start', () => {
  test('the rules page reads the test without starting it; Start starts from the full limit; a reload resumes the question', async () => {
    const candidate = await stack.inviteCandidate(ADAPTIVE_TEST_ID);
    const { page, problems } = await openPage(browser);
    const sent: string[] = [];
    page.on('websocket', (ws) => ws.on('framesent', (f) => sent.push(String(f.payload))));
    await page.goto(`${stack.httpUrl}/?token=${encodeURIComponent(candidate.token)}`);
    await visible(page, 'screen-intro');
    assert.equal(await page.textContent('#intro-time-limit'), '20 minutes');
    assert.equal(await page.textContent('#intro-time-left'), '20:00', 'the whole limit is left');
    assert.match((await page.textContent('#intro-rules')) ?? '', /starts when you press Start/);
    assert.match((await page.textContent('#keys-hint')) ?? '', /arrow keys/, 'keyboard hints on a desktop');

    // Reading the rules for a while takes nothing from the test, and starts nothing on the server.
    await page.waitForTimeout(3500);
    assert.equal(await page.textContent('#intro-time-left'), '20:00', 'the time left does not move on the rules page');
    assert.equal(await findAssessment(stack.db, { candidate_id: candidate.user_id, test_id: ADAPTIVE_TEST_ID }), null, 'no assessment yet');
    assert.ok(sent.some((f) => f.includes('"type":"get_test_info"')));
    assert.ok(!sent.some((f) => f.includes('"type":"start_assessment"')), 'start_assessment is not sent before Start');

    const pressedAt = Date.now();
    await page.click('#start-button');
    assert.equal(await nextScreen(page, 1), 'question');
    assert.ok(seconds(await page.textContent('#timer')) >= 20 * 60 - 2, 'the countdown starts from the full limit');
    const doc = await findAssessment(stack.db, { candidate_id: candidate.user_id, test_id: ADAPTIVE_TEST_ID });
    assert.ok(doc, 'Start created the assessment');
    assert.ok(doc.started_at.getTime() >= pressedAt - 1000, 'the server clock started when Start was pressed');
    const questionId = await page.getAttribute('#question-form', 'data-question-id');

    // A reload of a started assessment goes straight back to the question, with the time left.
    await page.waitForTimeout(1500);
    await page.reload();
    assert.equal(await nextScreen(page, 1), 'question');
    assert.equal(await page.getAttribute('#question-form', 'data-question-id'), questionId, 'the same question');
    const left = seconds(await page.textContent('#timer'));
    assert.ok(left < 20 * 60 && left >= 20 * 60 - 15, `the time left keeps running (${left} s)`);
    assert.equal(await page.isHidden('#screen-intro'), true);
    assert.deepEqual(problems, { errors: [], csp: [] }, 'no script errors and no CSP violations');
    await page.context().close();
  });

  test('on a touch screen the hints say tap, and a tap then Submit answers', async () => {
    const candidate = await stack.inviteCandidate(ADAPTIVE_TEST_ID);
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, locale: 'en-GB' });
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    await page.goto(`${stack.httpUrl}/?token=${encodeURIComponent(candidate.token)}`);
    await visible(page, 'screen-intro');
    assert.equal(await page.evaluate(() => window.matchMedia('(pointer: coarse)').matches), true, 'the emulated device is a touch screen');
    const rules = (await page.textContent('#intro-rules')) ?? '';
    assert.match(rules, /Tap an option/);
    assert.doesNotMatch(rules, /arrow keys/);
    await page.tap('#start-button');
    assert.equal(await nextScreen(page, 1), 'question');
    assert.equal(await page.textContent('#keys-hint'), 'Tap an option, then tap Submit answer.');
    await page.tap('#options label:nth-child(2)');
    await page.tap('#submit-answer');
    assert.equal(await nextScreen(page, 2), 'question');
    assert.notEqual(await focused(page), '#chat-input');
    await context.close();
  });
});
