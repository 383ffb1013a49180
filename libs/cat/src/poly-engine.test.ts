import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bankItemSchema } from './config.ts';
import type { BankItem } from './config.ts';
import { estimateTheta } from './methods.ts';
import { itemInformation } from './models.ts';
import type { AnyItemParams } from './models.ts';
import { scoreResult } from './score.ts';
import { generateBank, simulateCat } from './simulate.ts';
import { modelOf, nextStep } from './step.ts';
import type { HistoryEntry } from './step.ts';

function mixedBank(): BankItem[] {
  const bank: BankItem[] = generateBank({ size: 30, seed: 'mixed' });
  for (let i = 0; i < 15; i++) {
    const loc = -2 + (4 * i) / 14;
    bank.push({
      id: `p${i}`,
      skill: 'general',
      a: 1,
      b: loc,
      c: 0,
      poly:
        i % 2 === 0
          ? { model: 'GRM', a: 1.3, b: [loc - 1, loc, loc + 1] }
          : { model: 'GPCM', a: 0.9, b: [loc - 0.8, loc + 0.2, loc + 0.6] },
    });
  }
  return bank;
}

describe('polytomous items in the engine (nextStep, scoreResult, simulateCat)', () => {
  const bank = mixedBank();

  it('nextStep picks the most informative item of a mixed bank and estimates from categories', () => {
    const history: HistoryEntry[] = [
      { itemId: 'p4', correct: false, category: 3 },
      { itemId: 'g0', correct: true },
      { itemId: 'p7', correct: false, category: 1 },
    ];
    for (const method of ['EAP', 'MAP', 'ML', 'WLE'] as const) {
      const step = nextStep({ bank, history, config: { minItems: 1, maxItems: 10, method }, seed: 's' });
      if (step.done) assert.fail(`${method}: the test stopped`);
      const items = history.map((h) => modelOf(bank.find((b) => b.id === h.itemId) as BankItem));
      const e = estimateTheta(method, items, [3, 1, 1]);
      assert.ok(Math.abs(step.theta - e.theta) < 1e-9, method);
      const used = new Set(history.map((h) => h.itemId));
      let best = '';
      let bestInfo = -1;
      for (const it of bank) {
        const v = itemInformation(modelOf(it), step.theta);
        if (!used.has(it.id) && v > bestInfo) {
          bestInfo = v;
          best = it.id;
        }
      }
      assert.equal(step.itemId, best, method);
    }
  });

  it('a polytomous answer without a category is an error', () => {
    assert.throws(
      () => nextStep({ bank, history: [{ itemId: 'p1', correct: true }], config: { minItems: 1, maxItems: 5 }, seed: 's' }),
      /no category/,
    );
  });

  it('scoreResult traces the configured method (WLE) and counts only dichotomous answers as correct', () => {
    const history: HistoryEntry[] = [
      { itemId: 'p2', correct: false, category: 2 },
      { itemId: 'g3', correct: true },
    ];
    const r = scoreResult({ bank, history, config: { minItems: 1, maxItems: 5, method: 'WLE' } });
    const items: AnyItemParams[] = [modelOf(bank.find((b) => b.id === 'p2') as BankItem)];
    assert.ok(Math.abs((r.trace[0]?.theta ?? NaN) - estimateTheta('WLE', items, [2]).theta) < 1e-12);
    assert.equal(r.numberCorrect, 1);
  });

  it('simulateCat draws categories for polytomous items and recovers θ', () => {
    const r = simulateCat({ items: bank, simulees: 150, config: { minItems: 12, maxItems: 12 }, seed: 'poly' });
    const polyUsed = r.results.reduce((s, x) => s + x.items.filter((i) => bank[i]?.poly).length, 0);
    assert.ok(polyUsed > 150, `poly items administered ${polyUsed}`);
    assert.ok(r.rmse < 0.45, `RMSE ${r.rmse}`);
  });

  it('bankItemSchema accepts GRM/GPCM parameters and rejects decreasing GRM thresholds', () => {
    assert.equal(bankItemSchema.safeParse(bank[30]).success, true);
    assert.equal(bankItemSchema.safeParse({ ...bank[30], poly: { model: 'GRM', a: 1, b: [1, 0] } }).success, false);
  });
});
