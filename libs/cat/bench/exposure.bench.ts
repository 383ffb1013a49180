/**
 * Exposure-control benchmark: reproduces the README figures of conditional
 * Sympson–Hetter and a-stratification. The bank is the 300-item 3PL bank of
 * `npm run cat -- simulate --seed <seed>` (a ~ N(1.2, 0.25), b ~ N(0, 1),
 * c ~ N(0.25, 0.02)); 1,000 simulees θ ~ N(0, 1) (the same as the simulate
 * command's), fixed 20-item tests, EAP, start θ = 0. Sympson–Hetter K are
 * calibrated for r_max on a separate seed (`--iterations` × `--cal-simulees`).
 *
 *   npm exec -- node libs/cat/bench/exposure.bench.ts [--seed cat] [--simulees 1000] [--r-max 0.25]
 *     [--limit 0.25] [--cuts -1,1] [--strata 4] [--conditions mfi,sh,csh,astrat,astrat-bb,astrat-r5,
 *     astrat-bb-r5,astrat-sh,astrat-bb-sh,astrat-csh,astrat-bb-csh]
 *
 * "max in a θ stratum" is the largest exposure rate among simulees of one true-θ stratum
 * (the --cuts strata, default 7 over [−3, 3]).
 */
import { parseArgs } from 'node:util';
import { DEFAULT_THETA_CUTS, calibrateConditionalSympsonHetter, calibrateSympsonHetter, generateBank, simulateCat } from '../src/index.ts';
import type { CatConfig, SimulationResult } from '../src/index.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: 'cat' },
    simulees: { type: 'string', default: '1000' },
    length: { type: 'string', default: '20' },
    'r-max': { type: 'string', default: '0.25' },
    /** The exposure limit the figures are checked against (items above it are counted). */
    limit: { type: 'string', default: '0.25' },
    iterations: { type: 'string', default: '12' },
    'cal-simulees': { type: 'string', default: '2000' },
    strata: { type: 'string', default: '4' },
    cuts: { type: 'string' },
    conditions: { type: 'string', default: 'sh,csh,astrat-r5,astrat-sh,astrat-bb-sh' },
  },
});
const seed = values.seed;
const simulees = Number(values.simulees);
const length = Number(values.length);
const rMax = Number(values['r-max']);
const limit = Number(values.limit);
const iterations = Number(values.iterations);
const calSimulees = Number(values['cal-simulees']);
const strata = Number(values.strata);
const cshCuts = values.cuts === undefined ? DEFAULT_THETA_CUTS : values.cuts.split(',').map(Number);
const csh: NonNullable<CatConfig['conditionalSympsonHetter']> =
  values.cuts === undefined ? {} : { cuts: values.cuts.split(',').map(Number) };
const items = generateBank({ size: 300, seed });
const base: CatConfig = { minItems: length, maxItems: length };
const t0 = performance.now();

interface Row {
  condition: string;
  r: SimulationResult;
  seconds: number;
}

function run(condition: string): Row {
  const start = performance.now();
  const cal = { items, rMax, simulees: calSimulees, iterations, seed: `${seed}:calibration` };
  let r: SimulationResult;
  const aStrat = (bBlocking: boolean): CatConfig => ({ ...base, aStratification: { strata, bBlocking } });
  switch (condition) {
    case 'mfi':
      r = simulateCat({ items, simulees, config: base, seed, thetaCuts: cshCuts });
      break;
    case 'sh': {
      const k = calibrateSympsonHetter({ ...cal, config: base }).exposureK;
      r = simulateCat({ items, simulees, config: { ...base, sympsonHetter: true }, exposureK: k, seed, thetaCuts: cshCuts });
      break;
    }
    case 'csh': {
      const config: CatConfig = { ...base, conditionalSympsonHetter: csh };
      const k = calibrateConditionalSympsonHetter({ ...cal, config }).exposureKByStratum;
      r = simulateCat({ items, simulees, config, exposureKByStratum: k, seed });
      break;
    }
    case 'astrat':
    case 'astrat-bb':
      r = simulateCat({ items, simulees, config: aStrat(condition === 'astrat-bb'), seed });
      break;
    case 'astrat-r5':
    case 'astrat-bb-r5':
      r = simulateCat({ items, simulees, config: { ...aStrat(condition === 'astrat-bb-r5'), randomesque: 5 }, seed });
      break;
    case 'astrat-sh':
    case 'astrat-bb-sh': {
      const config = aStrat(condition === 'astrat-bb-sh');
      const k = calibrateSympsonHetter({ ...cal, config }).exposureK;
      r = simulateCat({ items, simulees, config: { ...config, sympsonHetter: true }, exposureK: k, seed });
      break;
    }
    case 'astrat-csh':
    case 'astrat-bb-csh': {
      const config: CatConfig = { ...aStrat(condition === 'astrat-bb-csh'), conditionalSympsonHetter: csh };
      const k = calibrateConditionalSympsonHetter({ ...cal, config }).exposureKByStratum;
      r = simulateCat({ items, simulees, config, exposureKByStratum: k, seed });
      break;
    }
    default:
      throw new RangeError(`unknown condition ${condition}`);
  }
  const seconds = (performance.now() - start) / 1000;
  process.stderr.write(`${condition} done (${seconds.toFixed(0)} s)\n`);
  return { condition, r, seconds };
}

const rows = values.conditions.split(',').map(run);
const head = [
  'condition',
  'RMSE',
  'bias',
  'mean SE',
  'max exp',
  'max in a θ stratum',
  `items > ${limit}`,
  'never used',
  'overlap',
  'seconds',
];
const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
console.log(
  `bank seed ${seed}, ${simulees} simulees, length ${length}, r_max ${rMax}, a-strata ${strata}, θ cuts ${values.cuts ?? 'default (7 strata)'}`,
);
console.log(line(head));
console.log(line(head.map(() => '---')));
for (const { condition, r, seconds } of rows) {
  console.log(
    line([
      condition,
      r.rmse.toFixed(3),
      r.bias.toFixed(3),
      r.meanSe.toFixed(3),
      r.maxExposure.toFixed(3),
      r.byThetaStratum ? Math.max(...r.byThetaStratum.exposureRates.map((row) => Math.max(0, ...row))).toFixed(3) : '',
      String(r.exposureRates.filter((x) => x > limit).length),
      `${(100 * r.unusedShare).toFixed(0)}%`,
      r.overlapRate.toFixed(3),
      seconds.toFixed(0),
    ]),
  );
}
console.log('');
for (const { condition, r } of rows) {
  const met = r.maxExposure <= limit && r.rmse <= 0.41;
  console.log(`${condition}: max exposure ≤ ${limit} and RMSE ≤ 0.41: ${met ? 'met' : 'not met'}`);
}
process.stderr.write(`total ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
