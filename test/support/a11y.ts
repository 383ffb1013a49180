import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AxeResults } from 'axe-core';
import type { Page } from 'playwright-core';

/** The WCAG 2.0, 2.1 and 2.2 level A and AA rules of axe-core. */
export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] as const;

/** Smallest target a pointer must hit, in CSS pixels (WCAG 2.2, 2.5.8 Target Size, Minimum). */
export const MIN_TARGET_PX = 24;

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
let axeSource: Promise<string> | undefined;

/** One rule a page breaks, with the elements that break it. */
export type Violation = { id: string; impact: string; help: string; targets: string[] };

/**
 * Runs axe-core with the WCAG A and AA tags on the page as it stands. axe is evaluated through the
 * DevTools protocol, which the pages' Content-Security-Policy (script-src 'self') does not govern,
 * so the page is checked as served.
 */
export async function axeViolations(page: Page): Promise<Violation[]> {
  axeSource ??= readFile(axePath, 'utf8');
  const source = await axeSource;
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(`${source}\n;true`);
  const results = await page.evaluate(
    async (tags) => {
      const axe = (window as unknown as { axe: { run(context: Document, options: unknown): Promise<AxeResults> } }).axe;
      return axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
    },
    [...WCAG_TAGS],
  );
  return results.violations.map((v) => ({
    id: v.id,
    impact: v.impact ?? 'unknown',
    help: v.help,
    targets: v.nodes.map((n) => n.target.join(' ')),
  }));
}

/** Fails, listing each violation (rule, impact, elements), unless axe finds none in this state of the page. */
export async function assertAccessible(page: Page, state: string): Promise<void> {
  const violations = await axeViolations(page);
  const list = violations.map((v) => `  ${v.id} (${v.impact}): ${v.help}\n    ${v.targets.join('\n    ')}`).join('\n');
  assert.equal(violations.length, 0, `${state}: ${violations.length} WCAG A/AA violations\n${list}`);
}

/**
 * The visible pointer targets (buttons, links outside running text, form controls, summaries)
 * smaller than 24 × 24 px. A radio button or checkbox counts with the label that wraps it.
 */
export function smallTargets(page: Page): Promise<string[]> {
  return page.evaluate((min) => {
    const small: string[] = [];
    const describe = (el: Element) =>
      `${el.tagName.toLowerCase()}${el.id === '' ? '' : `#${el.id}`}${el.getAttribute('aria-label') === null ? '' : `[${el.getAttribute('aria-label') ?? ''}]`}`;
    for (const el of document.querySelectorAll('button, a[href], input, select, textarea, summary')) {
      if (el instanceof HTMLInputElement && el.type === 'hidden') continue;
      // Links inside a sentence are excepted by the success criterion.
      if (el instanceof HTMLAnchorElement && el.closest('p, li, dd, td') !== null && !el.classList.contains('skip-link')) continue;
      const box = el.getBoundingClientRect();
      if (box.width === 0 && box.height === 0) continue;
      const style = getComputedStyle(el);
      if (style.visibility === 'hidden' || el.closest('[hidden]') !== null) continue;
      const label = el instanceof HTMLInputElement && (el.type === 'radio' || el.type === 'checkbox') ? el.closest('label') : null;
      const target = (label ?? el).getBoundingClientRect();
      if (target.width < min - 0.5 || target.height < min - 0.5)
        small.push(`${describe(el)} ${target.width.toFixed(0)}×${target.height.toFixed(0)}`);
    }
    return small;
  }, MIN_TARGET_PX);
}

/** Fails unless every visible pointer target is at least 24 × 24 px. */
export async function assertTargetSizes(page: Page, state: string): Promise<void> {
  assert.deepEqual(await smallTargets(page), [], `${state}: targets smaller than ${MIN_TARGET_PX} × ${MIN_TARGET_PX} px`);
}

/**
 * Tabs through the page and returns each focused element that a fixed or sticky element covers,
 * entirely or in part (WCAG 2.2, 2.4.11 Focus Not Obscured).
 */
export async function obscuredFocus(page: Page, maxTabs = 60): Promise<string[]> {
  const obscured: string[] = [];
  await page.evaluate(() => {
    (document.activeElement as HTMLElement | null)?.blur();
    window.scrollTo(0, 0);
  });
  const seen = new Set<string>();
  for (let i = 0; i < maxTabs; i++) {
    await page.keyboard.press('Tab');
    const hit = await page.evaluate(() => {
      const el = document.activeElement;
      if (el === null || el === document.body) return { key: 'body', covered: '' };
      const key = `${el.tagName}#${el.id}:${el.getAttribute('aria-label') ?? el.textContent.slice(0, 30)}`;
      const box = el.getBoundingClientRect();
      const covers: string[] = [];
      for (const other of document.querySelectorAll('body *')) {
        if (other === el || other.contains(el) || el.contains(other)) continue;
        const position = getComputedStyle(other).position;
        if (position !== 'fixed' && position !== 'sticky') continue;
        const r = other.getBoundingClientRect();
        if (r.width === 0 || r.height === 0) continue;
        if (r.left < box.right && r.right > box.left && r.top < box.bottom && r.bottom > box.top)
          covers.push(other.tagName + '.' + other.className);
      }
      return { key, covered: covers.join(', ') };
    });
    if (hit.covered !== '') obscured.push(`${hit.key} under ${hit.covered}`);
    if (seen.has(hit.key)) break;
    seen.add(hit.key);
  }
  return obscured;
}
