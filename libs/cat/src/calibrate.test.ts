import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calibrate, chiSquareP } from './calibrate.ts';

describe('item calibration (Bock–Aitkin EM)', () => {
  it('refuses bad input with RangeError', () => {
    assert.throws(() => calibrate([new Map([[3, 1]])], 2), RangeError);
    assert.throws(() => calibrate([new Map([[0, 2 as 1]])], 2), RangeError);
    assert.throws(() => calibrate([], 0), RangeError);
    assert.throws(() => calibrate([], 2, { nodes: 3 }), RangeError);
  });

  it('chi-square tail probabilities match known values', () => {
    assert.ok(Math.abs(chiSquareP(3.841, 1) - 0.05) < 1e-3);
    assert.ok(Math.abs(chiSquareP(18.307, 10) - 0.05) < 1e-3);
    assert.ok(Math.abs(chiSquareP(2.0, 2) - Math.exp(-1)) < 1e-9);
  });
});
