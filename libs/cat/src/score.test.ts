import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BankItem } from './config.ts';
import { estimateEap, estimateMle } from './estimate.ts';
import { percentileRank, scaleFromRange, scoreResult, toScaledScore } from './score.ts';

const bank: BankItem[] = [
  { id: 'q1', skill: 'alg', a: 1.2, b: -0.5, c: 0.2 },
  { id: 'q2', skill: 'geo', a: 0.9, b: 0.3, c: 0.25 },
  { id: 'q3', skill: 'alg', a: 1.5, b: 0.8, c: 0.2 },
  { id: 'q4', skill: 'geo', a: 1.1, b: -1.2, c: 0.2 },
  { id: 'q5', skill: 'alg', a: 1.0, b: 1.5, c: 0.2 },
];

describe('scoreResult', () => {
  const history = [
    { itemId: 'q1', correct: true },
    { itemId: 'q2', correct: false },
    { itemId: 'q3', correct: true },
    { itemId: 'q4', correct: true },
    { itemId: 'q5', correct: false },
  ];

  it('gives θ/SE, scaled score, per-skill estimates, number correct and trace', () => {
    const scale = scaleFromRange({ thetaMin: -3, thetaMax: 3, scoreMin: 200, scoreMax: 800 });
    const r = scoreResult({ bank, history, scale });
    const byId = new Map(bank.map((b) => [b.id, b]));
    const items = history.map((h) => byId.get(h.itemId) as BankItem);
    const resp = history.map((h) => (h.correct ? 1 : 0));
    const e = estimateEap(items, resp);
    assert.ok(Math.abs(r.theta - e.theta) < 1e-12 && Math.abs(r.se - e.se) < 1e-12);
    assert.equal(r.numberCorrect, 3);
    assert.equal(r.numberAdministered, 5);
    assert.ok(Math.abs((r.scaled as number) - (500 + 100 * r.theta)) < 1e-9);
    assert.ok(Math.abs((r.scaledSe as number) - 100 * r.se) < 1e-9);
    const alg = estimateEap([items[0], items[2], items[4]] as BankItem[], [1, 1, 0]);
    assert.ok(Math.abs((r.skills.alg?.theta as number) - alg.theta) < 1e-12);
    assert.equal(r.skills.alg?.administered, 3);
    assert.equal(r.skills.geo?.correct, 1);
    assert.equal(r.trace.length, 5);
    const t2 = estimateEap(items.slice(0, 2), resp.slice(0, 2));
    assert.ok(Math.abs((r.trace[1]?.theta as number) - t2.theta) < 1e-12);
    assert.deepEqual(
      r.trace.map((t) => t.itemId),
      ['q1', 'q2', 'q3', 'q4', 'q5'],
    );
  });

  it('supports the MLE estimator and an empty history', () => {
    const r = scoreResult({ bank, history, config: { estimator: 'mle' } });
    const byId = new Map(bank.map((b) => [b.id, b]));
    const m = estimateMle(
      history.map((h) => byId.get(h.itemId) as BankItem),
      history.map((h) => (h.correct ? 1 : 0)),
    );
    assert.ok(Math.abs(r.theta - m.theta) < 1e-12);
    const empty = scoreResult({ bank, history: [] });
    assert.equal(empty.theta, 0);
    assert.equal(empty.se, 1);
    assert.deepEqual(empty.trace, []);
  });

  it('throws for unknown items', () => {
    assert.throws(() => scoreResult({ bank, history: [{ itemId: 'zz', correct: true }] }));
  });
});

describe('scales and percentile ranks', () => {
  it('maps a θ range onto a score range with clamping and rounding', () => {
    const s = scaleFromRange({ thetaMin: -4, thetaMax: 4, scoreMin: 0, scoreMax: 100, decimals: 1 });
    assert.equal(toScaledScore(0, s), 50);
    assert.equal(toScaledScore(4, s), 100);
    assert.equal(toScaledScore(9, s), 100);
    assert.equal(toScaledScore(-9, s), 0);
    assert.equal(toScaledScore(0.1234, s), 51.5);
    assert.equal(toScaledScore(1, { slope: 10, intercept: 5 }), 15);
  });

  it('percentileRank counts below plus half the ties', () => {
    assert.equal(percentileRank(5, [1, 2, 3, 4]), 100);
    assert.equal(percentileRank(0, [1, 2, 3, 4]), 0);
    assert.equal(percentileRank(2, [1, 2, 3, 4]), 37.5);
    assert.equal(percentileRank(2, []), null);
  });
});
