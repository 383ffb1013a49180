// `npm run tools [-- --for start|test] [--list]`: builds the missing infrastructure tools into the
// tools cache (see provision.ts). `npm test` runs it first (pretest), `npm start` calls
// provisionTools itself, and .ci/run runs it with --list.
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ProvisionError, provisionTools } from './provision.ts';

const argsSchema = z.object({
  for: z.enum(['start', 'test']).default('test'),
  list: z.boolean().default(false),
});

try {
  const { values } = parseArgs({ options: { for: { type: 'string' }, list: { type: 'boolean' } }, strict: true });
  const args = argsSchema.parse(values);
  const result = await provisionTools(args.for, { report: (line) => process.stdout.write(`${line}\n`) });
  if (args.list) {
    for (const [tool, path] of Object.entries(result.tools)) process.stdout.write(`tools: ${tool} ${path}\n`);
  }
} catch (err) {
  const message =
    err instanceof ProvisionError || err instanceof z.ZodError ? err.message : err instanceof Error ? err.message : String(err);
  process.stderr.write(`\ncould not provision the tools: ${message}\n`);
  process.exitCode = 1;
}
