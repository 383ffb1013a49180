import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { access, copyFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { parseConfig, processEnv } from '@ap/config';
import { z } from 'zod';
import { setup } from './setup.ts';
import type { TestStack } from './setup.ts';

/** The Content-Security-Policy every page is served with, as the tests expect it to the letter. */
export const EXPECTED_CSP =
  "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'";

/** Debian's chromium; CI installs it in .ci/run's system packages section. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
/** Where every run writes its screenshots (gitignored). */
export const SCREENSHOT_DIR = `${repoRoot}test-results/screenshots/`;
/** The screenshots the README shows: written when missing, or replaced with UPDATE_SCREENSHOTS=1. */
export const DOCS_SCREENSHOT_DIR = `${repoRoot}docs/screenshots/`;

const env = parseConfig(z.object({ UPDATE_SCREENSHOTS: z.enum(['0', '1']).default('0') }), processEnv());

/** Launches headless Chromium, or fails with how to install it. */
export async function launchChromium(): Promise<Browser> {
  try {
    await access(CHROMIUM_PATH, constants.X_OK);
  } catch {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM_PATH}, and the browser tests need it: ` +
        'run `apt-get update && apt-get install -y chromium` (.ci/run installs it).',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

/** A new page in its own context (own storage), as a user in Europe would see it, watched for problems. */
export async function openPage(browser: Browser, width = 1000, height = 760): Promise<{ page: Page; problems: PageProblems }> {
  const context = await browser.newContext({ viewport: { width, height }, locale: 'en-GB', timezoneId: 'UTC' });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  return { page, problems: watchPage(page) };
}

/** Waits until the element with this id is shown. */
export function visible(page: Page, id: string): Promise<unknown> {
  return page.waitForSelector(`#${id}:not([hidden])`);
}

/** Chromium and a whole stack for a browser test file; Chromium first, so that a missing browser fails before the stack is paid for. */
export async function startBrowserAndStack(): Promise<{ browser: Browser; stack: TestStack }> {
  const browser = await launchChromium();
  try {
    return { browser, stack: await setup() };
  } catch (err) {
    await browser.close();
    throw err;
  }
}

/** Closes what `startBrowserAndStack` started (either may be missing when it failed). */
export async function closeBrowserAndStack(browser: Browser | undefined, stack: TestStack | undefined): Promise<void> {
  await browser?.close();
  await stack?.close();
}

/** What went wrong inside a page: uncaught errors and Content-Security-Policy violations. */
export type PageProblems = { errors: string[]; csp: string[] };

const frameLogs = new WeakMap<Page, string[]>();

/** Records a page's uncaught errors and CSP violations (which Chromium reports on the console), and its WebSocket frames. */
export function watchPage(page: Page): PageProblems {
  const problems: PageProblems = { errors: [], csp: [] };
  page.on('pageerror', (err) => problems.errors.push(err.message));
  page.on('console', (msg) => {
    if (/Content Security Policy/i.test(msg.text())) problems.csp.push(msg.text());
  });
  const frames: string[] = [];
  frameLogs.set(page, frames);
  const log = (direction: string, payload: string | Buffer) => {
    frames.push(
      `${direction} ${String(payload)
        .replace(/"token":"[^"]*"/, '"token":"…"')
        .slice(0, 300)}`,
    );
    if (frames.length > 40) frames.shift();
  };
  page.on('websocket', (ws) => {
    log('open', ws.url().replace(/token=[^&]*/, 'token=…'));
    ws.on('framesent', (f) => log('>', f.payload));
    ws.on('framereceived', (f) => log('<', f.payload));
    ws.on('close', () => log('close', ''));
  });
  return problems;
}

/** The page's last WebSocket frames, for failure messages. */
export function recentFrames(page: Page): string {
  return (frameLogs.get(page) ?? []).join('\n');
}

/**
 * Saves a screenshot to test-results/screenshots/NAME.png and, when docs/screenshots has none
 * yet (or UPDATE_SCREENSHOTS=1), copies it there for the README.
 */
export async function saveScreenshot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const path = `${SCREENSHOT_DIR}${name}.png`;
  await page.screenshot({ path, fullPage: options.fullPage ?? false, animations: 'disabled', caret: 'hide' });
  const docsPath = `${DOCS_SCREENSHOT_DIR}${name}.png`;
  let exists = true;
  try {
    await access(docsPath);
  } catch {
    exists = false;
  }
  if (!exists || env.UPDATE_SCREENSHOTS === '1') {
    await mkdir(DOCS_SCREENSHOT_DIR, { recursive: true });
    await copyFile(path, docsPath);
  }
  return path;
}

/** The id (or tag and type) of the focused element, to check focus order. */
export function focused(page: Page): Promise<string> {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (el === null) return '';
    if (el.id !== '') return `#${el.id}`;
    return el.tagName.toLowerCase();
  });
}

// ---- the candidate page

/** Waits until question `n` is on screen and ready for an answer, or the end screen is shown; returns which. */
export async function nextScreen(page: Page, n: number): Promise<'question' | 'end'> {
  const handle = await page
    .waitForFunction((want) => {
      if (document.getElementById('screen-end')?.hidden === false) return 'end';
      const title = document.getElementById('question-title');
      const fieldset = document.getElementById('question-fieldset') as HTMLFieldSetElement | null;
      const screen = document.getElementById('screen-question');
      if (screen?.hidden === false && title?.textContent === `Question ${want}` && fieldset?.disabled === false) return 'question';
      return false;
    }, n)
    .catch(async (err: unknown) => {
      throw new Error(`question ${n} did not come: ${await pageState(page)}\nlast frames:\n${recentFrames(page)}`, { cause: err });
    });
  return (await handle.jsonValue()) as 'question' | 'end';
}

/** What the page shows, for failure messages. */
export function pageState(page: Page): Promise<string> {
  return page.evaluate(() => {
    const screen = [...document.querySelectorAll('main > section')].find((el) => !(el as HTMLElement).hidden)?.id ?? 'none';
    const text = (id: string) => document.getElementById(id)?.textContent.trim() ?? '';
    return `screen ${screen}; connection "${text('connection-text')}"; problem "${text('problem')}"; title "${text('question-title')}"; status "${text('answer-status')}"; options ${(document.getElementById('question-fieldset') as HTMLFieldSetElement | null)?.disabled === true ? 'disabled' : 'enabled'}; focus ${document.activeElement?.id ?? ''}`;
  });
}

/** Answers the question on screen with the keyboard only: a number key or the arrow keys, then Enter. */
export async function answerWithKeyboard(page: Page, n: number): Promise<string> {
  assert.match(await focused(page), /^#option-\d$/, `question ${n}: focus starts on the options`);
  if (n % 2 === 1) await page.keyboard.press(String(((n - 1) % 4) + 1));
  else await page.keyboard.press('ArrowDown');
  const chosen = await page.$eval('#options', (el) => el.querySelector<HTMLInputElement>('input:checked')?.value ?? '');
  assert.notEqual(chosen, '', `question ${n}: an option is selected`);
  await page.keyboard.press('Enter');
  return chosen;
}
