import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { findAssessment } from '../services/assessment/src/repository.ts';
import type { AssessmentDoc } from '../services/assessment/src/store.ts';
import { ADAPTIVE_SKILLS, ADAPTIVE_TEST_ID } from '@ap/demo';
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
import type { PageProblems } from './support/browser.ts';
import { assertAccessible } from './support/a11y.ts';
import type { TestStack } from './support/setup.ts';

let stack: TestStack;
let browser: Browser;

before(async () => {
  ({ browser, stack } = await startBrowserAndStack());
});

// Either may be missing when the set-up failed.
after(() => closeBrowserAndStack(browser, stack));

/** An answer as the page lists it once the server acknowledged it. */
type ShownAnswer = { question_id: string; option: string };

const newPage = (width?: number, height?: number): Promise<{ page: Page; problems: PageProblems }> => openPage(browser, width, height);

/** Polls `condition` until it holds; fails after `timeoutMs`. */
async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const giveUp = Date.now() + timeoutMs;
  while (!condition()) {
    assert.ok(Date.now() < giveUp, `not within ${String(timeoutMs)} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function questionNumber(page: Page): Promise<number> {
  const text = (await page.textContent('#question-title')) ?? '';
  return Number(/Question (\d+)/.exec(text)?.[1] ?? NaN);
}

async function shownAnswers(page: Page): Promise<ShownAnswer[]> {
  return page.$$eval('#answers-list li', (items) =>
    items.map((li) => ({
      question_id: (li as HTMLElement).dataset['questionId'] ?? '',
      option: (li as HTMLElement).dataset['option'] ?? '',
    })),
  );
}

async function storedAssessment(candidateId: string): Promise<AssessmentDoc> {
  const doc = await findAssessment(stack.db, { candidate_id: candidateId, test_id: ADAPTIVE_TEST_ID });
  assert.ok(doc, 'the assessment is stored');
  return doc;
}

function assertSameAnswers(doc: AssessmentDoc, shown: ShownAnswer[], given: number): void {
  assert.equal(doc.status, 'completed');
  assert.equal(shown.length, given, 'every answer given is shown acknowledged');
  assert.deepEqual(
    doc.responses.map((r) => ({ question_id: r.item_id, option: r.selected_option })),
    shown,
    'MongoDB holds exactly the answers the page showed acknowledged, in order',
  );
  assert.equal(new Set(doc.responses.map((r) => r.item_id)).size, doc.responses.length, 'no answer stored twice');
}

describe('the candidate page in a browser', () => {
  test('a candidate signs in with a code and completes the adaptive test with the keyboard only', async () => {
    const candidate = await stack.inviteCandidate(ADAPTIVE_TEST_ID);
    const { page, problems } = await newPage();
    // Frame types the page sends, to check that answers bring their next question with them.
    const sent = new Map<string, number>();
    page.on('websocket', (ws) =>
      ws.on('framesent', (f) => {
        const type = /"type":"([a-z_]+)"/.exec(String(f.payload))?.[1] ?? '?';
        sent.set(type, (sent.get(type) ?? 0) + 1);
      }),
    );
    await page.goto(`${stack.httpUrl}/`);
    await visible(page, 'screen-signin');
    assert.equal(await focused(page), '#code', 'the code field has focus');
    await page.getByLabel('Invitation code').waitFor();

    await page.keyboard.type(candidate.code);
    await saveScreenshot(page, 'sign-in');
    // A wrong code is reported next to the field, and focus stays there.
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type('WRONG-CODE-00');
    await page.keyboard.press('Enter');
    await visible(page, 'code-error');
    assert.equal(await page.getAttribute('#code', 'aria-invalid'), 'true');
    assert.equal(await focused(page), '#code');
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type(candidate.code);
    await page.keyboard.press('Enter');

    // The intro: title, rules, time limit and number of questions, then Start.
    await visible(page, 'screen-intro');
    assert.equal(await page.textContent('#intro-title'), 'Adaptive quantitative reasoning');
    assert.equal(await page.textContent('#intro-time-limit'), '20 minutes');
    assert.equal(await page.textContent('#intro-questions'), 'between 10 and 20 questions');
    assert.ok((await page.$$('#intro-rules li')).length >= 4);
    assert.equal(await focused(page), '#intro-title', 'focus moves to the test title');
    await page.keyboard.press('Tab');
    assert.equal(await focused(page), '#start-button', 'Start comes next in the focus order');
    await page.keyboard.press('Enter');

    let given = 0;
    for (let n = 1; n <= 25; n++) {
      const screen = await nextScreen(page, n);
      if (screen === 'end') break;
      if (n === 1) {
        assert.equal(await page.getAttribute('#timer', 'role'), 'timer');
        assert.match((await page.textContent('#timer')) ?? '', /^(20:00|19:[0-5]\d)$/, 'the countdown shows the server time left');
        assert.equal(await page.getByRole('radio').count(), 4, 'options are a radio group');
        // At 200% zoom (half the CSS width) the page reflows without horizontal scrolling.
        await page.setViewportSize({ width: 500, height: 760 });
        assert.equal(
          await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
          true,
          'no horizontal scroll at 200% zoom',
        );
        await page.setViewportSize({ width: 1000, height: 760 });
      }
      if (n === 3) {
        await page.keyboard.press('2');
        await saveScreenshot(page, 'question');
        await page.keyboard.press('ArrowUp');
      }
      await answerWithKeyboard(page, n);
      given++;
      if (n === 4) assert.match((await page.textContent('#progress-text')) ?? '', /^[34] of about \d+ answered/);
    }
    await visible(page, 'screen-end');
    assert.equal(await focused(page), '#end-title', 'focus moves to the end screen');
    assert.equal(await page.textContent('#end-title'), 'Assessment complete');
    assert.match((await page.textContent('#end-reason')) ?? '', /measured your level|planned number/);
    assert.match((await page.textContent('#end-facts')) ?? '', /Score\s*\d/);
    assert.equal(await page.locator('#end-skills-body tr').count(), ADAPTIVE_SKILLS.length);
    assert.equal(await page.locator('#end-chart svg[role="img"]').count(), 1, 'the chart is drawn');
    assert.equal(await page.textContent('#connection-text'), 'Finished');
    await page.click('#end-answers summary');
    await saveScreenshot(page, 'end', { fullPage: true });
    await assertAccessible(page, 'end screen of the adaptive test, with its chart and answers');

    const doc = await storedAssessment(candidate.user_id);
    assert.ok(doc.responses.length >= 10 && doc.responses.length <= 20);
    assertSameAnswers(doc, await shownAnswers(page), given);
    // One get_question for the first question; every later one came with the feedback.
    assert.equal(sent.get('submit_answer'), doc.responses.length);
    assert.equal(sent.get('get_question'), 1, JSON.stringify(Object.fromEntries(sent)));
    assert.deepEqual(problems, { errors: [], csp: [] }, 'no script errors and no CSP violations');
    await page.context().close();
  });

  test('the gateway restarts mid-test: the page reconnects, resumes, and resends an unacknowledged answer', async () => {
    const candidate = await stack.inviteCandidate(ADAPTIVE_TEST_ID);
    const { page, problems } = await newPage();
    // A proxy in front of the page's WebSocket, so that the test can drop one acknowledgement.
    let dropNextFeedback = false;
    let feedbackDropped = 0;
    let connections = 0;
    await page.routeWebSocket(/\/ws\/assessment/, (ws) => {
      connections++;
      const server = ws.connectToServer();
      ws.onMessage((message) => server.send(message));
      server.onMessage((message) => {
        if (dropNextFeedback && typeof message === 'string' && message.includes('"type":"answer_feedback"')) {
          dropNextFeedback = false;
          feedbackDropped++;
          void ws.close({ code: 4000, reason: 'test dropped the acknowledgement' });
          void server.close();
          return;
        }
        ws.send(message);
      });
      ws.onClose(() => void server.close());
      server.onClose((code, reason) => void ws.close({ code: code ?? 1006, reason: reason ?? '' }));
    });
    // The link from the invitation email signs in directly.
    await page.goto(`${stack.httpUrl}/?token=${encodeURIComponent(candidate.token)}`);
    await visible(page, 'screen-intro');
    assert.equal(new URL(page.url()).search, '', 'the token is removed from the address bar');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');

    let given = 0;
    let n = 1;
    const answerNext = async (): Promise<'question' | 'end'> => {
      const screen = await nextScreen(page, n);
      if (screen === 'end') return screen;
      await answerWithKeyboard(page, n);
      given++;
      n++;
      return screen;
    };
    for (let i = 0; i < 3; i++) assert.equal(await answerNext(), 'question');

    // 1. A plain restart while question 4 is on screen.
    assert.equal(await nextScreen(page, n), 'question');
    const before = await page.getAttribute('#question-form', 'data-question-id');
    await stack.platform.restart('gateway');
    await page.waitForFunction(() => document.getElementById('connection-text')?.textContent === 'Connected');
    assert.equal(await nextScreen(page, n), 'question');
    assert.equal(await page.getAttribute('#question-form', 'data-question-id'), before, 'the same question is resumed');
    assert.ok(connections >= 2, 'the page opened a new connection');

    // 2. An answer given while the gateway is down is kept and sent after the restart.
    await stack.platform.stop('gateway');
    await page.waitForFunction(() => /Offline|Reconnecting/.test(document.getElementById('connection-text')?.textContent ?? ''));
    const offlineQuestion = await questionNumber(page);
    await answerWithKeyboard(page, n);
    given++;
    n++;
    await page.waitForFunction(() =>
      /will be sent as soon as the connection is back/.test(document.getElementById('answer-status')?.textContent ?? ''),
    );
    await assertAccessible(page, 'offline, with an answer kept to send');
    await stack.platform.restart('gateway');
    assert.equal(await nextScreen(page, n), 'question', `question ${offlineQuestion} was answered after the reconnect`);

    // 3. The acknowledgement of an answer is lost with its connection: the page sends it again.
    dropNextFeedback = true;
    await answerWithKeyboard(page, n);
    given++;
    n++;
    assert.equal(await nextScreen(page, n), 'question');
    assert.equal(feedbackDropped, 1);

    while ((await answerNext()) === 'question') {
      // play to the end
    }
    await visible(page, 'screen-end');
    await page.click('#end-answers summary');
    const doc = await storedAssessment(candidate.user_id);
    assertSameAnswers(doc, await shownAnswers(page), given);
    assert.deepEqual(problems, { errors: [], csp: [] }, 'no script errors and no CSP violations');
    await page.context().close();
  });

  test('help chat, integrity events, and time_warning and session_replaced frames pushed to the page', async () => {
    const candidate = await stack.inviteCandidate(ADAPTIVE_TEST_ID);
    const { page, problems } = await newPage();
    // The proxy lets the test push frames to the page at a moment it chooses.
    let toPage: ((frame: object) => void) | undefined;
    let connections = 0;
    const fromPage: string[] = [];
    const fromServer: string[] = [];
    await page.routeWebSocket(/\/ws\/assessment/, (ws) => {
      connections++;
      const server = ws.connectToServer();
      toPage = (frame) => ws.send(JSON.stringify({ ...frame, ts: new Date().toISOString() }));
      ws.onMessage((message) => {
        if (typeof message === 'string') fromPage.push(message);
        server.send(message);
      });
      server.onMessage((message) => {
        if (typeof message === 'string') fromServer.push(message);
        ws.send(message);
      });
    });
    await page.goto(`${stack.httpUrl}/?token=${encodeURIComponent(candidate.token)}`);
    await visible(page, 'screen-intro');
    await page.click('#start-button');
    assert.equal(await nextScreen(page, 1), 'question');

    // Chat: the text is shown as text, once, although the reply and the room broadcast both carry it.
    const text = '<img src=x id=injected> Is a calculator allowed?';
    await page.getByLabel('Message', { exact: true }).fill(text);
    await page.getByLabel('Message', { exact: true }).press('Enter');
    await page.waitForSelector('#chat-log li');
    // Both copies reach the page (the count is read once a later frame has been shown, below).
    await until(
      'the reply and the broadcast reach the page',
      () => fromServer.filter((m) => m.includes('"type":"chat_message"')).length >= 2,
    );
    assert.equal(await page.textContent('#chat-log li .chat-text'), text);
    assert.equal(await page.locator('#injected').count(), 0, 'markup in a message is not rendered');
    assert.equal(await page.textContent('#chat-log li .chat-sender'), 'You');
    assert.equal(await page.inputValue('#chat-input'), '');

    // Integrity events go out; the server's UNKNOWN_TYPE answer is ignored silently.
    await page.focus('#option-1');
    await page.evaluate(() => {
      document.dispatchEvent(new Event('paste'));
      window.dispatchEvent(new Event('blur'));
    });
    await until('both integrity events are sent', () => fromPage.filter((m) => m.includes('"type":"integrity_event"')).length >= 2);
    const integrity = fromPage
      .filter((m) => m.includes('"type":"integrity_event"'))
      .map((m) => JSON.parse(m) as { data: { kind: string; at: string } });
    assert.deepEqual(integrity.map((f) => f.data.kind).sort(), ['focus_lost', 'paste']);
    assert.ok(integrity.every((f) => !Number.isNaN(Date.parse(f.data.at))));
    assert.equal(await page.isHidden('#problem'), true, 'no error is shown for the unknown frame');
    assert.equal(await page.textContent('#connection-text'), 'Connected');

    // time_warning: a banner, and the countdown re-syncs to the server's value.
    assert.ok(toPage);
    toPage({ type: 'time_warning', data: { assessment_id: 'a-1', time_remaining_s: 300 } });
    await visible(page, 'time-warning');
    // The page handles frames in order: both chat copies came before this one.
    assert.equal(await page.locator('#chat-log li').count(), 1, 'one message, de-duplicated');
    assert.equal(await page.textContent('#time-warning'), 'Time warning: 5 minutes left.');
    assert.match((await page.textContent('#timer')) ?? '', /^(5:00|4:5\d)$/);
    await assertAccessible(page, 'question with a time warning and a chat message');

    // session_replaced: the page says where the assessment went and stops reconnecting.
    toPage({ type: 'session_replaced', data: { assessment_id: 'a-1' } });
    await visible(page, 'screen-replaced');
    assert.equal(await page.textContent('#replaced-title'), 'This assessment continues in another window');
    assert.equal(await focused(page), '#replaced-title');
    await page.waitForTimeout(1500);
    assert.equal(connections, 1, 'no reconnect after session_replaced');
    assert.deepEqual(problems, { errors: [], csp: [] });
    await page.context().close();
  });

  test('pages and assets are served with the CSP, caching headers and content types, and nothing else is reachable', async () => {
    const index = await fetch(`${stack.httpUrl}/`);
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(index.headers.get('content-security-policy'), EXPECTED_CSP);
    assert.equal(index.headers.get('cache-control'), 'no-cache');
    assert.equal(index.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(index.headers.get('referrer-policy'), 'no-referrer');
    const html = await index.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    assert.doesNotMatch(html, /<style|\sstyle=/, 'no inline style');
    const etag = index.headers.get('etag');
    assert.ok(etag !== null);
    assert.equal((await fetch(`${stack.httpUrl}/`, { headers: { 'if-none-match': etag } })).status, 304);

    const script = /<script type="module" src="(\/assets\/main-[\w-]+\.js)"/.exec(html)?.[1];
    const styles = /<link rel="stylesheet" href="(\/assets\/styles-[\w-]+\.css)"/.exec(html)?.[1];
    assert.ok(script !== undefined && styles !== undefined, 'index.html links hashed assets');
    for (const [path, type] of [
      [script, 'text/javascript; charset=utf-8'],
      [styles, 'text/css; charset=utf-8'],
    ] as const) {
      const res = await fetch(`${stack.httpUrl}${path}`, { headers: { 'accept-encoding': 'gzip' } });
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get('content-type'), type);
      assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.equal(res.headers.get('content-encoding'), 'gzip');
      assert.ok((await res.text()).length > 1000);
    }

    // Raw request paths (fetch would normalise them): nothing outside the built site is served.
    const traversal = [
      '/../package.json',
      '/assets/../../package.json',
      '/%2e%2e/package.json',
      '/assets/%2e%2e%2f%2e%2e%2fpackage.json',
      '/..%2f..%2fpackage.json',
      '/assets/..%5c..%5cpackage.json',
      '/web/build.ts',
      '/src/main.ts',
      '/build.ts',
      '/dist/index.html',
      '/assets/',
      '/.git/config',
      '//etc/passwd',
      '/index.html%00.js',
    ];
    for (const path of traversal) {
      const res = await rawGet(stack.httpUrl, path);
      // A target that is not a path (`//etc/passwd` is scheme-relative) is a bad request.
      assert.equal(res.status, path.startsWith('//') ? 400 : 404, `${path} → ${res.status}`);
      assert.doesNotMatch(res.body, /assessment-platform|buildSite|root:/, path);
    }
    const head = await rawGet(stack.httpUrl, '/', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal((await rawGet(stack.httpUrl, '/', 'POST')).status, 404);
    assert.equal((await fetch(`${stack.httpUrl}/healthz`)).status, 200);
  });
});

function rawGet(base: string, path: string, method = 'GET'): Promise<{ status: number; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
