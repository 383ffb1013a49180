import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BankItem } from './config.ts';
import { estimateEap } from './estimate.ts';
import { prob3pl } from './irt.ts';
import { createRng } from './rng.ts';
import { drawThetas, generateBank, simulateCat } from './simulate.ts';
import { nextStep } from './step.ts';
import type { HistoryEntry } from './step.ts';
import { renderSimulationSvg } from './svg.ts';

describe('simulateCat', () => {
  const items = generateBank({ size: 150, seed: 'sim-test' });

  it('generates a seeded bank with the requested parameter distributions', () => {
    const big = generateBank({ size: 2000, seed: 7 });
    const mean = (f: (x: BankItem) => number): number => big.reduce((s, x) => s + f(x), 0) / big.length;
    assert.ok(Math.abs(mean((x) => x.a) - 1.2) < 0.03);
    assert.ok(Math.abs(mean((x) => x.b)) < 0.08);
    assert.ok(Math.abs(mean((x) => x.c) - 0.25) < 0.005);
    assert.deepEqual(generateBank({ size: 5, seed: 7 }), big.slice(0, 5));
  });

  it('recovers θ reasonably with 200 simulees and reports consistent statistics', () => {
    const r = simulateCat({ items, simulees: 200, config: { minItems: 15, maxItems: 15 }, seed: 't' });
    assert.ok(r.rmse < 0.55, `rmse ${r.rmse}`);
    assert.ok(Math.abs(r.bias) < 0.12);
    assert.equal(r.meanLength, 15);
    assert.equal(r.byLength.length, 15);
    assert.ok((r.byLength[14]?.rmse as number) < (r.byLength[0]?.rmse as number));
    assert.ok(Math.abs((r.byLength[14]?.rmse as number) - r.rmse) < 1e-12);
    assert.ok(Math.abs(r.meanExposure - 15 / 150) < 1e-12);
    assert.ok(r.overlapRate > 0 && r.overlapRate <= 1);
    const svg = renderSimulationSvg(r, { rMax: 0.25 });
    assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(svg, /<\/svg>\n$/);
  });

  it('randomesque spreads exposure; variable length stops on SE', () => {
    const r = simulateCat({ items, simulees: 100, config: { minItems: 10, maxItems: 10, randomesque: 5 }, seed: 't' });
    assert.ok(r.maxExposure < 1);
    const v = simulateCat({ items, simulees: 100, config: { minItems: 5, maxItems: 30, seTarget: 0.45 }, seed: 't' });
    assert.ok(v.meanLength < 30 && (v.stopReasons.se_target ?? 0) > 0);
  });

  it('replays exactly like nextStep (same seeding scheme)', () => {
    const bank = items.map((it) => ({ ...it, exposureK: 0.6 }));
    const config = { minItems: 8, maxItems: 8, randomesque: 3, sympsonHetter: true };
    const sim = simulateCat({ items: bank, simulees: 3, config, seed: 'rp' });
    const thetas = drawThetas(3, 'rp');
    sim.results.forEach((res, s) => {
      const simSeed = `rp:sim:${s}`;
      const resp = createRng(`${simSeed}:resp`);
      const history: HistoryEntry[] = [];
      for (;;) {
        const step = nextStep({ bank, history, config, seed: simSeed });
        if (step.done) break;
        const it = bank.find((b) => b.id === step.itemId) as BankItem;
        history.push({ itemId: step.itemId, correct: resp.next() < prob3pl(thetas[s] as number, it.a, it.b, it.c) });
      }
      assert.deepEqual(
        history.map((h) => h.itemId),
        res.items.map((i) => bank[i]?.id),
      );
    });
  });
});

