import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connectBus } from '@ap/bus';
import type { Bus } from '@ap/bus';
import { commonEnv, parseConfig, processEnv } from '@ap/config';
import { createLogger } from '@ap/logging';
import { isAppError } from '@ap/protocol';
import type { Caller } from '@ap/protocol';
import { bankText, convertQti, pathSource } from '@ap/qti';
import { renderCalibrationSvg } from '@ap/cat';
import type { CalibrationReport } from '@ap/cat';
import { z } from 'zod';

// Admin commands over the assessment service's subjects:
//   npm run admin -- import BANK.(json|yaml)          (assessment.v1.items.import; a bad file imports nothing)
//   npm run admin -- import PACKAGE [--skip-unsupported] [--skill NAME] [--params FILE]
//                                                     (QTI: a .zip or folder with imsmanifest.xml, or an item .xml,
//                                                      converted to a bank and imported the same way)
//   npm run admin -- exposure TEST_ID [--r-max 0.25]   (assessment.v1.exposure.update; Sympson–Hetter from usage)
//   npm run admin -- calibrate TEST_ID [--model 2PL|3PL] [--min-responses 100] [--apply] [--out DIR]
//                                                     (assessment.v1.items.calibrate; writes DIR/calibration-TEST.json and .svg;
//                                                      --model is for single choices, likert and partial-credit items
//                                                      are fitted with their GRM or GPCM model)
const USAGE =
  'usage: npm run admin -- import BANK.(json|yaml) | import QTI_PACKAGE.(zip|xml)|FOLDER [--skip-unsupported] [--skill NAME] [--params FILE]\n' +
  '       | exposure TEST_ID [--r-max 0.25] [--min-examinees 100]\n' +
  '       | calibrate TEST_ID [--model 2PL|3PL] [--min-responses 100] [--apply] [--out DIR]\n';
const ADMIN: Caller = { user_id: 'admin-cli', role: 'admin' };

const config = parseConfig(z.object({ ...commonEnv, LOG_LEVEL: commonEnv.LOG_LEVEL.default('warn') }), processEnv());
const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    'r-max': { type: 'string' },
    'min-examinees': { type: 'string' },
    'skip-unsupported': { type: 'boolean' },
    skill: { type: 'string' },
    params: { type: 'string' },
    model: { type: 'string' },
    'min-responses': { type: 'string' },
    apply: { type: 'boolean' },
    out: { type: 'string' },
  },
});
const commandSchema = z.discriminatedUnion('name', [
  z.object({
    name: z.literal('import'),
    file: z.string().min(1),
    skipUnsupported: z.boolean().default(false),
    skill: z.string().min(1).max(64).optional(),
    params: z.string().min(1).optional(),
  }),
  z.object({
    name: z.literal('calibrate'),
    testId: z.string().min(1),
    model: z.enum(['2PL', '3PL']).default('2PL'),
    minResponses: z.coerce.number().int().min(10).max(100_000).default(100),
    apply: z.boolean().default(false),
    out: z.string().min(1).default('reports/calibration'),
  }),
  z.object({
    name: z.literal('exposure'),
    testId: z.string().min(1),
    rMax: z.coerce.number().gt(0).max(1).default(0.25),
    minExaminees: z.coerce.number().int().positive().default(100),
  }),
]);
type Command = z.infer<typeof commandSchema>;
const command = commandSchema.safeParse({
  name: positionals[0],
  file: positionals[1],
  testId: positionals[1],
  rMax: values['r-max'],
  minExaminees: values['min-examinees'],
  skipUnsupported: values['skip-unsupported'],
  skill: values.skill,
  params: values.params,
  model: values.model,
  minResponses: values['min-responses'],
  apply: values.apply,
  out: values.out,
});
if (!command.success) {
  process.stderr.write(USAGE);
  process.exit(2);
}

async function run(bus: Bus, cmd: Command): Promise<string> {
  if (cmd.name === 'import' && (/\.(zip|xml)$/i.test(cmd.file) || (await stat(cmd.file)).isDirectory())) return importQti(bus, cmd);
  if (cmd.name === 'import') {
    const text = await readFile(cmd.file, 'utf8');
    const format = cmd.file.toLowerCase().endsWith('.json') ? 'json' : 'yaml';
    const r = await bus.request('itemsImport', { caller: ADMIN, format, text }, { timeoutMs: 60_000 });
    return `imported ${r.imported} items`;
  }
  if (cmd.name === 'calibrate') return calibrateTest(bus, cmd);
  const r = await bus.request(
    'exposureUpdate',
    { caller: ADMIN, test_id: cmd.testId, r_max: cmd.rMax, min_examinees: cmd.minExaminees },
    { timeoutMs: 60_000 },
  );
  return `exposure: ${r.examinees} finished assessments, ${r.updated} items updated, highest exposure rate ${r.max_exposure_rate.toFixed(3)}`;
}

