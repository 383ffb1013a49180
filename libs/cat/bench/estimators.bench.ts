/**
 * Estimator benchmark: reproduces the README figures for EAP, MAP, ML and WLE.
 *
 * 1. Fixed short test: 10 2PL items (a = 1.2, b evenly spaced on [−1.8, 1.8]); at each true
 *    θ in {−2, −1, 0, 1, 2}, `--reps` response patterns; bias and RMSE of each estimator.
 * 2. Mixed bank: the same at θ in {−1, 0, 1} on 4 GRM + 4 GPCM + 4 3PL items.
 * 3. Classification: SPRT and CI rules around θ = 0.5 on the 300-item bank of
 *    `simulate --seed cat`, 1,000 simulees, 5..30 items, selection at θ̂ and at the cut.
 *
 *   npm exec -- node libs/cat/bench/estimators.bench.ts [--reps 2000]
 */
import { parseArgs } from 'node:util';
import {
  ESTIMATION_METHODS,
  categoryProbabilities,
  classificationRuleSchema,
  createRng,
  estimateTheta,
  generateBank,
  simulateClassification,
} from '../src/index.ts';
import type { AnyItemParams, EstimationMethod } from '../src/index.ts';

const { values } = parseArgs({ options: { reps: { type: 'string', default: '2000' } } });
const reps = Number(values.reps);

function draw(item: AnyItemParams, theta: number, u: number): number {
  const p = categoryProbabilities(item, theta);
  let s = 0;
  for (let k = 0; k < p.length; k++) {
    s += p[k] as number;
    if (u < s) return k;
  }
  return p.length - 1;
}

function table(title: string, items: AnyItemParams[], thetas: number[]): void {
  console.log(`\n${title} (${reps} patterns per θ)\n`);
  console.log(`| true θ | ${ESTIMATION_METHODS.map((m) => `${m} bias | ${m} RMSE`).join(' | ')} |`);
  console.log(`| --- | ${ESTIMATION_METHODS.map(() => '--- | ---').join(' | ')} |`);
  for (const truth of thetas) {
    const rng = createRng(`estimators:${title}:${truth}`);
    const sum = new Map<EstimationMethod, { e: number; e2: number }>(ESTIMATION_METHODS.map((m) => [m, { e: 0, e2: 0 }]));
    for (let r = 0; r < reps; r++) {
      const resp = items.map((it) => draw(it, truth, rng.next()));
      for (const m of ESTIMATION_METHODS) {
        const d = estimateTheta(m, items, resp).theta - truth;
        const acc = sum.get(m) as { e: number; e2: number };
        acc.e += d;
        acc.e2 += d * d;
      }
    }
    const cells = ESTIMATION_METHODS.map((m) => {
      const acc = sum.get(m) as { e: number; e2: number };
      return `${(acc.e / reps).toFixed(3)} | ${Math.sqrt(acc.e2 / reps).toFixed(3)}`;
    });
    console.log(`| ${truth} | ${cells.join(' | ')} |`);
  }
}

const t0 = Date.now();
table(
  '10 2PL items',
  Array.from({ length: 10 }, (_, j) => ({ a: 1.2, b: -1.8 + (3.6 * j) / 9, c: 0 })),
  [-2, -1, 0, 1, 2],
);
table(
  'mixed bank: 4 GRM, 4 GPCM, 4 3PL',
  [
    { model: 'GRM', a: 1.2, b: [-1, 0, 1.5] },
    { model: 'GRM', a: 0.9, b: [-2, -0.5, 0.5] },
    { model: 'GRM', a: 1.5, b: [-0.5, 1] },
    { model: 'GRM', a: 1.1, b: [-1.5, -0.5, 0.5, 1.5] },
    { model: 'GPCM', a: 0.9, b: [-0.5, 0.4, 1.1] },
    { model: 'GPCM', a: 1.3, b: [0.3, -0.4] },
    { model: 'GPCM', a: 0.7, b: [-1, 0, 1, 2] },
    { model: 'GPCM', a: 1.0, b: [-1.2, 0.2] },
    { a: 1.1, b: -0.2, c: 0.2 },
    { a: 1.6, b: 0.7, c: 0.2 },
    { a: 0.9, b: -1, c: 0.2 },
    { a: 1.3, b: 1.2, c: 0.2 },
  ],
  [-1, 0, 1],
);

console.log('\nclassification around θ = 0.5 (300-item bank of seed "cat", 1,000 simulees θ ~ N(0,1), 5..30 items)\n');
console.log(
  '| rule | selection at | mean length | decided | accuracy (decided) | accuracy (undecided → θ̂ vs cut) | false pass | false fail |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
const items = generateBank({ size: 300, seed: 'cat' });
for (const raw of [
  { rule: 'SPRT', cutTheta: 0.5, delta: 0.3, alpha: 0.05, beta: 0.05 },
  { rule: 'CI', cutTheta: 0.5, alpha: 0.05 },
]) {
  const rule = classificationRuleSchema.parse(raw);
  for (const selectAt of ['estimate', 'cut'] as const) {
    const r = simulateClassification({ items, rule, simulees: 1000, minItems: 5, maxItems: 30, seed: 'cat', selectAt });
    const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
    const name = rule.rule === 'SPRT' ? `SPRT δ ${rule.delta}, α = β = ${rule.alpha}` : `CI, α ${rule.alpha}`;
    console.log(
      `| ${name} | ${selectAt === 'cut' ? 'cut' : 'θ̂'} | ${r.meanLength.toFixed(2)} | ${pct(r.decidedShare)} | ${pct(r.accuracyDecided)} | ${pct(r.accuracyWithFallback)} | ${pct(r.falsePass)} | ${pct(r.falseFail)} |`,
    );
  }
}
console.log(`\n${((Date.now() - t0) / 1000).toFixed(0)} s`);
