import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { findAssessment } from '../services/assessment/src/repository.ts';
import { ADAPTIVE_TEST_ID } from '@ap/demo';
import {
  EXPECTED_CSP,
  answerWithKeyboard,
  closeBrowserAndStack,
  focused,
  nextScreen,
  openPage,
  recentFrames,
  saveScreenshot,
  startBrowserAndStack,
  visible,
} from './support/browser.ts';
import { assertAccessible } from './support/a11y.ts';
import { openRaw } from './support/setup.ts';
import type { RawSocket, TestStack } from './support/setup.ts';

let stack: TestStack;
let browser: Browser;

before(async () => {
  ({ browser, stack } = await startBrowserAndStack());
});

// Either may be missing when the set-up failed.
after(() => closeBrowserAndStack(browser, stack));

/** Invites a candidate with a display name (what proctors see) and returns the code and, redeemed, a token. */
async function inviteNamed(name: string, testId: string): Promise<{ code: string }> {
  const invitation = await stack.bus.request('authInvite', {
    caller: { user_id: stack.seed.recruiter.user_id, role: 'recruiter' },
    test_id: testId,
    candidate_email: `c-${randomBytes(4).toString('hex')}@test.example`,
    candidate_name: name,
  });
  return { code: invitation.code };
}

async function redeemed(name: string, testId: string): Promise<{ token: string; user_id: string }> {
  const { code } = await inviteNamed(name, testId);
  const r = await stack.bus.request('authRedeem', { code });
  return { token: r.token, user_id: r.user_id };
}

/** A candidate over a raw socket: starts (or resumes) and answers questions with the first option. */
async function rawCandidate(token: string): Promise<{ socket: RawSocket; assessmentId: string; answer(): Promise<void> }> {
  const socket = await openRaw(`${stack.wsUrl}/ws/assessment?token=${token}`);
  await socket.waitFor((f) => f.type === 'auth_success');
  const id = `s-${randomBytes(3).toString('hex')}`;
  socket.send({ type: 'start_assessment', data: {}, id });
  const started = await socket.reply(id);
  assert.equal(started.type, 'assessment_started');
  let n = 0;
  return {
    socket,
    assessmentId: String(started.data['assessment_id']),
    async answer() {
      n++;
      socket.send({ type: 'get_question', data: {}, id: `q${n}` });
      const q = await socket.reply(`q${n}`);
      assert.equal(q.type, 'question');
      const options = q.data['options'] as { id: string }[];
      socket.send({ type: 'submit_answer', data: { question_id: q.data['question_id'], selected_option: options[0]?.id }, id: `a${n}` });
      assert.equal((await socket.reply(`a${n}`)).type, 'answer_feedback');
    },
  };
}

/** The proctor's sign-in: the page at /proctor, email and password with the keyboard. */
async function signInProctor(page: Page): Promise<void> {
  await page.goto(`${stack.httpUrl}/proctor`);
  await visible(page, 'screen-signin');
  assert.equal(await focused(page), '#email', 'the email field has focus');
  await page.keyboard.type(stack.seed.proctor.email);
  await page.keyboard.press('Tab');
  assert.equal(await focused(page), '#password', 'the password comes next');
  await page.keyboard.type(stack.seed.proctor.password);
  await page.keyboard.press('Enter');
  await visible(page, 'screen-dashboard');
  await page.waitForFunction(() => document.getElementById('connection-text')?.textContent === 'Connected');
}

/** The table row of a candidate, by the name in its row header. */
function rowOf(page: Page, name: string): Locator {
  return page.locator('#live-rows tr', { has: page.locator('th .candidate-name', { hasText: name }) });
}

