/**
 * Accuracy benchmark: reproduces the README figures. For each replication r
 * (seed "cat" for r = 0, "cat-r" otherwise — identical to
 * `npm run cat -- simulate --seed <seed> ...`), draws a 300-item 3PL bank
 * (a ~ N(1.2, 0.25), b ~ N(0, 1), c ~ N(0.25, 0.02)), simulates 1,000 simulees
 * θ ~ N(0, 1) on fixed-length 20-item CATs (EAP + maximum information, start θ = 0)
 * with: no exposure control, randomesque k = 5, and Sympson–Hetter calibrated for
 * r_max = 0.25 (12 iterations × 2,000 simulees).
 *
 *   npm exec -- node libs/cat/bench/simulate.bench.ts [--reps 5] [--simulees 1000] [--length 20]
 */
import { parseArgs } from 'node:util';
import { calibrateSympsonHetter, generateBank, simulateCat } from '../src/index.ts';
import type { CatConfig, SimulationResult } from '../src/index.ts';

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '5' },
    simulees: { type: 'string', default: '1000' },
    length: { type: 'string', default: '20' },
    'bank-size': { type: 'string', default: '300' },
    'r-max': { type: 'string', default: '0.25' },
    'sh-iterations': { type: 'string', default: '12' },
    'sh-simulees': { type: 'string', default: '2000' },
  },
});
const reps = Number(values.reps);
const simulees = Number(values.simulees);
const length = Number(values.length);
const bankSize = Number(values['bank-size']);
const rMax = Number(values['r-max']);

interface Row {
  seed: string;
  condition: string;
  r: SimulationResult;
}
const rows: Row[] = [];
const config: CatConfig = { minItems: length, maxItems: length };
const t0 = performance.now();
for (let rep = 0; rep < reps; rep++) {
  const seed = rep === 0 ? 'cat' : `cat-${rep}`;
  const items = generateBank({ size: bankSize, seed });
  rows.push({ seed, condition: 'MFI', r: simulateCat({ items, simulees, config, seed }) });
  rows.push({ seed, condition: 'randomesque k=5', r: simulateCat({ items, simulees, config: { ...config, randomesque: 5 }, seed }) });
  const cal = calibrateSympsonHetter({
    items,
    rMax,
    config,
    simulees: Number(values['sh-simulees']),
    iterations: Number(values['sh-iterations']),
    seed: `${seed}:calibration`,
  });
  rows.push({
    seed,
    condition: `Sympson–Hetter r_max=${rMax}`,
    r: simulateCat({ items, simulees, config: { ...config, sympsonHetter: true }, exposureK: cal.exposureK, seed }),
  });
  process.stderr.write(`replication ${rep + 1}/${reps} done (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
}

const head = ['seed', 'condition', 'RMSE', 'bias', 'mean SE', 'max exp', 'unused', 'overlap'];
const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
console.log(line(head));
console.log(line(head.map(() => '---')));
for (const { seed, condition, r } of rows) {
  console.log(
    line([
      seed,
      condition,
      r.rmse.toFixed(3),
      r.bias.toFixed(3),
      r.meanSe.toFixed(3),
      r.maxExposure.toFixed(3),
      `${(100 * r.unusedShare).toFixed(0)}%`,
      r.overlapRate.toFixed(3),
    ]),
  );
}
console.log('');
console.log(line(['condition', `mean over ${reps} reps: RMSE`, 'bias', 'mean SE', 'max exp', 'unused', 'overlap', 'RMSE range']));
console.log(line(new Array<string>(8).fill('---')));
for (const cond of [...new Set(rows.map((r) => r.condition))]) {
  const rs = rows.filter((r) => r.condition === cond).map((r) => r.r);
  const mean = (f: (r: SimulationResult) => number): number => rs.reduce((s, r) => s + f(r), 0) / rs.length;
  const rm = rs.map((r) => r.rmse);
  console.log(
    line([
      cond,
      mean((r) => r.rmse).toFixed(3),
      mean((r) => r.bias).toFixed(3),
      mean((r) => r.meanSe).toFixed(3),
      mean((r) => r.maxExposure).toFixed(3),
      `${(100 * mean((r) => r.unusedShare)).toFixed(0)}%`,
      mean((r) => r.overlapRate).toFixed(3),
      `${Math.min(...rm).toFixed(3)}–${Math.max(...rm).toFixed(3)}`,
    ]),
  );
}
