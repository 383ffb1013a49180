/** The CLI's plot command: test information / SE curves of a bank and each item's characteristic curves as SVG files. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { UsageError, fail } from './cli-common.ts';
import { renderInformationSvg, renderItemCurvesSvg } from './curves-svg.ts';
import { MAX_ABS_B } from './models.ts';
import type { AnyItemParams } from './models.ts';
import type { SimItem } from './simulate.ts';

const theta = (name: string): z.ZodType<number> =>
  z
    .string()
    .transform(Number)
    .pipe(
      z
        .number()
        .min(-MAX_ABS_B, `--${name} must be in [-${MAX_ABS_B}, ${MAX_ABS_B}]`)
        .max(MAX_ABS_B, `--${name} must be in [-${MAX_ABS_B}, ${MAX_ABS_B}]`),
    );

/** Schema of the plot command's flags. */
export const plotFlagsSchema = z
  .object({
    bank: z.string({ error: '--bank <file> is required' }).min(1),
    out: z.string({ error: '--out <dir> is required' }).min(1),
    items: z
      .string()
      .transform((s) => s.split(',').map((v) => v.trim()))
      .pipe(z.array(z.string().min(1, '--items: empty id')).min(1))
      .optional(),
    'theta-min': theta('theta-min').default(-4),
    'theta-max': theta('theta-max').default(4),
  })
  .refine((f) => f['theta-min'] < f['theta-max'], { message: '--theta-min must be below --theta-max' });

/** A file name for an item id: characters outside [A-Za-z0-9._-] become "_". */
export function itemFileName(id: string): string {
  return `item-${id.replace(/[^A-Za-z0-9._-]/g, '_')}.svg`;
}

/**
 * `plot --bank FILE --out DIR [--items id,...] [--theta-min -4] [--theta-max 4]`: writes
 * DIR/test-information.svg for the whole bank and DIR/item-<id>.svg for each item (or the listed ones).
 */
export function cmdPlot(args: string[], loadBank: (file: string) => SimItem[]): void {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      bank: { type: 'string' },
      out: { type: 'string' },
      items: { type: 'string' },
      'theta-min': { type: 'string' },
      'theta-max': { type: 'string' },
    },
  });
  if (positionals.length > 0) throw new UsageError(`plot: unexpected argument "${positionals[0]}"`);
  const parsed = plotFlagsSchema.safeParse(values);
  if (!parsed.success) throw new UsageError(`plot: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  const flags = parsed.data;
  const bank = loadBank(flags.bank);
  const ids = bank.map((it, i) => it.id ?? String(i));
  let chosen = bank.map((_, i) => i);
  if (flags.items) {
    const missing = flags.items.filter((id) => !ids.includes(id));
    if (missing.length > 0) fail(`plot: no item ${missing.map((m) => JSON.stringify(m)).join(', ')} in the bank`);
    chosen = flags.items.map((id) => ids.indexOf(id));
  }
  const range = { thetaMin: flags['theta-min'], thetaMax: flags['theta-max'] };
  const models = bank.map((it) => it.poly ?? { a: it.a, b: it.b, c: it.c });
  try {
    mkdirSync(flags.out, { recursive: true });
  } catch (err) {
    fail(`plot: cannot create ${flags.out}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const written: string[] = [];
  const write = (name: string, svg: string): void => {
    writeFileSync(join(flags.out, name), svg);
    written.push(name);
  };
  write('test-information.svg', renderInformationSvg(models, range));
  for (const i of chosen)
    write(itemFileName(ids[i] as string), renderItemCurvesSvg(models[i] as AnyItemParams, { ...range, label: ids[i] as string }));
  process.stdout.write(
    `wrote ${written.length} file(s) to ${flags.out}: ${written.slice(0, 5).join(', ')}${written.length > 5 ? ', …' : ''}\n`,
  );
}
