import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BankItem } from './config.ts';
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
