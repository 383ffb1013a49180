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

describe('calibrateSympsonHetter, one iteration at a time', () => {
  it('simulates with K = 1 first, with the lottery on, and sets K = r_max / P(S) above r_max, else 1', () => {
    const items = generateBank({ size: 30, seed: 'sh-one' });
    // A conditional setting in the config gives way to the plain lottery.
    const config = { minItems: 5, maxItems: 5, conditionalSympsonHetter: { cuts: [0] } };
    const progress: [number, number, number][] = [];
    const iterations: number[] = [];
    const cal = calibrateSympsonHetter({
      items,
      rMax: 0.2,
      config,
      simulees: 50,
      iterations: 1,
      onProgress: (t, d, n) => progress.push([t, d, n]),
      onIteration: (i) => iterations.push(i.iteration),
    });
    const sim = simulateCat({
      items,
      simulees: 50,
      config: { minItems: 5, maxItems: 5, sympsonHetter: true },
      seed: 'sh:iter:1',
      exposureK: items.map(() => 1),
    });
    assert.deepEqual(
      cal.exposureK,
      sim.selectionRates.map((p) => (p > 0.2 ? 0.2 / p : 1)),
    );
    assert.ok(cal.exposureK.some((k) => k < 1) && cal.exposureK.some((k) => k === 1));
    assert.deepEqual(cal.iterations, [
      { iteration: 1, maxExposure: sim.maxExposure, maxSelection: Math.max(...sim.selectionRates), rmse: sim.rmse },
    ]);
    assert.deepEqual(iterations, [1]);
    assert.equal(progress.length, 50);
    assert.deepEqual(progress.at(-1), [1, 50, 50]);
  });

  it('takes the seed and true abilities it is given', () => {
    const items = generateBank({ size: 20, seed: 'sh-seed' });
    const config = { minItems: 3, maxItems: 3 };
    const thetas = (t: number): number[] => Array.from({ length: 40 }, (_, k) => (t === 1 ? -2 + k * 0.1 : 0));
    const cal = calibrateSympsonHetter({ items, rMax: 0.5, config, simulees: 40, iterations: 1, seed: 'mine', thetas });
    const sim = simulateCat({
      items,
      simulees: 40,
      config: { ...config, sympsonHetter: true },
      seed: 'mine:iter:1',
      exposureK: items.map(() => 1),
      thetas: thetas(1),
    });
    assert.deepEqual(
      cal.exposureK,
      sim.selectionRates.map((p) => (p > 0.5 ? 0.5 / p : 1)),
    );
    assert.equal(cal.iterations[0]?.rmse, sim.rmse);
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

  it('rejects r_max outside (0, 1], as the plain calibration does', () => {
    const items = generateBank({ size: 10, seed: 'x' });
    const config = { minItems: 2, maxItems: 2 };
    for (const rMax of [0, -0.1, 1.01, Number.NaN]) {
      const message = `rMax must be in (0, 1], got ${rMax}`;
      assert.throws(() => calibrateConditionalSympsonHetter({ items, rMax, config }), { name: 'RangeError', message });
      assert.throws(() => calibrateSympsonHetter({ items, rMax, config }), { name: 'RangeError', message });
    }
  });

  it('takes r_max = 1, true abilities per iteration, reports progress, and keeps the K of a stratum no simulee reached', () => {
    const items = generateBank({ size: 30, seed: 'csh-keep' });
    const config = { minItems: 4, maxItems: 4, conditionalSympsonHetter: { cuts: [0] } };
    // Iteration 1: every simulee above the cut; iteration 2: every one below it.
    const thetas = (t: number): number[] => Array.from({ length: 40 }, (_, k) => (t === 1 ? 1 + k * 0.01 : -1 - k * 0.01));
    const progress: number[][] = [];
    const one = calibrateConditionalSympsonHetter({ items, rMax: 0.2, config, simulees: 40, iterations: 1, thetas });
    const two = calibrateConditionalSympsonHetter({
      items,
      rMax: 0.2,
      config,
      simulees: 40,
      iterations: 2,
      thetas,
      onProgress: (t, d, n) => progress.push([t, d, n]),
    });
    const upper = one.exposureKByStratum.map((row) => row[1]);
    assert.ok(upper.some((k) => (k as number) < 1));
    assert.deepEqual(
      two.exposureKByStratum.map((row) => row[1]),
      upper,
    );
    assert.ok(two.exposureKByStratum.some((row) => (row[0] as number) < 1));
    assert.equal(progress.length, 80);
    assert.deepEqual(progress[39], [1, 40, 40]);
    assert.deepEqual(progress[79], [2, 40, 40]);
    assert.doesNotThrow(() => calibrateConditionalSympsonHetter({ items, rMax: 1, config, simulees: 5, iterations: 1 }));
    assert.doesNotThrow(() => calibrateSympsonHetter({ items, rMax: 1, config: { minItems: 4, maxItems: 4 }, simulees: 5, iterations: 1 }));
  });

  it('each iteration simulates with the last K and sets K_ij from the selection rates of stratum j', () => {
    const items = generateBank({ size: 30, seed: 'csh-one' });
    const config = { minItems: 4, maxItems: 4, conditionalSympsonHetter: { cuts: [0] } };
    const seen: number[] = [];
    const cal = calibrateConditionalSympsonHetter({
      items,
      rMax: 0.3,
      config,
      simulees: 60,
      iterations: 2,
      onIteration: (i) => seen.push(i.iteration),
    });
    assert.deepEqual(seen, [1, 2]);
    // The second iteration, replayed: default seed 'csh', the K of the first iteration.
    const first = calibrateConditionalSympsonHetter({ items, rMax: 0.3, config, simulees: 60, iterations: 1 });
    const sim = simulateCat({
      items,
      simulees: 60,
      config,
      seed: 'csh:iter:2',
      exposureKByStratum: first.exposureKByStratum,
      thetaCuts: [0],
    });
    const st = sim.byThetaStratum;
    assert.ok(st);
    const expected = items.map((_, i) =>
      [0, 1].map((j) => {
        const p = st.selectionRates[j]?.[i] as number;
        return (st.simulees[j] as number) === 0 ? (first.exposureKByStratum[i]?.[j] as number) : p > 0.3 ? 0.3 / p : 1;
      }),
    );
    assert.deepEqual(cal.exposureKByStratum, expected);
    assert.ok(expected.some((row) => row.some((k) => k < 1)));
    const last = cal.iterations[1];
    assert.ok(last);
    assert.equal(last.maxExposure, sim.maxExposure);
    assert.equal(last.maxSelection, Math.max(...sim.selectionRates));
    assert.equal(last.maxConditionalExposure, Math.max(...st.exposureRates.map((row) => Math.max(...row))));
    assert.equal(last.rmse, sim.rmse);
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

  it('reports the exposure and selection rates it used', () => {
    const up = updateExposureFromUsage({
      items,
      usage: { a: { administered: 200 }, b: { administered: 100 }, c: { administered: 100, selected: 500 } },
      examinees: 1000,
      rMax: 0.25,
      minExaminees: 1000,
    });
    assert.deepEqual(
      up.map((u) => [u.id, u.previousK, u.exposureRate, u.selectionRate]),
      [
        ['a', 0.5, 0.2, 0.4],
        ['b', 1, 0.1, 0.1],
        ['c', 0.8, 0.1, 0.5],
        ['d', 0, 0, 0],
      ],
    );
  });

  it('counts an id missing from the usage, or only inherited by the record, as unused', () => {
    const up = updateExposureFromUsage({ items: [{ id: 'toString', exposureK: 0.5 }], usage: {}, examinees: 500, rMax: 0.25 });
    assert.deepEqual(up, [{ id: 'toString', exposureK: 1, previousK: 0.5, exposureRate: 0, selectionRate: 0 }]);
  });

  it('with fewer tests than the minimum, or none, changes nothing and reports no rates from the selections', () => {
    const usage = { c: { administered: 100, selected: 90 } };
    const few = updateExposureFromUsage({ items, usage, examinees: 99, rMax: 0.25 });
    assert.deepEqual(
      few.map((u) => [u.exposureK, u.exposureRate, u.selectionRate]),
      [
        [0.5, 0, 0],
        [1, 0, 0],
        [0.8, 0, 0],
        [0, 0, 0],
      ],
    );
    const none = updateExposureFromUsage({ items, usage, examinees: 0, rMax: 0.25, minExaminees: 0 });
    assert.deepEqual(
      none.map((u) => u.exposureK),
      [0.5, 1, 0.8, 0],
    );
    // 100 tests are enough by default: c was selected in 90 of them.
    const enough = updateExposureFromUsage({ items, usage, examinees: 100, rMax: 0.25 });
    assert.ok(Math.abs((enough[2]?.exposureK as number) - 0.25 / 0.9) < 1e-12);
  });

  it('takes usage as a Map, and updates an item held at K = 0 once its selections are counted', () => {
    const up = updateExposureFromUsage({
      items,
      usage: new Map([
        ['a', { administered: 200 }],
        ['d', { administered: 0, selected: 400 }],
      ]),
      examinees: 1000,
      rMax: 0.25,
    });
    assert.deepEqual(
      up.map((u) => u.exposureK),
      [0.625, 1, 1, 0.625],
    );
  });

  it('leaves K unchanged with too few examinees and accepts a Map', () => {
    const up = updateExposureFromUsage({ items, usage: new Map([['a', { administered: 40 }]]), examinees: 50, rMax: 0.25 });
    assert.deepEqual(
      up.map((u) => u.exposureK),
      [0.5, 1, 0.8, 0],
    );
  });
});
