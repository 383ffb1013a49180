/**
 * The slow simulation of conditional Sympson–Hetter on a full-size bank (split from
 * exposure.test.ts so that mutation testing runs the fast tests).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calibrateConditionalSympsonHetter } from './exposure.ts';
import { generateBank, simulateCat } from './simulate.ts';

describe('calibrateConditionalSympsonHetter', () => {
  it('on the 300-item bank of simulate --seed cat-1 (20 items) it holds exposure near r_max at a small RMSE cost', () => {
    // A reduced run (6 × 800 calibration simulees, 400 test simulees); the 1,000-simulee
    // figures come from bench/exposure.bench.ts (max 0.240, RMSE 0.405 there).
    const items = generateBank({ size: 300, seed: 'cat-1' });
    const base = { minItems: 20, maxItems: 20 };
    const config = { ...base, conditionalSympsonHetter: { cuts: [-1, 1] } };
    const cal = calibrateConditionalSympsonHetter({ items, rMax: 0.23, config, simulees: 800, iterations: 6, seed: 'u' });
    const csh = simulateCat({ items, simulees: 400, config, exposureKByStratum: cal.exposureKByStratum, seed: 'cat-1' });
    const mfi = simulateCat({ items, simulees: 400, config: base, seed: 'cat-1' });
    assert.equal(mfi.maxExposure, 1);
    assert.ok(csh.maxExposure <= 0.32, `max exposure ${csh.maxExposure}`);
    assert.ok(csh.exposureRates.filter((x) => x > 0.25).length <= 4);
    assert.ok(csh.unusedShare < mfi.unusedShare - 0.15, `unused ${csh.unusedShare} vs ${mfi.unusedShare}`);
    assert.ok(csh.overlapRate < 0.25, `overlap ${csh.overlapRate}`);
    assert.ok(csh.rmse <= 0.42 && csh.rmse <= mfi.rmse + 0.05, `RMSE ${csh.rmse} vs ${mfi.rmse}`);
  });
});
