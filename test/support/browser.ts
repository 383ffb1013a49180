import { constants } from 'node:fs';
import { access, copyFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { parseConfig, processEnv } from '@ap/config';
import { z } from 'zod';

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
