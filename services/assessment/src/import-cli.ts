import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { connectBus } from '@ap/bus';
import { commonEnv, parseConfig, processEnv } from '@ap/config';
import { createLogger } from '@ap/logging';
import { isAppError } from '@ap/protocol';
import { z } from 'zod';

// `npm run import -- FILE.yaml|FILE.json`: imports a question bank through the assessment
// service's admin subject (assessment.v1.items.import). A bad file imports nothing; every error
// names the item and the field.
const config = parseConfig(z.object({ ...commonEnv, LOG_LEVEL: commonEnv.LOG_LEVEL.default('warn') }), processEnv());
const { positionals } = parseArgs({ allowPositionals: true, options: {} });
const file = z.string().regex(/\.(json|ya?ml)$/i, 'a .json, .yaml or .yml file').safeParse(positionals[0]);
if (!file.success) {
  process.stderr.write('usage: npm run import -- BANK.(json|yaml)\n');
  process.exit(2);
}
const text = await readFile(file.data, 'utf8');
const log = createLogger({ service: 'import', level: config.LOG_LEVEL });
const bus = await connectBus({ servers: config.NATS_URL, name: 'import', log });
try {
  const r = await bus.request(
    'itemsImport',
    { caller: { user_id: 'import-cli', role: 'admin' }, format: file.data.toLowerCase().endsWith('.json') ? 'json' : 'yaml', text },
    { timeoutMs: 60_000 },
  );
  process.stdout.write(`imported ${r.imported} items\n`);
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
