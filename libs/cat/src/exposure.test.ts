import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calibrateConditionalSympsonHetter, calibrateSympsonHetter, updateExposureFromUsage } from './exposure.ts';
import { generateBank, simulateCat } from './simulate.ts';

describe('calibrateSympsonHetter', () => {
  it('lowers the maximum exposure towards r_max', () => {
    const items = generateBank({ size: 80, seed: 'cal-test' });
    const config = { minItems: 8, maxItems: 8 };
    const plain = simulateCat({ items, simulees: 150, config, seed: 'eval' });
    assert.equal(plain.maxExposure, 1);
    const cal = calibrateSympsonHetter({ items, rMax: 0.3, config, simulees: 150, iterations: 5, seed: 'c' });
    assert.equal(cal.exposureK.length, items.length);
    assert.equal(cal.iterations.length, 5);
    assert.ok(cal.exposureK.every((k) => k > 0 && k <= 1));
    assert.ok(cal.exposureK.some((k) => k < 1));
    const sh = simulateCat({ items, simulees: 150, config: { ...config, sympsonHetter: true }, exposureK: cal.exposureK, seed: 'eval' });
    assert.ok(sh.maxExposure < 0.45, `max exposure ${sh.maxExposure}`);
    assert.ok(sh.rmse < plain.rmse + 0.15);
  });
});

describe('calibrateConditionalSympsonHetter', () => {
  it('sets K per θ stratum and lowers the exposure within the strata', () => {
    const items = generateBank({ size: 80, seed: 'cal-test' });
    const config = { minItems: 8, maxItems: 8, conditionalSympsonHetter: { cuts: [-1, 0, 1] } };
    const plain = simulateCat({ items, simulees: 200, config: { minItems: 8, maxItems: 8 }, thetaCuts: [-1, 0, 1], seed: 'eval' });
    const cal = calibrateConditionalSympsonHetter({ items, rMax: 0.3, config, simulees: 200, iterations: 5, seed: 'c' });
    assert.deepEqual(cal.cuts, [-1, 0, 1]);
    assert.equal(cal.exposureKByStratum.length, items.length);
    assert.ok(cal.exposureKByStratum.every((row) => row.length === 4 && row.every((k) => k > 0 && k <= 1)));
    // Items are held back where they are popular: the K of an item differ between strata.
    assert.ok(cal.exposureKByStratum.some((row) => Math.min(...row) < 0.6 && Math.max(...row) === 1));
    const run = simulateCat({ items, simulees: 200, config, exposureKByStratum: cal.exposureKByStratum, seed: 'eval' });
    const maxIn = (r: typeof run): number => Math.max(...(r.byThetaStratum?.exposureRates ?? []).map((row) => Math.max(...row)));
    assert.equal(maxIn(plain), 1);
    // θ̂ lags the true θ in an 8-item test, so some stratum still sees one item more often than r_max.
    assert.ok(maxIn(run) < 0.85, `max conditional exposure ${maxIn(run)}`);
    assert.ok(run.maxExposure < 0.4, `max exposure ${run.maxExposure}`);
    assert.deepEqual(
      run.byThetaStratum?.simulees.reduce((x, y) => x + y, 0),
      200,
    );
  });

  it('rejects r_max outside (0, 1]', () => {
    const items = generateBank({ size: 10, seed: 'x' });
    assert.throws(() => calibrateConditionalSympsonHetter({ items, rMax: 0, config: { minItems: 2, maxItems: 2 } }), RangeError);
  });
});

describe('updateExposureFromUsage', () => {
  const items = [{ id: 'a', exposureK: 0.5 }, { id: 'b' }, { id: 'c', exposureK: 0.8 }, { id: 'd', exposureK: 0 }];

  it('applies the Sympson–Hetter update from administered (and selected) counts', () => {
    const up = updateExposureFromUsage({
      items,
      usage: { a: { administered: 200 }, b: { administered: 100 }, c: { administered: 100, selected: 500 } },
      examinees: 1000,
      rMax: 0.25,
    });
    const byId = new Map(up.map((u) => [u.id, u]));
    // a: P(A)=0.2, P(S)=0.2/0.5=0.4 → K=0.25/0.4
    assert.ok(Math.abs((byId.get('a')?.exposureK as number) - 0.625) < 1e-12);
    // b: P(S)=0.1 ≤ r_max → 1
    assert.equal(byId.get('b')?.exposureK, 1);
    // c: selected tracked: P(S)=0.5 → K=0.5
    assert.ok(Math.abs((byId.get('c')?.exposureK as number) - 0.5) < 1e-12);
    // d: K=0 and no selection data → stays 0
    assert.equal(byId.get('d')?.exposureK, 0);
  });

  it('leaves K unchanged with too few examinees and accepts a Map', () => {
    const up = updateExposureFromUsage({ items, usage: new Map([['a', { administered: 40 }]]), examinees: 50, rMax: 0.25 });
    assert.deepEqual(
      up.map((u) => u.exposureK),
      [0.5, 1, 0.8, 0],
    );
  });
});
