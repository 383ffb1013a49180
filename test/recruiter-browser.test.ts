// The recruiter's workspace in Chromium against the real stack: sign-in, a bank with errors (shown
// per item and field, nothing stored) then a valid one, invitations from a CSV file, a candidate
// taking the test in another page, the results table, one report, the CSV export and item statistics.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { findAssessment } from '../services/assessment/src/repository.ts';
import {
  EXPECTED_CSP,
  answerWithKeyboard,
  closeBrowserAndStack,
  focused,
  nextScreen,
  openPage,
  saveScreenshot,
  startBrowserAndStack,
  visible,
} from './support/browser.ts';
import { assertAccessible, assertTargetSizes } from './support/a11y.ts';
import { ask, openAuthed } from './support/setup.ts';
import type { TestStack } from './support/setup.ts';

let stack: TestStack;
let browser: Browser;

before(async () => {
  ({ browser, stack } = await startBrowserAndStack());
});

after(() => closeBrowserAndStack(browser, stack));

const SKILLS = ['reading', 'logic'];

/** A bank of adaptive items with IRT parameters; `broken` gives item 2 a key that is not an option and item 3 no options. */
function bank(prefix: string, broken: boolean): string {
  const lines = Array.from({ length: 8 }, (_, i) => {
    const id = `${prefix}-${i + 1}`;
    const skill = SKILLS[i % 2] ?? 'reading';
    const b = (-1.5 + (3 * i) / 7).toFixed(2);
    if (broken && i === 2) return `  - {id: ${id}, skill: ${skill}, stem: "Question ${i + 1}", key: a}`;
    const key = broken && i === 1 ? 'z' : ['a', 'b', 'c'][i % 3];
    return `  - {id: ${id}, skill: ${skill}, a: 1.1, b: ${b}, stem: "Question ${i + 1}: pick the right one", options: [{id: a, text: "First"}, {id: b, text: "Second"}, {id: c, text: "Third"}], key: ${key}}`;
  });
  return `items:\n${lines.join('\n')}\n`;
}

async function signIn(page: Page): Promise<void> {
  await page.goto(`${stack.httpUrl}/recruiter`);
  await visible(page, 'screen-signin');
  assert.equal(await focused(page), '#email', 'the email field has focus');
  await accessible(page, 'recruiter sign-in');
  await page.keyboard.type(stack.seed.recruiter.email);
  await page.keyboard.press('Tab');
  await page.keyboard.type('not-the-password');
  await page.keyboard.press('Enter');
  await page.locator('#signin-error', { hasText: 'not right' }).waitFor();
  await page.fill('#password', stack.seed.recruiter.password);
  await page.keyboard.press('Enter');
  await visible(page, 'screen-tests');
  await page.locator('#tests-rows tr').first().waitFor();
}

/** axe-core's WCAG 2.0–2.2 A and AA rules, and 24 × 24 px pointer targets, in this state of the page. */
async function accessible(page: Page, state: string): Promise<void> {
  await assertAccessible(page, state);
  await assertTargetSizes(page, state);
}

/** The text of each visible row of a table body, cell by cell. */
function rows(page: Page, body: string): Promise<string[][]> {
  return page.$$eval(`#${body} tr`, (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent.replace(/\s+/g, ' ').trim())));
}

/** Presses Refresh until the results table has `n` rows (the page reads results when asked; no fixed wait). */
async function refreshUntil(page: Page, n: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    await page.click('#results-refresh');
    try {
      await page.waitForFunction((want) => document.querySelectorAll('#results-rows tr').length === want, n, { timeout: 1000 });
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
  }
}

