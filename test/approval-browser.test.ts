import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { findAssessment } from '../services/assessment/src/repository.ts';
import { answerWithKeyboard, closeBrowserAndStack, nextScreen, openPage, startBrowserAndStack, visible } from './support/browser.ts';
import type { TestStack } from './support/setup.ts';

let stack: TestStack;
let browser: Browser;
let testId: string;

const LIMIT_S = 15 * 60;
const ITEMS = 3;

before(async () => {
  ({ browser, stack } = await startBrowserAndStack());
  testId = await stack.createTest(
    {
      id: 'gated-browser',
      title: 'Approved start',
      time_limit_s: LIMIT_S,
      strategy: 'fixed',
      proctored: true,
      start_requires_approval: true,
      practice: {
        stem: 'Practice: which of these is a prime number?',
        options: [
          { id: 'a', text: 'Nine' },
          { id: 'b', text: 'Seven' },
          { id: 'c', text: 'Four' },
        ],
        answer: 'b',
      },
    },
    ITEMS,
  );
});

// Either may be missing when the set-up failed.
after(() => closeBrowserAndStack(browser, stack));

/** Seconds of an `m:ss` clock. */
function seconds(clock: string | null): number {
  const m = /^(\d+):(\d\d)$/.exec(clock ?? '');
  assert.ok(m, `a clock, not "${clock ?? ''}"`);
  return Number(m[1]) * 60 + Number(m[2]);
}

describe('a start that a proctor approves, in Chromium', () => {
  test('the practice question is checked on the page only; the candidate waits; the proctor approves; the clock starts then', async () => {
    const candidate = await stack.inviteCandidate(testId);
    const proctorEmail = 'approver@example.com';
    await stack.staffToken(proctorEmail, 'proctor', [testId]);

    // The proctor's dashboard, signed in with the form.
    const proctor = await openPage(browser, 1200, 800);
    await proctor.page.goto(`${stack.httpUrl}/proctor`);
    await proctor.page.getByLabel('Email').fill(proctorEmail);
    await proctor.page.getByLabel('Password').fill(`${proctorEmail}-password`);
    await proctor.page.click('#signin-button');
    await visible(proctor.page, 'screen-dashboard');
    assert.equal(await proctor.page.isHidden('#waiting'), true, 'nobody waits yet');

    // The candidate's rules page, with the practice question.
    const { page, problems } = await openPage(browser);
    const sent: string[] = [];
    page.on('websocket', (ws) => ws.on('framesent', (f) => sent.push(String(f.payload))));
    await page.goto(`${stack.httpUrl}/?token=${encodeURIComponent(candidate.token)}`);
    await visible(page, 'screen-intro');
    assert.match((await page.textContent('#intro-rules')) ?? '', /A proctor approves your start/);
    await visible(page, 'practice');
    assert.equal(await page.textContent('#practice-stem'), 'Practice: which of these is a prime number?');
    await page.getByLabel('Nine').check();
    await page.click('#practice-check');
    assert.match((await page.textContent('#practice-result')) ?? '', /Not quite: the correct answer is “Seven”/);
    await page.getByLabel('Seven').check();
    await page.click('#practice-check');
    assert.match((await page.textContent('#practice-result')) ?? '', /^Right/);
    // The practice answer never left the page, and nothing was stored.
    assert.ok(!sent.some((f) => /submit_answer|start_assessment/.test(f)), 'no answer and no start sent for the practice question');
    assert.equal(await stack.db.collection('start_requests').countDocuments({ candidate_id: candidate.user_id }), 0);
    assert.equal(await findAssessment(stack.db, { candidate_id: candidate.user_id, test_id: testId }), null);

    // Start: the page says it waits, the clock stands still, the proctor sees the candidate.
    await page.click('#start-button');
    await visible(page, 'approval-status');
    assert.match((await page.textContent('#approval-status')) ?? '', /A proctor must approve your start/);
    assert.equal(await page.isDisabled('#start-button'), true);
    await visible(proctor.page, 'waiting');
    const approve = proctor.page.getByRole('button', { name: /^Approve/ });
    await approve.waitFor();
    await page.waitForTimeout(2500);
    assert.equal(await page.textContent('#intro-time-left'), '15:00', 'the time left does not move while waiting');
    assert.equal(
      await findAssessment(stack.db, { candidate_id: candidate.user_id, test_id: testId }),
      null,
      'nothing started before approval',
    );

    // The proctor approves: the candidate's page starts by itself, from the full limit.
    const approvedAt = Date.now();
    await approve.click();
    assert.equal(await nextScreen(page, 1), 'question');
    assert.ok(seconds(await page.textContent('#timer')) >= LIMIT_S - 2, 'the countdown starts from the full limit');
    const doc = await findAssessment(stack.db, { candidate_id: candidate.user_id, test_id: testId });
    assert.ok(doc, 'the approval started the assessment');
    assert.ok(doc.started_at.getTime() >= approvedAt - 1000, 'the server clock started at approval, not at the first Start');
    await proctor.page.waitForSelector('#waiting[hidden]', { state: 'attached' });
    await proctor.page.waitForFunction(() => document.querySelectorAll('#live-rows tr').length === 1);

    // The practice question is not among the answers: the result counts the test's questions only.
    for (let n = 1; n <= ITEMS; n++) {
      if (n > 1) assert.equal(await nextScreen(page, n), 'question');
      await answerWithKeyboard(page, n);
    }
    assert.equal(await nextScreen(page, ITEMS + 1), 'end');
    const done = await findAssessment(stack.db, { candidate_id: candidate.user_id, test_id: testId });
    assert.ok(done);
    assert.equal(done.responses.length, ITEMS);
    assert.equal(done.result?.answered, ITEMS, 'the result holds the test questions only');
    assert.ok(!JSON.stringify(done).includes('prime number'), 'the practice question is nowhere in the assessment');
    assert.deepEqual(problems, { errors: [], csp: [] }, 'no script errors and no CSP violations');
    assert.deepEqual(proctor.problems, { errors: [], csp: [] });
    await page.context().close();
    await proctor.page.context().close();
  });
});
