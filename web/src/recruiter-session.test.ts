import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { categoryCurves, categoryProbabilitiesAt, polyCurveSchema } from './recruiter-session.ts';

const logistic = (z: number) => 1 / (1 + Math.exp(-z));

describe('category response curves of the item view', () => {
  it('GRM: P(X = k) is the difference of neighbouring cumulative logistics', () => {
    const item = { model: 'GRM' as const, a: 1.2, thresholds: [-1, 0, 1.5] };
    const p = categoryProbabilitiesAt(item, 0.5);
    const star = [1, logistic(1.2 * 1.5), logistic(1.2 * 0.5), logistic(1.2 * -1), 0];
    p.forEach((v, k) => assert.ok(Math.abs(v - ((star[k] as number) - (star[k + 1] as number))) < 1e-12, `P${k}`));
    // Hand-computed (D = 1): 0.14185, 0.21249, 0.41418, 0.23148.
    assert.deepEqual(
      p.map((v) => Math.round(v * 1e5) / 1e5),
      [0.14185, 0.21249, 0.41418, 0.23148],
    );
  });

  it('GPCM: adjacent categories cross at their step difficulty, and each curve sums to 1 over categories', () => {
    const item = { model: 'GPCM' as const, a: 0.9, thresholds: [0.8, -0.5, 1.1] };
    item.thresholds.forEach((b, t) => {
      const p = categoryProbabilitiesAt(item, b);
      assert.ok(Math.abs((p[t] as number) - (p[t + 1] as number)) < 1e-12, `P${t} = P${t + 1} at b${t + 1}`);
    });
    for (const curve of [categoryCurves(item), categoryCurves({ model: 'GRM', a: 2, thresholds: [-2, 2.5] }, 12)]) {
      const steps = (curve[0] ?? []).length;
      for (let i = 0; i < steps; i++) {
        const total = curve.reduce((s, c) => s + (c[i]?.p ?? 0), 0);
        assert.ok(Math.abs(total - 1) < 1e-12);
      }
    }
    const [lowest, , , highest] = categoryCurves(item);
    assert.ok(lowest !== undefined && highest !== undefined);
    const ends = (c: { theta: number; p: number }[]) => [c[0], c[c.length - 1]] as const;
    const [lowStart, lowEnd] = ends(lowest);
    const [highStart, highEnd] = ends(highest);
    assert.equal(lowest.length, 61);
    assert.deepEqual([lowStart?.theta, lowEnd?.theta], [-3, 3]);
    // The lowest category falls and the highest rises with θ.
    assert.ok((lowStart?.p ?? 0) > (lowEnd?.p ?? 1));
    assert.ok((highStart?.p ?? 1) < (highEnd?.p ?? 0));
  });

  it('the parameters from the server are parsed: no thresholds, a ≤ 0 or an unknown model are refused', () => {
    assert.ok(polyCurveSchema.safeParse({ model: 'GRM', a: 1, thresholds: [0] }).success);
    assert.ok(!polyCurveSchema.safeParse({ model: 'GRM', a: 1, thresholds: [] }).success);
    assert.ok(!polyCurveSchema.safeParse({ model: 'GRM', a: 0, thresholds: [0] }).success);
    assert.ok(!polyCurveSchema.safeParse({ model: 'NRM', a: 1, thresholds: [0] }).success);
  });
});
