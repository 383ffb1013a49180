import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { EXAMPLE_TEST_ID } from '@ap/demo';
import { assertAccessible, assertTargetSizes, axeViolations, obscuredFocus, smallTargets } from './support/a11y.ts';
import {
  answerWithKeyboard,
  closeBrowserAndStack,
  nextScreen,
  openPage,
  recentFrames,
  startBrowserAndStack,
  visible,
} from './support/browser.ts';
import type { TestStack } from './support/setup.ts';

let stack: TestStack;
let browser: Browser;
let gatedTestId: string;

before(async () => {
  ({ browser, stack } = await startBrowserAndStack());
  gatedTestId = await stack.createTest(
    {
      id: 'a11y-gated',
      title: 'Approved start with a practice question',
      time_limit_s: 600,
      strategy: 'fixed',
      proctored: true,
      start_requires_approval: true,
      practice: {
        stem: 'Practice: which of these is a prime number?',
        options: [
          { id: 'a', text: 'Nine' },
          { id: 'b', text: 'Seven' },
        ],
        answer: 'b',
      },
    },
    2,
  );
});

// Either may be missing when the set-up failed.
after(() => closeBrowserAndStack(browser, stack));

/** axe (WCAG 2.0–2.2 A and AA), target sizes, and focus never under a fixed or sticky element, in one state of a page. */
async function check(page: Page, state: string, options: { focus?: boolean } = {}): Promise<void> {
  await assertAccessible(page, state);
  await assertTargetSizes(page, state);
  if (options.focus === true) assert.deepEqual(await obscuredFocus(page), [], `${state}: focus hidden under a fixed or sticky element`);
}

function rowOf(page: Page, name: string): Locator {
  return page.locator('#live-rows tr', { has: page.locator('th .candidate-name', { hasText: name }) });
}