describe('simulateCat summaries', () => {
  const items = generateBank({ size: 40, seed: 'sums' });

  it('every summary is the one recomputed from the simulees’ results', () => {
    const config = { minItems: 4, maxItems: 12, seTarget: 0.55, sympsonHetter: true };
    const exposureK = items.map((_, i) => (i % 3 === 0 ? 0.5 : 1));
    const thetas = [-2, -1, -0.5, 0, 0.3, 1, 1.5, 2.5, 0.1];
    const progress: number[][] = [];
    const r = simulateCat({
      items,
      simulees: thetas.length,
      config,
      seed: 'sum',
      thetas,
      exposureK,
      thetaCuts: [0],
      onProgress: (d, n) => progress.push([d, n]),
    });
    const n = thetas.length;
    assert.equal(r.simulees, n);
    assert.equal(r.results.length, n);
    assert.throws(() => simulateCat({ items, simulees: n + 1, config, seed: 'sum', thetas }), {
      name: 'RangeError',
      message: `thetas holds ${n} abilities for ${n + 1} simulees`,
    });
    assert.deepEqual(
      r.results.map((x) => x.trueTheta),
      thetas,
    );
    assert.deepEqual(progress.at(-1), [n, n]);
    const sum = (f: (x: (typeof r.results)[number]) => number): number => r.results.reduce((s, x) => s + f(x), 0);
    const close = (a: number, b: number): void => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);
    close(r.rmse, Math.sqrt(sum((x) => (x.theta - x.trueTheta) ** 2) / n));
    close(r.bias, sum((x) => x.theta - x.trueTheta) / n);
    close(r.meanSe, sum((x) => x.se) / n);
    close(r.meanLength, sum((x) => x.length) / n);
    const seen = items.map((_, i) => r.results.filter((x) => x.items.includes(i)).length);
    assert.deepEqual(
      r.exposureRates,
      seen.map((c) => c / n),
    );
    assert.equal(r.maxExposure, Math.max(...seen) / n);
    close(r.meanExposure, seen.reduce((s, c) => s + c, 0) / n / items.length);
    assert.equal(r.unusedShare, seen.filter((c) => c === 0).length / items.length);
    let shared = 0;
    for (const x of r.results) for (const y of r.results) if (x !== y) shared += x.items.filter((i) => y.items.includes(i)).length;
    close(r.overlapRate, shared / (n * (n - 1) * r.meanLength));
    const reasons: Record<string, number> = {};
    for (const x of r.results) reasons[x.reason] = (reasons[x.reason] ?? 0) + 1;
    assert.deepEqual(r.stopReasons, reasons);
    assert.ok((r.stopReasons.se_target ?? 0) > 0);
    // Every administered item went through the lottery; items with K = 0.5 sometimes failed it.
    r.selectionRates.forEach((p, i) => assert.ok(p >= (r.exposureRates[i] as number)));
    assert.ok(r.selectionRates.some((p, i) => p > (r.exposureRates[i] as number)));
    // Per true-θ stratum: the simulees below and at or above 0, and what each group saw.
    const st = r.byThetaStratum;
    assert.ok(st);
    assert.deepEqual(st.cuts, [0]);
    assert.deepEqual(st.simulees, [3, 6]);
    const low = r.results.filter((x) => x.trueTheta < 0);
    assert.deepEqual(
      st.exposureRates[0],
      items.map((_, i) => low.filter((x) => x.items.includes(i)).length / 3),
    );
    // Test lengths: the simulees still in the test at each length.
    for (const b of r.byLength) assert.equal(b.n, r.results.filter((x) => x.length >= b.length).length);
  });

  it('an empty run reports no statistics rather than dividing by zero', () => {
    const r = simulateCat({ items, simulees: 0, config: { minItems: 2, maxItems: 2 }, seed: 'none' });
    assert.ok(Number.isNaN(r.rmse) && Number.isNaN(r.bias) && Number.isNaN(r.meanSe));
    assert.equal(r.meanLength, 0);
    assert.equal(r.overlapRate, 0);
    assert.equal(r.maxExposure, 0);
    assert.equal(r.unusedShare, 1);
    assert.deepEqual(r.byLength, []);
    assert.equal(r.byThetaStratum, undefined);
    const empty = simulateCat({ items: [], simulees: 2, config: { minItems: 0, maxItems: 2 }, seed: 'none' });
    assert.equal(empty.overlapRate, 0);
    assert.equal(simulateCat({ items, simulees: 1, config: { minItems: 2, maxItems: 2 }, seed: 'one' }).overlapRate, 0);
    assert.equal(empty.meanExposure, 0);
    assert.equal(empty.unusedShare, 0);
    assert.deepEqual(empty.stopReasons, { pool_exhausted: 2 });
  });

  it('replays nextStep with MAP, D, a prior and a start θ, and with conditional Sympson–Hetter', () => {
    const bank = items.map((it, i) => ({ ...it, exposureKByStratum: [1, i % 2 === 0 ? 0.2 : 1] }));
    for (const config of [
      { minItems: 6, maxItems: 6, method: 'MAP' as const, D: 1.702, prior: { mean: 0.5, sd: 0.8 }, startTheta: -1 },
      { minItems: 6, maxItems: 6, conditionalSympsonHetter: { cuts: [0] } },
    ]) {
      const sim = simulateCat({ items: bank, simulees: 3, config, seed: 'rp2' });
      const thetas = drawThetas(3, 'rp2');
      const D = config.D ?? 1;
      sim.results.forEach((res, s) => {
        const simSeed = `rp2:sim:${s}`;
        const resp = createRng(`${simSeed}:resp`);
        const history: HistoryEntry[] = [];
        let step = nextStep({ bank, history, config, seed: simSeed });
        while (!step.done) {
          const id = step.itemId;
          const it = bank.find((b) => b.id === id) as BankItem;
          history.push({ itemId: id, correct: resp.next() < prob3pl(thetas[s] as number, it.a, it.b, it.c, D) });
          step = nextStep({ bank, history, config, seed: simSeed });
        }
        assert.deepEqual(
          history.map((h) => h.itemId),
          res.items.map((i) => bank[i]?.id),
        );
        assert.equal(res.theta, step.theta);
        assert.equal(res.se, step.se);
      });
    }
  });

  it('a fixed-length run: the last length’s figures are the run’s; a stratum nobody fell in has rates 0', () => {
    const config = { minItems: 5, maxItems: 5, D: 1.702, prior: { mean: 0.4, sd: 0.7 } };
    const r = simulateCat({ items, simulees: 12, config, seed: 'fixed', thetaCuts: [3] });
    const last = r.byLength.at(-1);
    assert.ok(last);
    assert.deepEqual([last.length, last.n], [5, 12]);
    assert.ok(Math.abs(last.bias - r.bias) < 1e-12 && Math.abs(last.meanSe - r.meanSe) < 1e-12 && Math.abs(last.rmse - r.rmse) < 1e-12);
    // EAP with the configured D and prior, answer by answer.
    for (const x of r.results) {
      const given = x.items.map((i) => items[i] as BankItem);
      const resp = createRng(`fixed:sim:${r.results.indexOf(x)}:resp`);
      const answers = given.map((it) => (resp.next() < prob3pl(x.trueTheta, it.a, it.b, it.c, 1.702) ? 1 : 0));
      assert.equal(x.theta, estimateEap(given, answers, { D: 1.702, prior: config.prior }).theta);
    }
    const st = r.byThetaStratum;
    assert.ok(st);
    assert.deepEqual(st.simulees, [12, 0]);
    assert.deepEqual(
      st.selectionRates[1],
      items.map(() => 0),
    );
    assert.deepEqual(
      st.exposureRates[1],
      items.map(() => 0),
    );
  });

  it('banks and abilities are the same for the same seed in every version (documented simulations replay from them)', () => {
    assert.deepEqual(generateBank({ size: 2, seed: 'pin' }), [
      { id: 'g0', skill: 'general', a: 1.3649154645290797, b: 1.9924876859448175, c: 0.24163624322655866 },
      { id: 'g1', skill: 'general', a: 1.3499154989668944, b: 0.5709457027236385, c: 0.24002919553743207 },
    ]);
    assert.deepEqual(drawThetas(3, 'pin'), [-0.564827648254071, 0.6819892718637618, 0.0048499097170022565]);
  });

  it('generates banks with the given parameter distributions, bounds and skills; draws θ with a mean and SD', () => {
    const big = generateBank({ size: 3000, seed: 'opts', a: [0.3, 0.5], b: [1, 0.5], c: [0.45, 0.2], skills: ['p', 'q', 'r'] });
    const mean = (f: (x: BankItem) => number): number => big.reduce((s, x) => s + f(x), 0) / big.length;
    assert.ok(Math.abs(mean((x) => x.b) - 1) < 0.03);
    assert.ok(big.every((x) => x.a >= 0.1 && x.c >= 0 && x.c <= 0.5));
    assert.ok(big.some((x) => x.a === 0.1) && big.some((x) => x.c === 0.5) && big.some((x) => x.c === 0));
    assert.deepEqual(
      big.slice(0, 4).map((x) => [x.id, x.skill]),
      [
        ['g0', 'p'],
        ['g1', 'q'],
        ['g2', 'r'],
        ['g3', 'p'],
      ],
    );
    assert.ok(generateBank({ size: 3, seed: 'x', skills: [] }).every((x) => x.skill === 'general'));
    assert.deepEqual(generateBank({ size: 3 }), generateBank({ size: 3, seed: 1 }));
    const t = drawThetas(4000, 'd', 2, 0.5);
    const m = t.reduce((s, x) => s + x, 0) / t.length;
    const sd = Math.sqrt(t.reduce((s, x) => s + (x - m) ** 2, 0) / t.length);
    assert.ok(Math.abs(m - 2) < 0.03 && Math.abs(sd - 0.5) < 0.02, `${m} ${sd}`);
    assert.deepEqual(drawThetas(3, 'd'), drawThetas(3, 'd', 0, 1));
  });
});
