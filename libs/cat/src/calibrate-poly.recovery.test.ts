/**
 * The slow statistical tests of the polytomous (GRM and GPCM) calibration, split from calibrate-poly.test.ts so that mutation
 * testing runs only the fast ones: parameter recovery and item fit on thousands of simulees.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calibrate } from './calibrate.ts';
import { renderCalibrationSvg } from './calibration-svg.ts';
import type { PolyItemParams } from './models.ts';
import { isPolyItem, mixedBank, simulate, specs } from './calibrate-poly.fixture.test.ts';
import type { Known } from './calibrate-poly.fixture.test.ts';

const rmse = (pairs: [number, number][]) => Math.sqrt(pairs.reduce((s, [x, y]) => s + (x - y) ** 2, 0) / pairs.length);

describe('polytomous calibration (GRM and GPCM in Bock–Aitkin EM): recovery from simulated data', () => {
  it('recovers a mixed bank (12 GRM, 12 GPCM, 8 2PL items) from 2,000 simulees: RMSE of a ≤ 0.10 and of thresholds ≤ 0.12, SEs of the size of the errors', () => {
    const items = mixedBank('poly-recovery-items', 12, 12, 8);
    const rows = simulate(items, 2000, 'poly-recovery');
    const report = calibrate(rows, items.length, { model: '2PL', items: specs(items) });
    assert.ok(report.converged, `converged in ${report.cycles} cycles`);
    const aPairs: [number, number][] = [];
    const bPairs: [number, number][] = [];
    const seB: number[] = [];
    items.forEach((item, j) => {
      const est = report.items[j];
      assert.ok(est !== undefined && est.estimated);
      if (!isPolyItem(item)) return;
      assert.equal(est.model, item.model);
      aPairs.push([est.a, item.a]);
      item.b.forEach((b, k) => {
        bPairs.push([est.thresholds?.[k] ?? Number.NaN, b]);
        seB.push(est.se.thresholds?.[k] ?? Number.NaN);
      });
      if (item.model === 'GRM')
        assert.ok(
          est.thresholds?.every((b, k, all) => k === 0 || b > (all[k - 1] as number)),
          'GRM thresholds increase',
        );
      assert.ok(Math.abs(est.b - item.b.reduce((s, v) => s + v, 0) / item.b.length) < 0.15, `location of item ${j}`);
      assert.equal(est.c, 0);
    });
    const ra = rmse(aPairs);
    const rb = rmse(bPairs);
    assert.ok(ra <= 0.1, `RMSE a ${ra.toFixed(3)}`);
    assert.ok(rb <= 0.12, `RMSE thresholds ${rb.toFixed(3)}`);
    const meanSe = seB.reduce((s, v) => s + v, 0) / seB.length;
    assert.ok(meanSe > rb / 2 && meanSe < rb * 2, `mean SE of thresholds ${meanSe.toFixed(3)} against RMSE ${rb.toFixed(3)}`);
    // The 2PL items in the same run are recovered as well as alone.
    const dichB = items.flatMap((item, j): [number, number][] => (isPolyItem(item) ? [] : [[report.items[j]?.b ?? Number.NaN, item.b]]));
    assert.ok(rmse(dichB) <= 0.12, `RMSE b of the 2PL items ${rmse(dichB).toFixed(3)}`);
    // EM does not lower the marginal likelihood, and items that fit the model fit.
    const ll = report.logLikelihood;
    for (let k = 1; k < ll.length; k++)
      assert.ok((ll[k] as number) >= (ll[k - 1] as number) - 1e-6 * Math.abs(ll[k - 1] as number), `cycle ${k}`);
    // The item map names a polytomous item's model, location and thresholds.
    const svg = renderCalibrationSvg(report, { ids: items.map((_, j) => `q${j}`) });
    const first = items[0] as PolyItemParams;
    assert.match(
      svg,
      new RegExp(
        `<title>q0: a [0-9.]+ ± [0-9.]+, GRM, location -?[0-9.]+ ± [0-9.]+, thresholds (-?[0-9.]+, ){${first.b.length - 1}}-?[0-9.]+, n 2000, Q1 p`,
      ),
    );
    assert.match(svg, /location of a GRM\/GPCM item/);
    assert.match(svg, /<title>q31: a [0-9.]+ ± [0-9.]+, b -?[0-9.]+ ± [0-9.]+, n 2000/);
    const rejected = report.items.filter((i) => i.model !== undefined && i.fit !== null && i.fit.p < 0.01).length;
    assert.ok(rejected <= 2, `${rejected} of 24 polytomous items rejected by Q1 at 1%`);
  });

  it('a polytomous item fitted with the wrong model is flagged by Q1 (GPCM data with disordered steps, fitted as GRM)', () => {
    const items: Known[] = [...mixedBank('poly-misfit-items', 6, 0, 10), { model: 'GPCM', a: 2.5, b: [0.8, -0.8, 0.8, -0.8] }];
    const rows = simulate(items, 2000, 'poly-misfit');
    const spec = specs(items);
    spec[items.length - 1] = { model: 'GRM', categories: 5 };
    const report = calibrate(rows, items.length, { items: spec });
    const fit = report.items[items.length - 1]?.fit;
    assert.ok(fit !== null && fit !== undefined && fit.p < 0.001, `Q1 of the misfitting item ${JSON.stringify(fit)}`);
    assert.ok(report.items.slice(0, 6).every((i) => i.fit !== null && i.fit.p > 0.001));
  });
});
