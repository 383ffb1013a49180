/**
 * The polytomous half of the item calibration (see calibrate.ts): GRM and GPCM items, whose
 * responses are categories 0..K, fitted in the same Bock–Aitkin EM. The parameters are
 * φ = (a, b_1..b_K); each M-step is Fisher scoring on the expected category counts at the
 * quadrature nodes, with the log-normal prior on a and the normal prior on each threshold that the
 * dichotomous fit uses, and step halving that keeps a and the thresholds in range (and GRM
 * thresholds increasing). Standard errors come from the cross-products of each person's scores
 * (XPD); the fit statistic is Yen's Q1 generalised to categories (Σ over ten EAP groups and the
 * K + 1 categories of N_g(O − E)²/E, with 10·K − (K + 1) degrees of freedom).
 */

/** A polytomous item to calibrate: its model and its number of categories K + 1 (2 to 11). */
export interface PolySpec {
  model: 'GRM' | 'GPCM';
  categories: number;
}

/** The parameters of a polytomous item: discrimination and K thresholds (GRM) or step difficulties (GPCM). */
export interface PolyParams {
  a: number;
  b: number[];
}

/** The priors the M-step uses (the same as the dichotomous fit's). */
export interface PolyPriors {
  logA: { mean: number; sd: number };
  b: { mean: number; sd: number };
}

const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const FLOOR = 1e-12;

/** Category probabilities P_k(θ) and their derivatives dP[k][i] with respect to φ = (a, b_1..b_K). */
export function polyDerivatives(
  model: PolySpec['model'],
  p: PolyParams,
  theta: number,
  D: number,
): { P: Float64Array; dP: Float64Array[] } {
  const K = p.b.length;
  const P = new Float64Array(K + 1);
  const dP = Array.from({ length: K + 1 }, () => new Float64Array(K + 1));
  if (model === 'GRM') {
    // Cumulative P*_k = P(X ≥ k), with P*_0 = 1 and P*_{K+1} = 0; w_k = P*_k(1 − P*_k).
    const star = new Float64Array(K + 2);
    const w = new Float64Array(K + 2);
    star[0] = 1;
    for (let k = 1; k <= K; k++) {
      const s = sigmoid(D * p.a * (theta - (p.b[k - 1] as number)));
      star[k] = s;
      w[k] = s * (1 - s);
    }
    for (let k = 0; k <= K; k++) {
      P[k] = Math.max(FLOOR, (star[k] as number) - (star[k + 1] as number));
      const row = dP[k] as Float64Array;
      const lo = k >= 1 ? D * (theta - (p.b[k - 1] as number)) * (w[k] as number) : 0;
      const hi = k + 1 <= K ? D * (theta - (p.b[k] as number)) * (w[k + 1] as number) : 0;
      row[0] = lo - hi;
      if (k >= 1) row[k] = -D * p.a * (w[k] as number);
      if (k + 1 <= K) row[k + 1] = D * p.a * (w[k + 1] as number);
    }
    return { P, dP };
  }
  // GPCM: z_k = Σ_{t≤k} D·a(θ − b_t); ∂z_k/∂a = D Σ_{t≤k}(θ − b_t), ∂z_k/∂b_t = −D·a for t ≤ k.
  const z = new Float64Array(K + 1);
  const s = new Float64Array(K + 1);
  let mx = 0;
  for (let k = 1; k <= K; k++) {
    s[k] = (s[k - 1] as number) + D * (theta - (p.b[k - 1] as number));
    z[k] = p.a * (s[k] as number);
    mx = Math.max(mx, z[k] as number);
  }
  let total = 0;
  for (let k = 0; k <= K; k++) total += Math.exp((z[k] as number) - mx);
  let meanS = 0;
  for (let k = 0; k <= K; k++) {
    P[k] = Math.exp((z[k] as number) - mx) / total;
    meanS += (P[k] as number) * (s[k] as number);
  }
  // tail[t] = Σ_{h ≥ t} P_h, so E[∂z/∂b_t] = −D·a·tail[t].
  const tail = new Float64Array(K + 2);
  for (let t = K; t >= 0; t--) tail[t] = (tail[t + 1] as number) + (P[t] as number);
  for (let k = 0; k <= K; k++) {
    const pk = P[k] as number;
    const row = dP[k] as Float64Array;
    row[0] = pk * ((s[k] as number) - meanS);
    for (let t = 1; t <= K; t++) row[t] = pk * D * p.a * ((tail[t] as number) - (t <= k ? 1 : 0));
    P[k] = Math.max(FLOOR, pk);
  }
  return { P, dP };
}

