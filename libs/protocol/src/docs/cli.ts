// `npm run docs`: writes docs/asyncapi.yaml and docs/openapi.yaml from the zod schemas.
// `npm run docs -- --check` only compares, and fails when a committed document is stale.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { apiDocumentsYaml } from './yaml.ts';

const docsDir = fileURLToPath(new URL('../../../../docs/', import.meta.url));
const { values } = parseArgs({ options: { check: { type: 'boolean' } }, strict: true });
const args = z.object({ check: z.boolean().default(false) }).parse(values);

const documents = apiDocumentsYaml();
let stale = 0;
for (const [name, text] of Object.entries({ 'asyncapi.yaml': documents.asyncapi, 'openapi.yaml': documents.openapi })) {
  const file = `${docsDir}${name}`;
  const current = await readFile(file, 'utf8').catch(() => undefined);
  if (current === text) continue;
  if (args.check) {
    process.stderr.write(`docs/${name} is stale: run npm run docs\n`);
    stale += 1;
  } else {
    await mkdir(docsDir, { recursive: true });
    await writeFile(file, text);
    process.stdout.write(`wrote docs/${name}\n`);
  }
}
if (stale > 0) process.exitCode = 1;