/** Waits until a cell of the row shows text matching `pattern` (the table updates by itself: no reload). */
async function cellShows(row: Locator, cell: string, pattern: RegExp): Promise<string> {
  const target = row.locator(cell, { hasText: pattern });
  await target.waitFor().catch(async (err: unknown) => {
    const now =
      (await row
        .locator(cell)
        .textContent()
        .catch(() => null)) ?? '(no such row)';
    throw new Error(`${cell} never matched ${String(pattern)}; it shows "${now}"`, { cause: err });
  });
  return (await target.textContent()) ?? '';
}

/** Submits a command dialog with its button and waits until it closes; a refusal shown in the dialog fails with its text. */
async function submitDialog(page: Page, dialog: Locator, button: string): Promise<void> {
  await dialog.getByRole('button', { name: button, exact: true }).click();
  await dialog.waitFor({ state: 'hidden' }).catch(async (err: unknown) => {
    const shown = await dialog.locator('.field-error').allTextContents();
    throw new Error(`the dialog stayed open: ${shown.join(' ')}\n${recentFrames(page)}`, { cause: err });
  });
}

/** The messages a chat log shows: sender, note and text. */
function chatLines(page: Page, list: string): Promise<string[]> {
  return page.$$eval(`${list} li`, (items) => items.map((li) => li.textContent.replace(/\s+/g, ' ').trim()));
}