/** Solves a small symmetric positive-definite system by Gaussian elimination. */
export function solve(A: number[][], g: number[]): number[] {
  const n = g.length;
  const M = A.map((row, i) => [...row, g[i] as number]);
  for (let i = 0; i < n; i++) {
    const pivot = (M[i] as number[])[i] as number;
    for (let k = i + 1; k < n; k++) {
      const f = ((M[k] as number[])[i] as number) / pivot;
      for (let m = i; m <= n; m++) (M[k] as number[])[m] = ((M[k] as number[])[m] as number) - f * ((M[i] as number[])[m] as number);
    }
  }
  const out = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = (M[i] as number[])[n] as number;
    for (let m = i + 1; m < n; m++) s -= ((M[i] as number[])[m] as number) * (out[m] as number);
    out[i] = s / ((M[i] as number[])[i] as number);
  }
  return out;
}

/** The inverse of a small symmetric positive-definite matrix. */
export function invert(A: number[][]): number[][] {
  const n = A.length;
  const columns = Array.from({ length: n }, (_, k) =>
    solve(
      A,
      Array.from({ length: n }, (_, i) => (i === k ? 1 : 0)),
    ),
  );
  return Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, k) => (columns[k] as number[])[i] as number));
}

/** The log prior of φ, its gradient and its (diagonal) curvature. */
function priorTerms(p: PolyParams, priors: PolyPriors): { value: number; grad: number[]; curv: number[] } {
  const la = Math.log(p.a);
  const sa2 = priors.logA.sd * priors.logA.sd;
  const sb2 = priors.b.sd * priors.b.sd;
  let value = -((la - priors.logA.mean) ** 2) / (2 * sa2);
  const grad = [-(la - priors.logA.mean) / (sa2 * p.a)];
  const curv = [1 / (sa2 * p.a * p.a)];
  for (const b of p.b) {
    value -= (b - priors.b.mean) ** 2 / (2 * sb2);
    grad.push(-(b - priors.b.mean) / sb2);
    curv.push(1 / sb2);
  }
  return { value, grad, curv };
}

/** Whether φ is in range: a in [0.02, 8], |b| ≤ 8, GRM thresholds increasing by at least 0.01. */
function inRange(model: PolySpec['model'], p: PolyParams): boolean {
  if (!(p.a >= 0.02 && p.a <= 8)) return false;
  for (let k = 0; k < p.b.length; k++) {
    const b = p.b[k] as number;
    if (!(Math.abs(b) <= 8)) return false;
    if (model === 'GRM' && k > 0 && !(b >= (p.b[k - 1] as number) + 0.01)) return false;
  }
  return true;
}

/** The expected complete-data log posterior of one item: counts[q·(K+1) + k] are the expected people at node q in category k. */
function objective(spec: PolySpec, p: PolyParams, counts: Float64Array, x: readonly number[], D: number, priors: PolyPriors): number {
  const C = spec.categories;
  let v = priorTerms(p, priors).value;
  for (let q = 0; q < x.length; q++) {
    const { P } = polyDerivatives(spec.model, p, x[q] as number, D);
    for (let k = 0; k < C; k++) {
      const r = counts[q * C + k] as number;
      if (r > 0) v += r * Math.log(P[k] as number);
    }
  }
  return v;
}

/** A few Fisher-scoring steps for one polytomous item on its expected counts, with step halving. */
export function polyMStep(
  spec: PolySpec,
  start: PolyParams,
  counts: Float64Array,
  x: readonly number[],
  D: number,
  priors: PolyPriors,
): PolyParams {
  const C = spec.categories;
  const free = C;
  let p = start;
  for (let it = 0; it < 10; it++) {
    const grad = new Array<number>(free).fill(0);
    const info = Array.from({ length: free }, () => new Array<number>(free).fill(0));
    for (let q = 0; q < x.length; q++) {
      const { P, dP } = polyDerivatives(spec.model, p, x[q] as number, D);
      let n = 0;
      for (let k = 0; k < C; k++) n += counts[q * C + k] as number;
      if (n <= 0) continue;
      for (let k = 0; k < C; k++) {
        const pk = P[k] as number;
        const row = dP[k] as Float64Array;
        const r = counts[q * C + k] as number;
        for (let i = 0; i < free; i++) {
          grad[i] = (grad[i] as number) + (r * (row[i] as number)) / pk;
          const infoRow = info[i] as number[];
          for (let l = 0; l < free; l++) infoRow[l] = (infoRow[l] as number) + (n * (row[i] as number) * (row[l] as number)) / pk;
        }
      }
    }
    const prior = priorTerms(p, priors);
    for (let i = 0; i < free; i++) {
      grad[i] = (grad[i] as number) + (prior.grad[i] as number);
      (info[i] as number[])[i] = ((info[i] as number[])[i] as number) + (prior.curv[i] as number) + 1e-9;
    }
    const step = solve(info, grad);
    const before = objective(spec, p, counts, x, D, priors);
    let next = p;
    for (let h = 0, scale = 1; h < 20; h++, scale /= 2) {
      const cand = { a: p.a + scale * (step[0] as number), b: p.b.map((b, k) => b + scale * (step[k + 1] as number)) };
      if (inRange(spec.model, cand) && objective(spec, cand, counts, x, D, priors) >= before - 1e-12) {
        next = cand;
        break;
      }
    }
    const moved = Math.max(Math.abs(next.a - p.a), ...next.b.map((b, k) => Math.abs(b - (p.b[k] as number))));
    p = next;
    if (moved < 1e-7) break;
  }
  return p;
}

