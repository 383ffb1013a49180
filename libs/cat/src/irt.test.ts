import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { info3pl, logistic, paramsFromLabel, prob1pl, prob2pl, prob3pl, softplus, testInformation } from './irt.ts';

describe('irt models', () => {
  it('3PL probability matches the formula and reduces to 2PL/1PL', () => {
    const p = prob3pl(0.5, 1.3, -0.2, 0.2, 1.7);
    assert.ok(Math.abs(p - (0.2 + 0.8 / (1 + Math.exp(-1.7 * 1.3 * 0.7)))) < 1e-15);
    assert.equal(prob3pl(0.3, 1.1, 0.4, 0), prob2pl(0.3, 1.1, 0.4));
    assert.equal(prob2pl(0.3, 1, 0.4), prob1pl(0.3, 0.4));
    assert.equal(prob3pl(1, 1, 1, 0.25), 0.25 + 0.75 * 0.5);
  });

  it('information equals P′²/(P·Q) (numerical derivative)', () => {
    for (const [a, b, c, D, t] of [
      [1.2, 0.3, 0.25, 1, -0.5],
      [0.7, -1, 0, 1.702, 0.8],
      [2.1, 1.5, 0.1, 1, 2],
    ] as const) {
      const h = 1e-5;
      const d = (prob3pl(t + h, a, b, c, D) - prob3pl(t - h, a, b, c, D)) / (2 * h);
      const p = prob3pl(t, a, b, c, D);
      assert.ok(Math.abs(info3pl(t, a, b, c, D) - (d * d) / (p * (1 - p))) < 1e-7);
    }
    assert.ok(
      Math.abs(
        testInformation(
          [
            { a: 1, b: 0, c: 0 },
            { a: 1, b: 0, c: 0 },
          ],
          0,
        ) - 0.5,
      ) < 1e-15,
    );
  });

  it('logistic and softplus are overflow-safe', () => {
    assert.equal(logistic(1000), 1);
    assert.equal(logistic(-1000), 0);
    assert.equal(softplus(1000), 1000);
    assert.equal(softplus(-1000), 0);
  });

  it('paramsFromLabel maps labels and option counts', () => {
    assert.deepEqual(paramsFromLabel('easy', 4), { a: 1, b: -1, c: 0.25 });
    assert.deepEqual(paramsFromLabel('medium', 5), { a: 1, b: 0, c: 0.2 });
    assert.deepEqual(paramsFromLabel('hard', 2), { a: 1, b: 1, c: 0.5 });
    assert.deepEqual(paramsFromLabel('whatever', 4), { a: 1, b: 0, c: 0.25 });
    assert.deepEqual(paramsFromLabel('toString', 0), { a: 1, b: 0, c: 0 });
  });
});