describe("the recruiter's workspace in a browser", () => {
  test('create a test from a bank, invite from a CSV file, watch a candidate’s result arrive, read the report, export CSV', async () => {
    const { page, problems } = await openPage(browser, 1100, 900);
    await signIn(page);
    assert.ok(
      (await rows(page, 'tests-rows')).some((r) => r[0]?.startsWith('Adaptive quantitative reasoning')),
      'the demo tests are listed',
    );

    // A bank with errors: each is listed by item and field, and nothing is stored.
    await page.fill('#create-name', 'Reading and logic (adaptive)');
    await page.fill('#create-minutes', '15');
    await page.selectOption('#create-strategy', 'adaptive');
    await page.fill('#create-max', '6');
    await page.fill('#create-cut', '0');
    await page.setInputFiles('#create-bank', { name: 'bank.yaml', mimeType: 'application/yaml', buffer: Buffer.from(bank('rb', true)) });
    await page.click('#create-button');
    await visible(page, 'bank-errors');
    const errors = await page.$$eval('#bank-errors li', (lis) => lis.map((li) => li.textContent));
    assert.ok(
      errors.some((e) => /Item rb-2, field key/.test(e)),
      errors.join('\n'),
    );
    assert.ok(
      errors.some((e) => /Item rb-3, field options/.test(e)),
      errors.join('\n'),
    );
    assert.match((await page.textContent('#create-error')) ?? '', /nothing was imported/);
    await accessible(page, 'tests, with bank errors');
    assert.equal(await focused(page), '#create-bank', 'focus goes to the file field');
    await saveScreenshot(page, 'recruiter-bank-errors', { fullPage: true });
    assert.equal(await stack.db.collection('items').countDocuments({ _id: { $in: ['rb-1', 'rb-2', 'rb-3'] } } as never), 0);
    assert.equal(await stack.db.collection('tests').countDocuments({ title: 'Reading and logic (adaptive)' }), 0);

    // The valid bank: imported, the test created and listed.
    await page.setInputFiles('#create-bank', { name: 'bank.yaml', mimeType: 'application/yaml', buffer: Buffer.from(bank('rb', false)) });
    await page.click('#create-button');
    const testRow = page.locator('#tests-rows tr', { hasText: 'Reading and logic (adaptive)' });
    await testRow.waitFor();
    assert.ok(await page.locator('#bank-errors').isHidden());
    const stored = await stack.db
      .collection<{ _id: string; items: string[]; strategy: string; classification?: unknown }>('tests')
      .findOne({ title: 'Reading and logic (adaptive)' });
    assert.ok(stored !== null);
    assert.equal(stored.strategy, 'adaptive');
    assert.deepEqual(stored.classification, { rule: 'CI', cut_theta: 0, alpha: 0.05 });
    assert.equal(stored.items.length, 8);
    const testId = stored._id;

    // Invitations from a CSV file: two candidates, one bad line reported by its number.
    await testRow.getByRole('button').click();
    await visible(page, 'screen-test');
    // Grace has a time accommodation (× 1.5 and 60 s); a line with a multiplier of 9 is refused.
    const csv =
      'email,name\nada@test.example,Ada Lovelace\n"grace@test.example","Hopper, Grace",1.5,60\nnot-an-email,Nobody\nmax@test.example,Max,9,0\n';
    await page.setInputFiles('#invite-csv', { name: 'candidates.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.click('#bulk-button');
    await page.waitForFunction(() => document.querySelectorAll('#invitation-rows tr').length === 2);
    await visible(page, 'invite-errors');
    assert.match((await page.textContent('#invite-errors')) ?? '', /Line 4: "not-an-email" is not an email address/);
    assert.match((await page.textContent('#invite-errors')) ?? '', /Line 5: the time multiplier is 1 to 4/);
    const invitations = await rows(page, 'invitation-rows');
    assert.match(invitations[0]?.[0] ?? '', /Ada Lovelace <ada@test\.example>/);
    assert.match(invitations[1]?.[0] ?? '', /Hopper, Grace <grace@test\.example>/);
    assert.equal(await stack.db.collection('invitations').countDocuments({ test_id: testId }), 2);
    const users = await stack.db
      .collection<{ _id: string; email: string }>('users')
      .find({ email: { $in: ['ada@test.example', 'grace@test.example'] } })
      .toArray();
    const emailOf = new Map(users.map((u) => [u._id, u.email]));
    const invited = await stack.db
      .collection<{ candidate_id?: string; accommodations?: unknown }>('invitations')
      .find({ test_id: testId })
      .toArray();
    assert.deepEqual(
      Object.fromEntries(invited.map((i) => [emailOf.get(i.candidate_id ?? '') ?? '?', i.accommodations ?? null])),
      { 'ada@test.example': null, 'grace@test.example': { time_multiplier: 1.5, extra_seconds: 60 } },
      'the accommodations of the CSV line are stored with its invitation',
    );
    const [adaCode, graceCode] = await page.$$eval('#invitation-rows .invitation-code', (els) => els.map((e) => e.textContent));
    const adaLink = await page.textContent('#invitation-rows tr:first-child .invitation-link');
    assert.equal(adaLink, `${stack.httpUrl}/?code=${encodeURIComponent(adaCode ?? '')}`);
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stack.httpUrl });
    await page.getByRole('button', { name: 'Copy the code of Ada Lovelace <ada@test.example>' }).click();
    await page.locator('#announcer', { hasText: 'The code was copied.' }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), adaCode);
    await saveScreenshot(page, 'recruiter-invitations');
    await accessible(page, 'a test: invitations');

    // Ada takes the test in another page, from her link; Grace starts through the API and stays in progress.
    const candidate = await openPage(browser);
    await candidate.page.goto(adaLink);
    await visible(candidate.page, 'screen-signin');
    assert.equal(await candidate.page.inputValue('#code'), adaCode);
    await candidate.page.keyboard.press('Enter');
    await visible(candidate.page, 'screen-intro');
    await candidate.page.click('#start-button');
    for (let n = 1; n <= 10; n++) {
      if ((await nextScreen(candidate.page, n)) === 'end') break;
      await answerWithKeyboard(candidate.page, n);
    }
    await visible(candidate.page, 'screen-end');
    const grace = await stack.bus.request('authRedeem', { code: graceCode ?? '' });
    const socket = await openAuthed(`${stack.wsUrl}/ws/assessment`, grace.token);
    const graceStarted = await ask(socket, 'start_assessment');
    assert.equal(graceStarted.type, 'assessment_started');
    // Grace's assessment gets an incident and extra time from a proctor: her report's timeline shows both.
    assert.equal((await ask(socket, 'integrity_event', { kind: 'tab_hidden', at: new Date().toISOString() })).type, 'integrity_recorded');
    await stack.bus.request('assessmentExtraTime', {
      caller: { user_id: stack.seed.proctor.user_id, role: 'proctor' },
      assessment_id: String(graceStarted.data['assessment_id']),
      seconds: 120,
      reason: 'slow network',
    });

    // The results table reads itself again: both rows appear without a click; then filtered and sorted.
    await page.waitForFunction(() => document.querySelectorAll('#results-rows tr').length === 2, undefined, { timeout: 30_000 });
    await page.selectOption('#results-filter', 'finished');
    assert.deepEqual(
      (await rows(page, 'results-rows')).map((r) => r[0]),
      ['Ada Lovelace'],
    );
    await page.selectOption('#results-filter', 'open');
    assert.deepEqual(
      (await rows(page, 'results-rows')).map((r) => r[0]),
      ['Hopper, Grace'],
    );
    await page.selectOption('#results-filter', 'all');
    await page.click('th[data-sort="candidate_name"] button');
    assert.deepEqual(
      (await rows(page, 'results-rows')).map((r) => r[0]),
      ['Ada Lovelace', 'Hopper, Grace'],
    );
    assert.equal(await page.getAttribute('th[data-sort="candidate_name"]', 'aria-sort'), 'ascending');
    await page.click('th[data-sort="candidate_name"] button');
    assert.deepEqual(
      (await rows(page, 'results-rows')).map((r) => r[0]),
      ['Hopper, Grace', 'Ada Lovelace'],
    );

    // Ada's report: score, θ ± SE, the trace plot, per-skill bars, answers with correctness.
    const adaRow = (await rows(page, 'results-rows')).find((r) => r[0] === 'Ada Lovelace') ?? [];
    const adaId = await page.getAttribute('#results-rows tr:has(th:text-is("Ada Lovelace"))', 'data-assessment-id');
    const ada = await findAssessment(stack.db, { _id: adaId ?? '' });
    assert.ok(ada?.result !== null && ada?.result !== undefined, 'Ada finished');
    await page.getByRole('button', { name: 'Report, Ada Lovelace' }).click();
    await visible(page, 'report');
    assert.equal(await focused(page), '#report-title');
    assert.equal(await page.textContent('#report-title'), 'Report: Ada Lovelace');
    const facts = (await page.textContent('#report-facts')) ?? '';
    const score = ada.result.scaled_score ?? ada.result.percent_correct;
    assert.ok(facts.includes(`Score${score.toFixed(1)}`), facts);
    assert.ok(facts.includes(`${(ada.result.theta ?? NaN).toFixed(2)} ± ${(ada.result.se ?? NaN).toFixed(2)}`), facts);
    // A pass mark was set: the decision is in the report and beside the score.
    const decision = ada.result.decision;
    assert.ok(decision !== undefined, 'a test with a pass mark decides');
    assert.ok(facts.includes(`Decision${decision}`), facts);
    assert.equal(adaRow[4], `${score.toFixed(1)} (${decision})`);
    assert.equal(await page.locator('#report-trace-figure svg polyline.chart-line').count(), 1);
    assert.equal(await page.locator('#report-trace-figure svg circle.chart-point').count(), ada.responses.length);
    assert.ok((await page.locator('#report-skills-figure svg rect.chart-bar').count()) >= 1);
    const answers = await rows(page, 'report-answers');
    assert.deepEqual(
      answers.map((a) => [a[3], a[4]]),
      ada.responses.map((r) => [r.selected_option, r.correct ? '✓ Correct' : '✗ Wrong']),
    );
    await page.locator('#report').scrollIntoViewIfNeeded();
    await saveScreenshot(page, 'recruiter-report');
    await accessible(page, 'a test: results, report and item statistics');

    await page.getByRole('button', { name: 'Report, Hopper, Grace' }).click();
    await page.locator('#report-title', { hasText: 'Report: Hopper, Grace' }).waitFor();
    const timeline = await page.$$eval('#report-timeline li', (lis) => lis.map((li) => li.textContent.replace(/\s+/g, ' ').trim()));
    assert.equal(timeline.length, 2, timeline.join('\n'));
    assert.match(timeline[0] ?? '', /incident: tab hidden$/);
    assert.match(timeline[1] ?? '', /extra time: 120 s, slow network$/);

    // The CSV export: every result, with the stored numbers.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#results-csv')]);
    assert.equal(download.suggestedFilename(), `results-${testId}.csv`);
    const text = await readFile(await download.path(), 'utf8');
    const lines = text.trim().split('\r\n');
    assert.equal(lines.length, 3, text);
    assert.match(lines[0] ?? '', /^assessment_id,candidate_id,candidate_name,status,/);
    const adaLine = lines.find((l) => l.startsWith(`${ada._id},`)) ?? '';
    assert.ok(adaLine.includes(',Ada Lovelace,completed,'), adaLine);
    assert.ok(adaLine.includes(`,${score},`), adaLine);
    assert.ok(
      lines.some((l) => l.includes(',"Hopper, Grace",in_progress,')),
      text,
    );

    // Item statistics (read again with the results): what Ada was given, with curves for items with IRT parameters.
    await refreshUntil(page, 2);
    await page.locator('#items-summary', { hasText: 'From 1 finished assessment.' }).waitFor();
    const items = await rows(page, 'items-rows');
    assert.equal(items.length, 8);
    const given = items.filter((r) => r[2] === '1').length;
    assert.equal(given, ada.responses.length);
    assert.equal(await page.locator('#items-rows svg.chart-icc').count(), 8);

    // Back to the list: the counts.
    await page.click('#back');
    await visible(page, 'screen-tests');
    await page.waitForFunction(() => {
      const row = [...document.querySelectorAll('#tests-rows tr')].find((tr) => tr.textContent.includes('Reading and logic'));
      return (
        row !== undefined &&
        [...row.children]
          .slice(2, 5)
          .map((c) => c.textContent)
          .join('/') === '2/2/1'
      );
    });
    await page.evaluate(() => window.scrollTo(0, 0));
    await saveScreenshot(page, 'recruiter-tests');
    assert.deepEqual(problems.errors, []);
    assert.deepEqual(problems.csp, []);
    socket.ws.close();
    await candidate.page.context().close();
    await page.context().close();
  });

  test('results are read 50 at a time: Load more reads the next page with the cursor', async () => {
    const testId = await stack.createTest({ title: 'Paged results', time_limit_s: 600, strategy: 'fixed' }, 3);
    const candidates = await stack.inviteCandidates(51, testId);
    for (let i = 0; i < candidates.length; i += 10) {
      await Promise.all(
        candidates.slice(i, i + 10).map(async (c) => {
          const socket = await openAuthed(`${stack.wsUrl}/ws/assessment`, c.token);
          assert.equal((await ask(socket, 'start_assessment')).type, 'assessment_started');
          socket.ws.close();
        }),
      );
    }
    const { page, problems } = await openPage(browser);
    await page.goto(`${stack.httpUrl}/recruiter`);
    await visible(page, 'screen-signin');
    await page.fill('#email', stack.seed.recruiter.email);
    await page.fill('#password', stack.seed.recruiter.password);
    await page.keyboard.press('Enter');
    await page.locator('#tests-rows tr', { hasText: 'Paged results' }).getByRole('button').click();
    await page.waitForFunction(() => document.querySelectorAll('#results-rows tr').length === 50);
    assert.ok(await page.locator('#results-more').isVisible());
    assert.match((await page.textContent('#results-summary')) ?? '', /Showing 50 of 50 read \(more to load\)/);
    await page.click('#results-more');
    await page.waitForFunction(() => document.querySelectorAll('#results-rows tr').length === 51);
    assert.ok(await page.locator('#results-more').isHidden());
    const shown = await page.$$eval('#results-rows tr', (trs) => trs.map((tr) => tr.getAttribute('data-assessment-id')));
    const stored = await stack.db
      .collection<{ _id: string }>('assessments')
      .find({ test_id: testId } as never)
      .toArray();
    assert.deepEqual([...shown].sort(), stored.map((a) => a._id).sort(), 'every assessment once');
    assert.deepEqual(problems.errors, []);
    await page.context().close();
  });

  test('a proctor is not let into the workspace', async () => {
    const { page, problems } = await openPage(browser);
    await page.goto(`${stack.httpUrl}/recruiter`);
    await visible(page, 'screen-signin');
    await page.fill('#email', stack.seed.proctor.email);
    await page.fill('#password', stack.seed.proctor.password);
    await page.keyboard.press('Enter');
    await page.locator('#signin-error', { hasText: 'This page is for recruiters.' }).waitFor();
    assert.ok(await page.locator('#screen-tests').isHidden());
    assert.equal(await page.evaluate(() => sessionStorage.getItem('ap.recruiter')), null, 'nothing is kept');
    assert.deepEqual(problems.errors, []);
    await page.context().close();
  });

  test('/recruiter is served like the other pages: CSP, no inline script or style, hashed assets', async () => {
    const res = await fetch(`${stack.httpUrl}/recruiter`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-security-policy'), EXPECTED_CSP);
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    const html = await res.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    assert.doesNotMatch(html, /<style|\sstyle=/, 'no inline style');
    const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1] ?? '');
    assert.ok(assets.some((a) => /\/assets\/recruiter-[\w-]+\.js$/.test(a)));
    assert.ok(assets.some((a) => /\/assets\/recruiter-styles-[\w-]+\.css$/.test(a)));
    for (const path of assets) {
      const asset = await fetch(`${stack.httpUrl}${path}`);
      assert.equal(asset.status, 200, path);
      assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    }
  });
});