describe('accessibility of every page and state (axe-core, WCAG 2.2 AA)', () => {
  test('the checks find what they look for on a page that breaks the rules', async () => {
    const { page } = await openPage(browser, 800, 600);
    await page.setContent(
      '<!doctype html><html><head><title>Broken</title></head><body>' +
        '<header style="position:fixed;top:0;left:0;right:0;height:80px;background:#fff">Header</header>' +
        '<main><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><input type="text">' +
        '<button style="width:12px;height:12px;padding:0;margin-top:20px"></button></main></body></html>',
    );
    const violations = (await axeViolations(page)).map((v) => v.id).sort();
    for (const id of ['button-name', 'image-alt', 'label', 'target-size'])
      assert.ok(violations.includes(id), `${id} in ${violations.join(', ')}`);
    await assert.rejects(assertAccessible(page, 'broken'), /WCAG A\/AA violations\n {2}\S+ \((critical|serious|moderate|minor)\)/);
    assert.ok(
      (await smallTargets(page)).some((t) => t.startsWith('button 12×12')),
      'the 12 px button is too small',
    );
    assert.ok((await obscuredFocus(page)).length > 0, 'the fixed header covers the focused field');
    await page.context().close();
  });

  test('the candidate page and the proctor dashboard, through sign-in, rules, question, pause, dialogs, chat and the end', async () => {
    const proctor = await openPage(browser, 1300, 800);
    const candidate = await openPage(browser, 1000, 760);
    const invitation = await stack.bus.request('authInvite', {
      caller: { user_id: stack.seed.recruiter.user_id, role: 'recruiter' },
      test_id: EXAMPLE_TEST_ID,
      candidate_email: 'mary.somerville@test.example',
      candidate_name: 'Mary Somerville',
      accommodations: { time_multiplier: 1.5, extra_seconds: 60 },
    });

    // Proctor: sign-in, a refused password, the empty dashboard.
    const p = proctor.page;
    await p.goto(`${stack.httpUrl}/proctor`);
    await visible(p, 'screen-signin');
    await check(p, 'proctor sign-in', { focus: true });
    await p.getByLabel('Email').fill(stack.seed.proctor.email);
    await p.getByLabel('Password').fill('not-the-password');
    await p.getByLabel('Password').press('Enter');
    await visible(p, 'signin-error');
    await check(p, 'proctor sign-in, refused');
    await p.getByLabel('Password').fill(stack.seed.proctor.password);
    await p.getByLabel('Password').press('Enter');
    await visible(p, 'screen-dashboard');
    await p.waitForFunction(() => document.getElementById('connection-text')?.textContent === 'Connected');
    await check(p, 'proctor dashboard, no candidates');

    // Candidate: sign-in, a wrong code, the rules page.
    const c = candidate.page;
    await c.goto(`${stack.httpUrl}/`);
    await visible(c, 'screen-signin');
    await check(c, 'candidate sign-in', { focus: true });
    await c.getByLabel('Invitation code').fill('WRONG-CODE-00');
    await c.getByLabel('Invitation code').press('Enter');
    await visible(c, 'code-error');
    await check(c, 'candidate sign-in, wrong code');
    await c.getByLabel('Invitation code').fill(invitation.code);
    await c.getByLabel('Invitation code').press('Enter');
    await visible(c, 'screen-intro');
    // Her rules page gives her own time: 5 minutes × 1.5 + 60 s.
    assert.equal(await c.textContent('#intro-time-limit'), "8 minutes 30 seconds, with your extra time (the test's limit is 5 minutes)");
    assert.equal(await c.textContent('#intro-time-left'), '8:30');
    await check(c, 'candidate rules page', { focus: true });
    await c.click('#start-button');
    assert.equal(await nextScreen(c, 1), 'question');
    await check(c, 'candidate question', { focus: true });
    await c.focus('#option-1');
    await answerWithKeyboard(c, 1);
    assert.equal(await nextScreen(c, 2), 'question');
    await check(c, 'candidate question after an answer');

    // The dashboard with the candidate's row (and her accommodations), then its dialogs and the conversation.
    const row = rowOf(p, 'Mary Somerville');
    await row.locator('.candidate-accommodations', { hasText: 'Accommodations: time × 1.5, +60 s' }).waitFor();
    await row.locator('.progress-text', { hasText: /^1 of/ }).waitFor();
    await check(p, 'proctor dashboard with a candidate', { focus: true });
    await row.getByRole('button', { name: 'Message, Mary Somerville' }).click();
    await visible(p, 'conversation');
    await p.keyboard.type('Hello Mary, I am your proctor today.');
    await p.keyboard.press('Enter');
    await p.locator('#conversation-log li', { hasText: 'Hello Mary' }).waitFor();
    await c.locator('#chat-log li', { hasText: 'Hello Mary' }).waitFor();
    await check(p, 'proctor conversation');
    await check(c, 'candidate help panel with a message');

    await row.getByRole('button', { name: 'Pause, Mary Somerville' }).click();
    const pauseDialog = p.getByRole('dialog', { name: 'Pause the assessment of Mary Somerville' });
    await pauseDialog.waitFor();
    await check(p, 'proctor pause dialog');
    await p.keyboard.type('Fire alarm test');
    await pauseDialog.getByRole('button', { name: 'Pause', exact: true }).click();
    await pauseDialog.waitFor({ state: 'hidden' });
    await visible(c, 'screen-paused');
    await check(c, 'candidate paused');
    await row.getByRole('button', { name: 'Resume, Mary Somerville' }).click();
    assert.equal(await nextScreen(c, 2), 'question');
    await check(c, 'candidate question after the pause', { focus: true });

    await row.getByRole('button', { name: 'Extra time, Mary Somerville' }).click();
    const extraDialog = p.getByRole('dialog', { name: 'Give Mary Somerville extra time' });
    await extraDialog.waitFor();
    await check(p, 'proctor extra time dialog');
    await extraDialog.getByRole('button', { name: 'Add time', exact: true }).click();
    await extraDialog.waitFor({ state: 'hidden' });
    // The time message is in a polite live region, not an alert.
    await c.locator('#time-warning', { hasText: 'You were given 5 minutes more' }).waitFor();
    assert.equal(
      await c.$eval('#time-warning', (el) => el.closest('[aria-live="polite"]') !== null && el.closest('[role="alert"]') === null),
      true,
      'time warnings are announced politely',
    );
    await check(c, 'candidate question with a time message');

    await row.getByRole('button', { name: 'Terminate, Mary Somerville' }).click();
    const terminateDialog = p.getByRole('dialog', { name: 'End the assessment of Mary Somerville?' });
    await terminateDialog.waitFor();
    await check(p, 'proctor terminate dialog');
    await terminateDialog.getByRole('button', { name: 'Terminate', exact: true }).click();
    await p.locator('#terminate-error', { hasText: 'Give a reason' }).waitFor();
    await check(p, 'proctor terminate dialog, no reason');
    await p.keyboard.press('Escape');
    await terminateDialog.waitFor({ state: 'hidden' });

    // The candidate answers the rest: the end screen with the results, and the saved answers open.
    for (let n = 2; n <= 6; n++) {
      const screen = await nextScreen(c, n);
      if (screen === 'end') break;
      await c.focus('#option-1');
      await answerWithKeyboard(c, n);
    }
    await visible(c, 'screen-end');
    await check(c, 'candidate end screen', { focus: true });
    await c.click('#end-answers-summary');
    await check(c, 'candidate end screen, answers open');

    for (const { page, problems } of [proctor, candidate]) {
      assert.deepEqual(problems, { errors: [], csp: [] }, `no script errors and no CSP violations\n${recentFrames(page)}`);
      await page.context().close();
    }
  });

  test('the rules page with a practice question, waiting for approval, the proctor’s waiting list, a phone, and a page replaced', async () => {
    const candidate = await stack.inviteCandidate(gatedTestId);
    const email = 'a11y-approver@example.com';
    await stack.staffToken(email, 'proctor', [gatedTestId]);
    const proctor = await openPage(browser, 1200, 800);
    const p = proctor.page;
    await p.goto(`${stack.httpUrl}/proctor`);
    await p.getByLabel('Email').fill(email);
    await p.getByLabel('Password').fill(`${email}-password`);
    await p.click('#signin-button');
    await visible(p, 'screen-dashboard');

    // A phone: 390 px wide, touch.
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, locale: 'en-GB' });
    const c = await context.newPage();
    c.setDefaultTimeout(20_000);
    await c.goto(`${stack.httpUrl}/?token=${encodeURIComponent(candidate.token)}`);
    await visible(c, 'screen-intro');
    await visible(c, 'practice');
    await check(c, 'candidate rules page with a practice question, on a phone', { focus: true });
    await c.getByLabel('Nine').check();
    await c.click('#practice-check');
    await c.locator('#practice-result', { hasText: 'Not quite' }).waitFor();
    await check(c, 'candidate practice answer checked');
    await c.click('#start-button');
    await visible(c, 'approval-status');
    await check(c, 'candidate waiting for approval');

    await visible(p, 'waiting');
    const approve = p.getByRole('button', { name: /^Approve/ });
    await approve.waitFor();
    await check(p, 'proctor dashboard with a waiting candidate', { focus: true });
    await approve.click();
    assert.equal(await nextScreen(c, 1), 'question');
    await check(c, 'candidate question on a phone', { focus: true });

    // The same candidate opens the test in another window: this one says so.
    const other = await context.newPage();
    await other.goto(`${stack.httpUrl}/?token=${encodeURIComponent(candidate.token)}`);
    assert.equal(await nextScreen(other, 1), 'question');
    await visible(c, 'screen-replaced');
    await check(c, 'candidate page replaced by another window');
    await context.close();
    await p.context().close();
  });
});