describe('the proctor dashboard in a browser', () => {
  test('a proctor watches a candidate live, writes to them, pauses, resumes, gives extra time and terminates', async () => {
    const proctor = await openPage(browser, 1400, 820);
    const candidate = await openPage(browser, 1000, 760);
    const ada = await inviteNamed('Ada Lovelace', ADAPTIVE_TEST_ID);
    const grace = await redeemed('Grace Hopper', stack.seed.test_id);

    // A wrong password is reported beside the fields, and nothing else happens.
    await proctor.page.goto(`${stack.httpUrl}/proctor`);
    await visible(proctor.page, 'screen-signin');
    await proctor.page.getByLabel('Email').fill(stack.seed.proctor.email);
    await proctor.page.getByLabel('Password').fill('not-the-password');
    await proctor.page.getByLabel('Password').press('Enter');
    await visible(proctor.page, 'signin-error');
    assert.equal(await proctor.page.getAttribute('#password', 'aria-invalid'), 'true');
    assert.equal(await focused(proctor.page), '#password');
    await proctor.page.getByLabel('Email').fill('');
    await proctor.page.getByLabel('Password').fill('');
    await signInProctor(proctor.page);
    await proctor.page.evaluate(() => {
      document.documentElement.dataset['loadedOnce'] = 'yes';
    });
    const sameDocument = async () => proctor.page.evaluate(() => document.documentElement.dataset['loadedOnce'] === 'yes');

    // Grace starts over a raw socket and answers twice: her row appears and counts, online.
    const graceRun = await rawCandidate(grace.token);
    const graceRow = rowOf(proctor.page, 'Grace Hopper');
    await cellShows(graceRow, '.online', /^Online$/);
    await graceRun.answer();
    await graceRun.answer();
    await cellShows(graceRow, '.progress-text', /^2 of \d+$/);
    // Her question to the proctor is counted on her row and announced.
    graceRun.socket.send({ type: 'chat_message', data: { message: 'Is a calculator allowed?' }, id: 'g-chat' });
    await graceRow.getByRole('button', { name: 'Message (1 new), Grace Hopper' }).waitFor();
    await proctor.page.locator('#announcer', { hasText: 'New message from Grace Hopper.' }).waitFor();
    // Her connection closes: offline at once; she comes back: online again.
    graceRun.socket.ws.close();
    await cellShows(graceRow, '.online', /^Offline$/);
    const graceBack = await rawCandidate(grace.token);
    assert.equal(graceBack.assessmentId, graceRun.assessmentId, 'the same assessment resumes');
    await cellShows(graceRow, '.online', /^Online$/);
    graceBack.socket.ws.close();
    await cellShows(graceRow, '.online', /^Offline$/);

    // Ada signs in on the candidate page with her code and starts.
    await candidate.page.goto(`${stack.httpUrl}/`);
    await visible(candidate.page, 'screen-signin');
    await candidate.page.getByLabel('Invitation code').fill(ada.code);
    await candidate.page.getByLabel('Invitation code').press('Enter');
    await visible(candidate.page, 'screen-intro');
    await candidate.page.click('#start-button');
    assert.equal(await nextScreen(candidate.page, 1), 'question');

    const adaRow = rowOf(proctor.page, 'Ada Lovelace');
    await cellShows(adaRow, '.status', /^In progress$/);
    await cellShows(adaRow, '.online', /^Online$/);
    await cellShows(adaRow, '.progress-text', /^0 of 20$/);
    assert.match((await adaRow.locator('.time').textContent()) ?? '', /^(20:00|19:[0-5]\d)$/, 'the time left counts from 20 minutes');
    assert.equal(await adaRow.locator('.ability').textContent(), 'no estimate yet', 'no estimate before the first answer');

    // Each answer shows up in the proctor's table without a reload, with θ ± SE.
    await answerWithKeyboard(candidate.page, 1);
    await cellShows(adaRow, '.progress-text', /^1 of 20$/);
    await cellShows(adaRow, '.ability', /^-?\d\.\d\d ± \d\.\d\d$/);
    assert.equal(await nextScreen(candidate.page, 2), 'question');
    await answerWithKeyboard(candidate.page, 2);
    await cellShows(adaRow, '.progress-text', /^2 of 20$/);
    assert.equal(await sameDocument(), true, 'the dashboard was not reloaded');

    // An integrity incident on the candidate's page: counted, with its kind.
    assert.equal(await nextScreen(candidate.page, 3), 'question');
    await candidate.page.evaluate(() => window.dispatchEvent(new Event('blur')));
    await cellShows(adaRow, '.incidents', /^1, last: left the window at \d\d:\d\d$/);

    // Message: the conversation opens beside the table with the focus in its field.
    await adaRow.getByRole('button', { name: 'Message, Ada Lovelace' }).click();
    await visible(proctor.page, 'conversation');
    assert.equal(await proctor.page.textContent('#conversation-title'), 'Messages with Ada Lovelace');
    assert.equal(await focused(proctor.page), '#conversation-input');
    await proctor.page.keyboard.type('Hello Ada, I am your proctor today.');
    await candidate.page.locator('#chat-typing', { hasText: 'Proctor is typing…' }).waitFor();
    await proctor.page.keyboard.press('Enter');
    await proctor.page.locator('#conversation-log li', { hasText: 'Hello Ada' }).waitFor();
    // … and it appears in the help panel of the candidate's page.
    const fromProctor = candidate.page.locator('#chat-log li', { hasText: 'Hello Ada, I am your proctor today.' });
    await fromProctor.waitFor();
    assert.equal(await fromProctor.locator('.chat-sender').textContent(), 'Proctor');

    // The candidate asks; the assistant answers at once; both pages label who said what.
    await candidate.page.getByLabel('Message', { exact: true }).fill('How much time do I have left?');
    await candidate.page.getByLabel('Message', { exact: true }).press('Enter');
    const reply = candidate.page.locator('#chat-log li[data-role="assistant"]');
    await reply.waitFor();
    assert.match((await reply.textContent()) ?? '', /^Assistant \(automatic reply\) \d\d:\d\d ?You have \d+ minutes?/);
    await proctor.page.locator('#conversation-log li[data-role="assistant"]').waitFor();
    const seenByProctor = await chatLines(proctor.page, '#conversation-log');
    assert.equal(seenByProctor.length, 3, seenByProctor.join('\n'));
    assert.match(seenByProctor[0] ?? '', /^You \d\d:\d\d ?Hello Ada/);
    assert.match(seenByProctor[1] ?? '', /^Ada Lovelace \(candidate\) \d\d:\d\d ?How much time do I have left\?/);
    assert.match(seenByProctor[2] ?? '', /^Assistant \(automatic reply to the candidate\) \d\d:\d\d ?You have/);

    // Pause: a dialog asks for the reason; the candidate's page hides the question and stops the clock.
    await adaRow.getByRole('button', { name: 'Pause, Ada Lovelace' }).click();
    const pauseDialog = proctor.page.getByRole('dialog', { name: 'Pause the assessment of Ada Lovelace' });
    await pauseDialog.waitFor();
    assert.equal(await focused(proctor.page), '#pause-reason');
    // Escape cancels, and the focus goes back to the button.
    await proctor.page.keyboard.press('Escape');
    await pauseDialog.waitFor({ state: 'hidden' });
    assert.match(await focused(proctor.page), /^button$/);
    assert.equal(await proctor.page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Pause, Ada Lovelace');
    await proctor.page.keyboard.press('Enter');
    await pauseDialog.waitFor();
    await proctor.page.keyboard.type('Fire alarm test');
    await submitDialog(proctor.page, pauseDialog, 'Pause');
    await cellShows(adaRow, '.status', /^Paused$/);
    await cellShows(adaRow, '.time', /^\d+:\d\d \(paused\)$/);
    await adaRow.getByRole('button', { name: 'Resume, Ada Lovelace' }).waitFor();
    await visible(candidate.page, 'screen-paused');
    assert.equal(await candidate.page.textContent('#paused-reason'), 'The proctor says: “Fire alarm test”');
    assert.equal(await candidate.page.isHidden('#screen-question'), true, 'the question is hidden while paused');
    await saveScreenshot(candidate.page, 'paused');
    // The paused clock stands still on the candidate's page too.
    const frozen = await candidate.page.textContent('#paused-time-left');
    await proctor.page.locator('#summary', { hasText: '1 paused' }).waitFor();
    await saveScreenshot(proctor.page, 'proctor-dashboard');
    assert.equal(await candidate.page.textContent('#paused-time-left'), frozen);

    // Resume: the same question comes back, and it can be answered.
    await adaRow.getByRole('button', { name: 'Resume, Ada Lovelace' }).click();
    await cellShows(adaRow, '.status', /^In progress$/);
    assert.equal(await nextScreen(candidate.page, 3), 'question');
    await candidate.page.locator('#notice', { hasText: 'resumed' }).waitFor();
    await candidate.page.focus('#option-1');
    await answerWithKeyboard(candidate.page, 3);
    await cellShows(adaRow, '.progress-text', /^3 of 20$/);

    // Extra time: five minutes more, on both pages.
    await adaRow.getByRole('button', { name: 'Extra time, Ada Lovelace' }).click();
    const extraDialog = proctor.page.getByRole('dialog', { name: 'Give Ada Lovelace extra time' });
    await extraDialog.waitFor();
    assert.equal(await proctor.page.inputValue('#extra-minutes'), '5');
    await submitDialog(proctor.page, extraDialog, 'Add time');
    await cellShows(adaRow, '.time', /^2[45]:\d\d$/);
    await candidate.page.locator('#time-warning', { hasText: 'You were given 5 minutes more' }).waitFor();

    // Terminate asks for confirmation and a reason.
    await adaRow.getByRole('button', { name: 'Terminate, Ada Lovelace' }).click();
    const terminateDialog = proctor.page.getByRole('dialog', { name: 'End the assessment of Ada Lovelace?' });
    await terminateDialog.waitFor();
    await terminateDialog.getByRole('button', { name: 'Terminate', exact: true }).click();
    await proctor.page.locator('#terminate-error', { hasText: 'Give a reason' }).waitFor();
    assert.equal(await proctor.page.getAttribute('#terminate-reason', 'aria-invalid'), 'true');
    assert.equal(await focused(proctor.page), '#terminate-reason');
    await proctor.page.keyboard.type('Second person in the room');
    await saveScreenshot(proctor.page, 'proctor-terminate');
    await submitDialog(proctor.page, terminateDialog, 'Terminate');
    await visible(candidate.page, 'screen-end');
    assert.equal(await candidate.page.textContent('#end-reason'), 'The assessment was ended by a proctor.');
    // The row says so, then leaves the table.
    await cellShows(adaRow, '.status', /^Terminated$/);
    await assertAccessible(proctor.page, 'dashboard with a finished row');
    await assertAccessible(candidate.page, 'candidate page ended by a proctor');
    await adaRow.waitFor({ state: 'detached' });
    assert.equal(await graceRow.count(), 1, 'the other candidate stays');
    assert.equal(await sameDocument(), true, 'the dashboard was not reloaded');

    const doc = await findAssessment(stack.db, { candidate_name: 'Ada Lovelace' });
    assert.ok(doc);
    assert.equal(doc.status, 'terminated');
    assert.deepEqual(
      doc.log.map((e) => [e.type, e.by, e['reason']]),
      [
        ['pause', stack.seed.proctor.user_id, 'Fire alarm test'],
        ['resume', stack.seed.proctor.user_id, ''],
        ['extra_time', stack.seed.proctor.user_id, ''],
        ['terminate', stack.seed.proctor.user_id, 'Second person in the room'],
      ],
    );
    assert.equal(doc.responses.length, 3);
    for (const { page, problems } of [proctor, candidate]) {
      assert.deepEqual(problems, { errors: [], csp: [] }, `no script errors and no CSP violations\n${recentFrames(page)}`);
      await page.context().close();
    }
  });

  test('the dashboard reconnects after a gateway restart, reads the list again, and finished assessments leave', async () => {
    const { page, problems } = await openPage(browser, 1300, 800);
    await signInProctor(page);
    const linus = await redeemed('Linus Pauling', stack.seed.test_id);
    const first = await rawCandidate(linus.token);
    const row = rowOf(page, 'Linus Pauling');
    await cellShows(row, '.online', /^Online$/);

    // Every state the connection shows from now on.
    await page.evaluate(() => {
      const text = document.getElementById('connection-text');
      const seen: string[] = [];
      document.documentElement.dataset['connectionStates'] = '';
      if (text === null) return;
      new MutationObserver(() => {
        seen.push(text.textContent);
        document.documentElement.dataset['connectionStates'] = seen.join('|');
      }).observe(text, { childList: true, characterData: true, subtree: true });
    });
    await stack.platform.restart('gateway');
    // A restart builds the pages again, which takes a while on a busy machine.
    await page.waitForFunction(
      () => /(Reconnecting|Offline)[^|]*\|.*Connected$/.test(document.documentElement.dataset['connectionStates'] ?? ''),
      undefined,
      { timeout: 60_000 },
    );
    // The candidate comes back on the new gateway; the table follows without a reload.
    await first.socket.closed;
    const run = await rawCandidate(linus.token);
    await run.answer();
    await cellShows(row, '.progress-text', /^1 of \d+$/);
    await cellShows(row, '.online', /^Online$/);

    // A candidate who ends the test: the row is marked finished, then goes.
    run.socket.send({ type: 'end_assessment', data: {}, id: 'end' });
    assert.equal((await run.socket.reply('end')).type, 'assessment_completed');
    await cellShows(row, '.status', /^Finished$/);
    assert.equal(await row.getByRole('button', { name: 'Terminate, Linus Pauling' }).isDisabled(), true);
    await row.waitFor({ state: 'detached' });
    run.socket.ws.close();

    // Sign out: back to the sign-in form; a reload stays signed out.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await visible(page, 'screen-signin');
    await page.reload();
    await visible(page, 'screen-signin');
    assert.deepEqual(problems, { errors: [], csp: [] });
    await page.context().close();
  });

  test("the candidate's help panel: a support room opened by a recruiter, and answering in it", async () => {
    const candidate = await openPage(browser);
    const user = await redeemed('Marie Curie', stack.seed.test_id);
    await candidate.page.goto(`${stack.httpUrl}/?token=${encodeURIComponent(user.token)}`);
    await visible(candidate.page, 'screen-intro');
    assert.equal(await candidate.page.isHidden('#chat-room-field'), true, 'no choice of room before a support room exists');

    const recruiterLogin = await stack.bus.request('authLogin', {
      email: stack.seed.recruiter.email,
      password: stack.seed.recruiter.password,
    });
    const recruiter = await openRaw(`${stack.wsUrl}/ws/chat?token=${recruiterLogin.token}`);
    await recruiter.waitFor((f) => f.type === 'auth_success');
    recruiter.send({ type: 'open_support_room', data: { candidate_id: user.user_id, topic: 'Your interview slot' }, id: 'open' });
    const opened = await recruiter.reply('open');
    assert.equal(opened.type, 'room_opened');
    const roomId = String(opened.data['room_id']);
    await candidate.page
      .locator('#chat-log .chat-system', { hasText: 'A recruiter opened a support conversation: Your interview slot.' })
      .waitFor();

    recruiter.send({ type: 'chat_message', data: { room_id: roomId, message: 'Can you do Thursday at 10?' }, id: 'm1' });
    const fromRecruiter = candidate.page.locator('#chat-log li', { hasText: 'Can you do Thursday at 10?' });
    await fromRecruiter.waitFor();
    assert.match((await fromRecruiter.textContent()) ?? '', /^Recruiter \(support\)/);

    // The candidate answers in the support room.
    await candidate.page.getByLabel('To', { exact: true }).selectOption({ label: 'Support: Your interview slot' });
    await candidate.page.getByLabel('Message', { exact: true }).fill('Thursday works for me.');
    await candidate.page.getByLabel('Message', { exact: true }).press('Enter');
    const answer = await recruiter.waitFor((f) => f.type === 'chat_message' && f.data['text'] === 'Thursday works for me.');
    assert.equal(answer.data['room_id'], roomId);
    assert.equal(answer.data['sender_role'], 'candidate');
    await candidate.page.locator('#chat-log li', { hasText: 'Thursday works for me.' }).waitFor();
    assert.match(
      (await candidate.page.locator('#chat-log li', { hasText: 'Thursday works for me.' }).textContent()) ?? '',
      /^You \(support\)/,
    );
    await assertAccessible(candidate.page, 'rules page with a support conversation and its choice of room');
    recruiter.ws.close();
    assert.deepEqual(candidate.problems, { errors: [], csp: [] });
    await candidate.page.context().close();
  });

  test('/proctor is served like the candidate page: CSP, no inline script or style, revalidated HTML, immutable assets', async () => {
    const res = await fetch(`${stack.httpUrl}/proctor`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(res.headers.get('content-security-policy'), EXPECTED_CSP);
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    const html = await res.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    assert.doesNotMatch(html, /<style|\sstyle=/, 'no inline style');
    const script = /<script type="module" src="(\/assets\/proctor-[\w-]+\.js)"/.exec(html)?.[1];
    assert.ok(script !== undefined);
    const preloads = [...html.matchAll(/<link rel="modulepreload" href="(\/assets\/chunk-[\w-]+\.js)"/g)].map((m) => m[1] ?? '');
    assert.ok(preloads.length > 0, 'the shared chunk is preloaded');
    const index = await (await fetch(`${stack.httpUrl}/`)).text();
    for (const chunk of preloads) {
      assert.ok(index.includes(chunk), `${chunk} is shared with the candidate page`);
      const asset = await fetch(`${stack.httpUrl}${chunk}`);
      assert.equal(asset.status, 200);
      assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    }
    assert.equal((await fetch(`${stack.httpUrl}${script}`)).status, 200);
    assert.equal((await fetch(`${stack.httpUrl}/proctor/`)).status, 404);
  });
});
