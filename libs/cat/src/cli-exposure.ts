/** The simulate command's exposure-control flags: their schema and the calibration they ask for. */
import { z } from 'zod';
import type { CatConfig } from './config.ts';
import { MAX_A_STRATA, MAX_THETA_STRATA } from './config.ts';
import { calibrateConditionalSympsonHetter, calibrateSympsonHetter } from './exposure.ts';
import type { SimItem } from './simulate.ts';
import { UsageError, issuePath } from './cli-common.ts';
import { MAX_ABS_B } from './models.ts';

const number = (name: string): z.ZodType<number> =>
  z
    .string()
    .trim()
    .min(1, `--${name} needs a value`)
    .transform(Number)
    .pipe(z.number({ error: `--${name} must be a number` }).refine(Number.isFinite, `--${name} must be a finite number`));

const rate = (name: string): z.ZodType<number> =>
  number(name).pipe(z.number().gt(0, `--${name} must be in (0, 1]`).max(1, `--${name} must be in (0, 1]`));

/** Schema of the exposure flags of `simulate` (strings as parseArgs gives them). */
export const exposureFlagsSchema = z
  .object({
    'sympson-hetter': rate('sympson-hetter').optional(),
    'conditional-sh': rate('conditional-sh').optional(),
    'theta-cuts': z
      .string()
      .transform((s) => s.split(',').map((v) => (v.trim() === '' ? NaN : Number(v))))
      .pipe(
        z
          .array(z.number().min(-MAX_ABS_B).max(MAX_ABS_B), { error: '--theta-cuts must be numbers' })
          .min(1)
          .max(MAX_THETA_STRATA - 1)
          .refine((c) => c.every((v, j) => j === 0 || v > (c[j - 1] as number)), '--theta-cuts must increase'),
      )
      .optional(),
    'a-strata': number('a-strata')
      .pipe(z.int(`--a-strata must be an integer`).min(2, '--a-strata must be at least 2').max(MAX_A_STRATA))
      .optional(),
    'b-blocking': z.boolean().optional(),
  })
  .superRefine((f, ctx) => {
    const add = (message: string): void => {
      ctx.addIssue({ code: 'custom', message });
    };
    if (f['sympson-hetter'] !== undefined && f['conditional-sh'] !== undefined) add('use either --sympson-hetter or --conditional-sh');
    if (f['theta-cuts'] !== undefined && f['conditional-sh'] === undefined) add('--theta-cuts needs --conditional-sh');
    if (f['b-blocking'] === true && f['a-strata'] === undefined) add('--b-blocking needs --a-strata');
  });

/** Parsed exposure flags. */
export type ExposureFlags = z.infer<typeof exposureFlagsSchema>;

/** Parse the exposure flags; a bad one is a usage error naming it (exit 2). */
export function parseExposureFlags(values: Record<string, unknown>, length: number): ExposureFlags {
  const picked = Object.fromEntries(Object.keys(exposureFlagsSchema.shape).map((k) => [k, values[k]]));
  const r = exposureFlagsSchema.safeParse(picked);
  if (!r.success) {
    const lines = r.error.issues.slice(0, 10).map((i) => {
      const at = i.path.length > 0 && !i.message.startsWith('--') ? `--${issuePath(i.path)}: ` : '';
      return `  ${at}${i.message}`;
    });
    throw new UsageError(`simulate: invalid exposure options:\n${lines.join('\n')}`);
  }
  const strata = r.data['a-strata'];
  if (strata !== undefined && strata > length) throw new UsageError(`--a-strata ${strata} exceeds --length ${length}`);
  return r.data;
}

/** The config fields the flags set (a-stratification, and the Sympson–Hetter variant once calibrated). */
export function applyExposureFlags(config: CatConfig, flags: ExposureFlags): void {
  const strata = flags['a-strata'];
  if (strata !== undefined) config.aStratification = { strata, ...(flags['b-blocking'] === true ? { bBlocking: true } : {}) };
}

/** What a calibration gives the simulation, and the lines that describe it. */
export interface ExposureCalibration {
  exposureK?: number[];
  exposureKByStratum?: number[][];
  calibration?: unknown;
  log: string[];
  label: string;
}

/** Calibrate the Sympson–Hetter variant the flags ask for (none: nothing) and switch it on in `config`. */
export function calibrateFromFlags(
  config: CatConfig,
  flags: ExposureFlags,
  run: { items: SimItem[]; seed: string; iterations: number; simulees: number; progress: (t: number, d: number, n: number) => void },
): ExposureCalibration {
  const common = { items: run.items, config, simulees: run.simulees, iterations: run.iterations, seed: `${run.seed}:calibration` };
  const plain = flags['sympson-hetter'];
  const conditional = flags['conditional-sh'];
  const strataLabel = config.aStratification
    ? `, a-stratified (${config.aStratification.strata} strata${config.aStratification.bBlocking ? ', b-blocking' : ''})`
    : '';
  if (plain !== undefined) {
    const cal = calibrateSympsonHetter({ ...common, rMax: plain, onProgress: run.progress });
    config.sympsonHetter = true;
    const log = [`Sympson–Hetter calibration (r_max ${plain}, ${run.iterations} iterations × ${run.simulees} simulees):`];
    for (const it of cal.iterations) {
      log.push(`  iteration ${String(it.iteration).padStart(2)}: max exposure ${it.maxExposure.toFixed(3)}, RMSE ${it.rmse.toFixed(4)}`);
    }
    log.push(`  items with K < 1: ${cal.exposureK.filter((k) => k < 1).length}, min K ${Math.min(...cal.exposureK).toFixed(3)}`);
    return { exposureK: cal.exposureK, calibration: cal, log, label: `${strataLabel}, Sympson–Hetter r_max=${plain}` };
  }
  if (conditional !== undefined) {
    config.conditionalSympsonHetter = flags['theta-cuts'] ? { cuts: flags['theta-cuts'] } : {};
    const cal = calibrateConditionalSympsonHetter({ ...common, rMax: conditional, onProgress: run.progress });
    const log = [
      `conditional Sympson–Hetter calibration (r_max ${conditional} in each of ${cal.cuts.length + 1} θ strata, cuts ${cal.cuts
        .map((c) => c.toFixed(2))
        .join(', ')}; ${run.iterations} iterations × ${run.simulees} simulees):`,
    ];
    for (const it of cal.iterations) {
      log.push(
        `  iteration ${String(it.iteration).padStart(2)}: max exposure ${it.maxExposure.toFixed(3)}, max within a stratum ${it.maxConditionalExposure.toFixed(3)}, RMSE ${it.rmse.toFixed(4)}`,
      );
    }
    const all = cal.exposureKByStratum.flat();
    log.push(`  (item, stratum) pairs with K < 1: ${all.filter((k) => k < 1).length}, min K ${Math.min(...all).toFixed(3)}`);
    return {
      exposureKByStratum: cal.exposureKByStratum,
      calibration: cal,
      log,
      label: `${strataLabel}, conditional Sympson–Hetter r_max=${conditional}`,
    };
  }
  return { log: [], label: strataLabel };
}
