/**
 * The 3PL log-likelihood of a response pattern, written from the definition for tests that check
 * the estimators' maxima (D = 1), and its slope by central differences.
 */
import type { ItemParams } from './irt.ts';

export function logLik3pl(items: readonly ItemParams[], responses: readonly number[]): (theta: number) => number {
  return (t) =>
    items.reduce((s, it, j) => {
      const p = it.c + (1 - it.c) / (1 + Math.exp(-it.a * (t - it.b)));
      return s + (responses[j] === 1 ? Math.log(p) : Math.log(1 - p));
    }, 0);
}

export function slopeOf(f: (theta: number) => number, h = 1e-6): (theta: number) => number {
  return (t) => (f(t + h) - f(t - h)) / (2 * h);
}
