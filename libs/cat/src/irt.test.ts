import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  info3pl,
  information,
  logistic,
  paramsFromLabel,
  prob1pl,
  prob2pl,
  prob3pl,
  probability,
  softplus,
  testInformation,
} from './irt.ts';

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

  it('logistic and softplus are accurate on both sides of 0, where each takes its other form', () => {
    for (const x of [-30, -2, -0.5, 0, 0.5, 2, 30]) {
      const expected = 1 / (1 + Math.exp(-x));
      assert.ok(Math.abs(logistic(x) / expected - 1) < 1e-14, `logistic(${x})`);
      assert.ok(Math.abs(softplus(x) - Math.log(1 + Math.exp(x))) < 1e-14, `softplus(${x})`);
    }
    assert.equal(logistic(0), 0.5);
    assert.equal(softplus(0), Math.LN2);
    // Far below 0 the relative precision stays: e^−40 would be lost in 1 + e^−40.
    assert.ok(Math.abs(logistic(-40) / Math.exp(-40) - 1) < 1e-12);
    assert.ok(Math.abs(softplus(-40) / Math.exp(-40) - 1) < 1e-12);
    assert.ok(Math.abs(softplus(3) - (3 + Math.log1p(Math.exp(-3)))) < 1e-15);
  });

  it('the item forms take D (default 1) and agree with the parameter forms', () => {
    const item = { a: 1.3, b: -0.2, c: 0.15 };
    assert.equal(probability(item, 0.4), prob3pl(0.4, 1.3, -0.2, 0.15, 1));
    assert.equal(probability(item, 0.4, 1.702), prob3pl(0.4, 1.3, -0.2, 0.15, 1.702));
    assert.notEqual(probability(item, 0.4, 1.702), probability(item, 0.4));
    assert.equal(information(item, 0.4, 1.702), info3pl(0.4, 1.3, -0.2, 0.15, 1.702));
    assert.equal(information(item, 0.4), info3pl(0.4, 1.3, -0.2, 0.15));
    assert.equal(testInformation([item, item], 0.4, 1.702), 2 * info3pl(0.4, 1.3, -0.2, 0.15, 1.702));
    assert.ok(Math.abs(prob2pl(0.3, 1.1, 0.4, 1.702) - logistic(1.702 * 1.1 * -0.1)) < 1e-15);
    assert.ok(Math.abs(prob1pl(0.3, 0.4, 1.702) - logistic(1.702 * -0.1)) < 1e-15);
  });

  it('information is 0, not NaN, where a 2PL probability underflows', () => {
    assert.equal(info3pl(-100, 10, 10, 0), 0);
    assert.equal(info3pl(100, 10, -10, 0), 0);
  });

  it('c is 1 over the whole option count, 0 below two options', () => {
    assert.equal(paramsFromLabel('easy', 4.7).c, 0.25);
    assert.equal(paramsFromLabel('easy', 1).c, 0);
    assert.equal(paramsFromLabel('easy', 2).c, 0.5);
    assert.equal(paramsFromLabel('easy', Number.NaN).c, 0);
    assert.equal(paramsFromLabel('easy', Number.POSITIVE_INFINITY).c, 0);
  });
});
