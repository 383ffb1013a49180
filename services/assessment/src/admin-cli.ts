import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { connectBus } from '@ap/bus';
import type { Bus } from '@ap/bus';
import { commonEnv, parseConfig, processEnv } from '@ap/config';
import { createLogger } from '@ap/logging';
import { isAppError } from '@ap/protocol';
import type { Caller } from '@ap/protocol';
import { z } from 'zod';

// Admin commands over the assessment service's subjects:
//   npm run admin -- import BANK.(json|yaml)          (assessment.v1.items.import; a bad file imports nothing)
//   npm run admin -- exposure TEST_ID [--r-max 0.25]   (assessment.v1.exposure.update; Sympson–Hetter from usage)
const USAGE = 'usage: npm run admin -- import BANK.(json|yaml) | exposure TEST_ID [--r-max 0.25] [--min-examinees 100]\n';
const ADMIN: Caller = { user_id: 'admin-cli', role: 'admin' };

const config = parseConfig(z.object({ ...commonEnv, LOG_LEVEL: commonEnv.LOG_LEVEL.default('warn') }), processEnv());
const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { 'r-max': { type: 'string' }, 'min-examinees': { type: 'string' } },
});
const commandSchema = z.discriminatedUnion('name', [
  z.object({ name: z.literal('import'), file: z.string().regex(/\.(json|ya?ml)$/i, 'a .json, .yaml or .yml file') }),
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
});
if (!command.success) {
  process.stderr.write(USAGE);
  process.exit(2);
}

async function run(bus: Bus, cmd: Command): Promise<string> {
  if (cmd.name === 'import') {
    const text = await readFile(cmd.file, 'utf8');
    const format = cmd.file.toLowerCase().endsWith('.json') ? 'json' : 'yaml';
    const r = await bus.request('itemsImport', { caller: ADMIN, format, text }, { timeoutMs: 60_000 });
    return `imported ${r.imported} items`;
  }
  const r = await bus.request(
    'exposureUpdate',
    { caller: ADMIN, test_id: cmd.testId, r_max: cmd.rMax, min_examinees: cmd.minExaminees },
    { timeoutMs: 60_000 },
  );
  return `exposure: ${r.examinees} finished assessments, ${r.updated} items updated, highest exposure rate ${r.max_exposure_rate.toFixed(3)}`;
}

const log = createLogger({ service: 'admin', level: config.LOG_LEVEL });
const bus = await connectBus({ servers: config.NATS_URL, nkeySeed: config.NATS_NKEY_SEED, name: 'admin', log });
try {
  process.stdout.write(`${await run(bus, command.data)}\n`);
} catch (err) {
  if (isAppError(err)) {
    process.stderr.write(`${err.code}: ${err.message}\n`);
    const errors = (err.details?.['errors'] ?? []) as { item: unknown; field: string; message: string }[];
    for (const e of errors) process.stderr.write(`  item ${String(e.item)}, field ${e.field}: ${e.message}\n`);
  } else {
    process.stderr.write(`${String(err)}\n`);
  }
  process.exitCode = 1;
} finally {
  await bus.close();
}
