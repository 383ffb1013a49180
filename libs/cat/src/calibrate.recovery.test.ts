/**
 * The slow statistical tests of the dichotomous (2PL and 3PL) calibration, split from calibrate.test.ts so that mutation
 * testing runs only the fast ones: parameter recovery and item fit on thousands of simulees.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import { calibrate } from './calibrate.ts';
import { renderCalibrationSvg } from './calibration-svg.ts';
import type { ResponseRow } from './calibrate.ts';
import { prob3pl } from './irt.ts';
import { createRng } from './rng.ts';
import { drawThetas } from './simulate.ts';

type True = { a: number; b: number; c: number };

function simulate(items: readonly True[], people: number, seed: string, asked?: (i: number, j: number) => boolean): ResponseRow[] {
  const thetas = drawThetas(people, seed);
  const r = createRng(`responses:${seed}`);
  return thetas.map((t, i) => {
    const row = new Map<number, 0 | 1>();
    items.forEach((it, j) => {
      if (asked !== undefined && !asked(i, j)) return;
      row.set(j, r.next() < prob3pl(t, it.a, it.b, it.c) ? 1 : 0);
    });
    return row;
  });
}

const rmse = (xs: number[], ys: number[]) => Math.sqrt(xs.reduce((s, x, i) => s + (x - (ys[i] as number)) ** 2, 0) / xs.length);

function twoPlItems(n: number, seed: string): True[] {
  const r = createRng(seed);
  return Array.from({ length: n }, () => ({ a: 0.7 + 1.3 * r.next(), b: Math.max(-2.5, Math.min(2.5, r.normal())), c: 0 }));
}

describe('item calibration (Bock–Aitkin EM): recovery from simulated data', () => {
  it('recovers 40 2PL items from 2,000 simulees: RMSE of b ≤ 0.10 and of a ≤ 0.12, with standard errors that match the errors', () => {
    const items = twoPlItems(40, 'recovery-items');
    const rows = simulate(items, 2000, 'recovery');
    const report = calibrate(rows, items.length, { model: '2PL' });
    assert.ok(report.converged, `converged in ${report.cycles} cycles`);
    const rb = rmse(
      report.items.map((i) => i.b),
      items.map((i) => i.b),
    );
    const ra = rmse(
      report.items.map((i) => i.a),
      items.map((i) => i.a),
    );
    assert.ok(rb <= 0.1, `RMSE b ${rb.toFixed(3)}`);
    assert.ok(ra <= 0.12, `RMSE a ${ra.toFixed(3)}`);
    // The reported SEs are of the size of the actual errors (their mean within a factor of two).
    const meanSeB = report.items.reduce((s, i) => s + i.se.b, 0) / items.length;
    assert.ok(meanSeB > rb / 2 && meanSeB < rb * 2, `mean SE(b) ${meanSeB.toFixed(3)} against RMSE ${rb.toFixed(3)}`);
    // EM never lowers the marginal likelihood by more than rounding (the priors are weak).
    const ll = report.logLikelihood;
    for (let k = 1; k < ll.length; k++)
      assert.ok((ll[k] as number) >= (ll[k - 1] as number) - 1e-6 * Math.abs(ll[k - 1] as number), `cycle ${k}`);
    // Items that fit the model fit: Q1 rejects few at 1%.
    const rejected = report.items.filter((i) => i.fit !== null && i.fit.p < 0.01).length;
    assert.ok(rejected <= 2, `${rejected} of 40 items rejected by Q1 at 1%`);
  });

  it('works on sparse data (each simulee answers a quarter of the items) and leaves rarely asked items unestimated', () => {
    const items = twoPlItems(24, 'sparse-items');
    const rows = simulate(items, 2400, 'sparse', (i, j) => ((i + j) % 4 === 0 || j === 23 ? j !== 23 || i < 10 : false));
    const report = calibrate(rows, items.length, { model: '2PL', minResponses: 30 });
    const last = report.items[23];
    assert.equal(last?.estimated, false);
    assert.equal(last.fit, null);
    const est = report.items.slice(0, 23);
    const rb = rmse(
      est.map((i) => i.b),
      items.slice(0, 23).map((i) => i.b),
    );
    assert.ok(rb <= 0.2, `RMSE b on sparse data ${rb.toFixed(3)}`);
  });

  it('3PL: with the prior on c, the guessing level and b are recovered in range', () => {
    const r = createRng('3pl-items');
    const items: True[] = Array.from({ length: 30 }, () => ({ a: 1 + r.next(), b: r.normal(), c: 0.2 }));
    const rows = simulate(items, 3000, '3pl');
    const report = calibrate(rows, items.length, { model: '3PL' });
    const rb = rmse(
      report.items.map((i) => i.b),
      items.map((i) => i.b),
    );
    const meanC = report.items.reduce((s, i) => s + i.c, 0) / items.length;
    assert.ok(rb <= 0.25, `RMSE b ${rb.toFixed(3)}`);
    assert.ok(Math.abs(meanC - 0.2) <= 0.05, `mean c ${meanC.toFixed(3)}`);
    assert.ok(report.items.every((i) => i.se.c !== undefined && i.se.c > 0));
  });

  it('a misfitting item is flagged by Q1', () => {
    const items = twoPlItems(20, 'misfit-items');
    const rows = simulate(items, 2000, 'misfit');
    // Item 0 answered at random whatever the ability: no logistic curve fits it well... unless flat.
    // Make it a step function instead: right exactly when θ̂-sign says so (a very steep item, then noise).
    const thetas = drawThetas(2000, 'misfit');
    rows.forEach((row, i) => (row as Map<number, 0 | 1>).set(0, Math.abs(thetas[i] as number) < 0.7 ? 1 : 0));
    const report = calibrate(rows, items.length);
    const fit0 = report.items[0]?.fit;
    assert.ok(fit0 !== null && fit0 !== undefined && fit0.p < 0.001, `Q1 of the non-monotone item: ${JSON.stringify(fit0)}`);
    // The item map: well-formed, one marker per item with its id and figures, the misfit in red.
    const ids = items.map((_, j) => `q${j}`);
    const svg = renderCalibrationSvg(report, { ids, previous: items, title: 'Test <misfit>' });
    const tree = new XMLParser({ ignoreAttributes: false }).parse(svg) as { svg?: { circle?: unknown[]; line?: unknown[] } };
    // Markers, rings before calibration and three legend circles; two SE bars and a link per item.
    assert.equal(tree.svg?.circle?.length, 2 * items.length + 3);
    assert.ok((tree.svg.line?.length ?? 0) >= 3 * items.length);
    const markers = [...svg.matchAll(/<circle cx="[^"]+" cy="[^"]+" r="4" fill="(#[0-9a-f]+)"><title>([^<]*)<\/title>/g)];
    assert.equal(markers.length, items.length);
    const first = markers[0];
    assert.ok(first !== undefined);
    assert.equal(first[1], '#c62828');
    assert.match(String(first[2]), /^q0: a /);
    assert.ok(svg.includes('Test &lt;misfit&gt;'));
  });
});
