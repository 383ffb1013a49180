// The recruiter's item view for a test with Likert and partial-credit items: each draws one
// category response curve per category (GRM or GPCM), a single choice its characteristic curve.
// The item statistics, with the GRM/GPCM parameters of those items, come from the real stack.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { assertAccessible } from './support/a11y.ts';
import { closeBrowserAndStack, openPage, startBrowserAndStack, visible } from './support/browser.ts';
import type { TestStack } from './support/setup.ts';

let stack: TestStack;
let browser: Browser;
let testId: string;

const SCALE = ['Strongly disagree', 'Disagree', 'Neither', 'Agree', 'Strongly agree'].map((text, i) => ({ id: `s${i}`, text }));
const STEPS = ['None', 'Half', 'All'].map((text, i) => ({ id: `p${i}`, text }));
const POLY = {
  'lrb-1': { model: 'GRM', a: 1.4, thresholds: [-1.5, -0.4, 0.5, 1.6] },
  'lrb-2': { model: 'GPCM', a: 0.9, thresholds: [-0.3, 0.7] },
} as const;

before(async () => {
  ({ browser, stack } = await startBrowserAndStack());
  ({ test_id: testId } = await stack.bus.request('testCreate', {
    caller: { user_id: stack.seed.recruiter.user_id, role: 'recruiter' },
    definition: {
      id: 'likert-recruiter',
      title: 'Scales in the item view',
      time_limit_s: 600,
      strategy: 'fixed',
      items: ['lrb-1', 'lrb-2', 'lrb-3'],
    },
    items: [
      {
        id: 'lrb-1',
        skill: 'teamwork',
        type: 'likert',
        stem: 'I ask for help.',
        options: SCALE,
        ...POLY['lrb-1'],
        thresholds: [...POLY['lrb-1'].thresholds],
      },
      {
        id: 'lrb-2',
        skill: 'reasoning',
        type: 'partial_credit',
        stem: 'The proof.',
        options: STEPS,
        ...POLY['lrb-2'],
        thresholds: [...POLY['lrb-2'].thresholds],
      },
      { id: 'lrb-3', skill: 'reasoning', stem: 'Two and two?', options: STEPS, key: 'p1', a: 1.1, b: 0.2, c: 0.1 },
    ],
  }));
});

after(() => closeBrowserAndStack(browser, stack));

describe('the item view of Likert and partial-credit items', () => {
  test('draws category response curves for GRM and GPCM items and a characteristic curve for a single choice, and passes axe', async () => {
    const { page, problems } = await openPage(browser, 1200, 900);
    // The service sends each item's parameters as it scores it.
    const stats = await stack.bus.request('itemStats', { caller: { user_id: 'system', role: 'admin' }, test_id: testId });
    for (const [id, irt] of Object.entries(POLY)) {
      assert.deepEqual(stats.items.find((i) => i.item_id === id)?.irt, { ...irt, thresholds: [...irt.thresholds] });
    }
    await page.goto(`${stack.httpUrl}/recruiter`);
    await visible(page, 'screen-signin');
    await page.fill('#email', stack.seed.recruiter.email);
    await page.fill('#password', stack.seed.recruiter.password);
    await page.keyboard.press('Enter');
    await visible(page, 'screen-tests');
    await page.locator('#tests-rows tr', { hasText: 'Scales in the item view' }).getByRole('button').click();
    await visible(page, 'screen-test');
    await page.locator('#items-rows tr').nth(2).waitFor();

    const charts = await page.$$eval('#items-rows tr', (trs) =>
      trs.map((tr) => {
        const svg = tr.querySelector('svg');
        return {
          stem: tr.querySelector('th')?.textContent ?? '',
          title: svg?.querySelector(':scope > title')?.textContent ?? '',
          categories: [...(svg?.querySelectorAll('polyline.chart-category') ?? [])].map((p) => p.getAttribute('data-category')),
          icc: svg?.classList.contains('chart-crc') === false,
        };
      }),
    );
    const byStem = new Map(charts.map((c) => [c.stem, c]));
    const grm = byStem.get('I ask for help.');
    assert.deepEqual(grm?.categories, ['0', '1', '2', '3', '4'], 'five categories, five curves');
    assert.match(grm.title, /graded response model\) of 5 categories: discrimination 1\.40, thresholds -1\.50, -0\.40, 0\.50, 1\.60/);
    const gpcm = byStem.get('The proof.');
    assert.deepEqual(gpcm?.categories, ['0', '1', '2']);
    assert.match(gpcm.title, /generalized partial credit model\) of 3 categories: discrimination 0\.90, thresholds -0\.30, 0\.70/);
    const single = byStem.get('Two and two?');
    assert.equal(single?.icc, true);
    assert.deepEqual(single.categories, []);
    assert.match(single.title, /^Characteristic curve: discrimination 1\.10, difficulty 0\.20, guessing 0\.10/);

    // The GPCM curves of categories 0 and 1 cross at the first step (θ = −0.3): same height there.
    const heights = await page.$$eval('#items-rows tr svg.chart-crc', (svgs) =>
      svgs.map((svg) => [...svg.querySelectorAll('polyline.chart-category')].map((p) => (p.getAttribute('points') ?? '').split(' '))),
    );
    const g = heights[1] ?? [];
    // Points are every 0.1 of θ from −3: index 27 is θ = −0.3.
    const at = (k: number) => Number((g[k]?.[27] ?? '').split(',')[1]);
    assert.ok(Math.abs(at(0) - at(1)) < 0.11, `P0 and P1 at the first step: ${at(0)} and ${at(1)}`);
    await assertAccessible(page, 'item view with category response curves');
    assert.deepEqual(problems.errors, []);
    assert.deepEqual(problems.csp, []);
  });
});