/** A QTI package or item, converted to a bank and imported like a bank file; what was skipped is listed. */
async function importQti(bus: Bus, cmd: Extract<Command, { name: 'import' }>): Promise<string> {
  const options = {
    skipUnsupported: cmd.skipUnsupported,
    ...(cmd.skill === undefined ? {} : { skill: cmd.skill }),
    ...(cmd.params === undefined ? {} : { sidecar: await readFile(cmd.params, 'utf8') }),
  };
  const { items, skipped } = await convertQti(await pathSource(cmd.file), options);
  const r = await bus.request('itemsImport', { caller: ADMIN, format: 'json', text: bankText(items) }, { timeoutMs: 60_000 });
  const lines = [`imported ${r.imported} items`, ...skipped.map((s) => `skipped ${s.item} (${s.file}): ${s.reason}`)];
  return lines.join('\n');
}

/** Calibrates a test's items on the service, then writes the report (JSON) and the item map (SVG). */
async function calibrateTest(bus: Bus, cmd: Extract<Command, { name: 'calibrate' }>): Promise<string> {
  const r = await bus.request(
    'itemsCalibrate',
    { caller: ADMIN, test_id: cmd.testId, model: cmd.model, min_responses: cmd.minResponses, apply: cmd.apply },
    { timeoutMs: 300_000 },
  );
  await mkdir(cmd.out, { recursive: true });
  const base = join(cmd.out, `calibration-${cmd.testId}`);
  await writeFile(`${base}.json`, `${JSON.stringify(r, null, 2)}\n`);
  const report: Pick<CalibrationReport, 'model' | 'items'> = {
    model: r.model,
    items: r.items.map((i) => ({
      a: i.a,
      b: i.b,
      c: i.c,
      se: { a: i.se.a, b: i.se.b, ...(i.se.c === undefined ? {} : { c: i.se.c }) },
      n: i.n,
      pValue: i.p_value,
      fit: i.fit,
      estimated: i.estimated,
    })),
  };
  const svg = renderCalibrationSvg(
    { ...report, cycles: r.cycles, converged: r.converged, logLikelihood: [], persons: [] },
    {
      title: `Test ${cmd.testId}`,
      ids: r.items.map((i) => i.id),
      previous: r.items.map((i) => i.previous),
    },
  );
  await writeFile(`${base}.svg`, svg);
  const estimated = r.items.filter((i) => i.estimated);
  const misfit = estimated.filter((i) => i.fit !== null && i.fit.p < 0.01).length;
  return [
    `calibrated ${estimated.length} of ${r.items.length} items (${r.model}) from ${r.examinees} finished assessments in ${r.cycles} EM cycles${r.converged ? '' : ' (not converged)'}`,
    `${misfit} item(s) misfit at 1% (Q1); ${cmd.apply ? `${r.applied} items updated` : 'nothing changed (add --apply to store the parameters)'}`,
    `report: ${base}.json, ${base}.svg`,
  ].join('\n');
}

const log = createLogger({ service: 'admin', level: config.LOG_LEVEL });
const bus = await connectBus({ servers: config.NATS_URL, nkeySeed: config.NATS_NKEY_SEED, name: 'admin', log });
try {
  process.stdout.write(`${await run(bus, command.data)}\n`);
} catch (err) {
  if (isAppError(err)) {
    process.stderr.write(`${err.code}: ${err.message}\n`);
    const errors = (err.details?.['errors'] ?? []) as { item: unknown; field?: string; message?: string; file?: string; reason?: string }[];
    for (const e of errors) {
      if (e.reason !== undefined) process.stderr.write(`  item ${String(e.item)} (${e.file ?? ''}): ${e.reason}\n`);
      else process.stderr.write(`  item ${String(e.item)}, field ${e.field ?? ''}: ${e.message ?? ''}\n`);
    }
  } else {
    process.stderr.write(`${String(err)}\n`);
  }
  process.exitCode = 1;
} finally {
  await bus.close();
}