/**
 * Start values from the observed category counts (`freq[k]` people in category k): a = 1; GRM
 * thresholds from the cumulative proportions, GPCM steps from adjacent-category log odds, in ±4
 * (GRM ones at least 0.1 apart).
 */
export function polyStart(spec: PolySpec, freq: readonly number[], D: number): PolyParams {
  const K = spec.categories - 1;
  const total = freq.reduce((s, v) => s + v, 0);
  const clamp = (v: number): number => Math.max(-4, Math.min(4, v));
  const b: number[] = [];
  if (spec.model === 'GRM') {
    let atLeast = total;
    for (let k = 1; k <= K; k++) {
      atLeast -= freq[k - 1] ?? 0;
      const share = Math.min(0.98, Math.max(0.02, total === 0 ? (K + 1 - k) / (K + 1) : atLeast / total));
      const v = clamp(-Math.log(share / (1 - share)) / D);
      b.push(k === 1 ? v : Math.max(v, (b[k - 2] as number) + 0.1));
    }
    return { a: 1, b: b.map((v, k) => Math.min(v, 4 - 0.1 * (K - 1 - k))) };
  }
  for (let k = 1; k <= K; k++) b.push(clamp(Math.log(((freq[k - 1] ?? 0) + 0.5) / ((freq[k] ?? 0) + 0.5)) / D));
  return { a: 1, b };
}

/** One polytomous item's standard errors (XPD plus the prior's curvature), for φ and for the mean threshold. */
export function polyStandardErrors(
  spec: PolySpec,
  p: PolyParams,
  answers: readonly { category: number; post: Float64Array }[],
  x: readonly number[],
  D: number,
  priors: PolyPriors,
): { a: number; b: number[]; location: number } {
  const C = spec.categories;
  const nodes = x.map((t) => polyDerivatives(spec.model, p, t, D));
  const info = Array.from({ length: C }, () => new Array<number>(C).fill(0));
  for (const { category, post } of answers) {
    const s = new Array<number>(C).fill(0);
    for (let q = 0; q < x.length; q++) {
      const node = nodes[q] as { P: Float64Array; dP: Float64Array[] };
      const f = (post[q] as number) / (node.P[category] as number);
      const row = node.dP[category] as Float64Array;
      for (let i = 0; i < C; i++) s[i] = (s[i] as number) + f * (row[i] as number);
    }
    for (let i = 0; i < C; i++)
      for (let l = 0; l < C; l++) (info[i] as number[])[l] = ((info[i] as number[])[l] as number) + (s[i] as number) * (s[l] as number);
  }
  const prior = priorTerms(p, priors);
  for (let i = 0; i < C; i++) (info[i] as number[])[i] = ((info[i] as number[])[i] as number) + (prior.curv[i] as number);
  const cov = invert(info);
  const K = C - 1;
  let location = 0;
  for (let i = 1; i <= K; i++) for (let l = 1; l <= K; l++) location += (cov[i] as number[])[l] as number;
  return {
    a: Math.sqrt((cov[0] as number[])[0] as number),
    b: Array.from({ length: K }, (_, k) => Math.sqrt((cov[k + 1] as number[])[k + 1] as number)),
    location: Math.sqrt(Math.max(0, location)) / K,
  };
}

/**
 * Yen's Q1 for a polytomous item: the people who answered it in ten groups by EAP θ, observed
 * against expected category proportions; null with fewer than 100 people.
 */
export function polyQ1(
  spec: PolySpec,
  p: PolyParams,
  people: { theta: number; category: number }[],
  D: number,
  chiSquareP: (x: number, df: number) => number,
): { q1: number; df: number; p: number } | null {
  const groups = 10;
  if (people.length < groups * 10) return null;
  const C = spec.categories;
  const sorted = [...people].sort((u, v) => u.theta - v.theta);
  let q1 = 0;
  for (let g = 0; g < groups; g++) {
    const part = sorted.slice(Math.floor((g * sorted.length) / groups), Math.floor(((g + 1) * sorted.length) / groups));
    const observed = new Array<number>(C).fill(0);
    const expected = new Array<number>(C).fill(0);
    for (const person of part) {
      observed[person.category] = (observed[person.category] as number) + 1 / part.length;
      const { P } = polyDerivatives(spec.model, p, person.theta, D);
      for (let k = 0; k < C; k++) expected[k] = (expected[k] as number) + (P[k] as number) / part.length;
    }
    for (let k = 0; k < C; k++) q1 += (part.length * ((observed[k] as number) - (expected[k] as number)) ** 2) / (expected[k] as number);
  }
  const df = groups * (C - 1) - C;
  return { q1, df, p: chiSquareP(q1, df) };
}
