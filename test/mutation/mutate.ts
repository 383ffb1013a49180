/**
 * `npm run mutate [-- <group name>...]`: StrykerJS over the modules in groups.ts, with the
 * command runner starting run-tests.ts for each mutant. Writes reports/mutation/mutation.json
 * and mutation.html. Not part of `npm test`: it takes minutes.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MUTATION_GROUPS } from './groups.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const wanted = process.argv.slice(2);
const groups = wanted.length === 0 ? MUTATION_GROUPS : MUTATION_GROUPS.filter((g) => wanted.some((w) => g.name.startsWith(w)));
if (groups.length === 0) {
  console.error(`no group matches ${wanted.join(', ')}; groups: ${MUTATION_GROUPS.map((g) => g.name).join(', ')}`);
  process.exit(2);
}
// The package exports no bin path; its file sits in the root node_modules of the workspace.
const stryker = join(root, 'node_modules', '@stryker-mutator', 'core', 'bin', 'stryker.js');
const run = spawnSync(
  process.execPath,
  [stryker, 'run', join(here, 'stryker.config.json'), '--mutate', groups.flatMap((g) => g.mutate).join(',')],
  // run-tests.ts reads the selection for the dry run, which has no mutant to route by.
  { cwd: root, stdio: 'inherit', env: { ...process.env, MUTATION_GROUPS: groups.map((g) => g.name).join('\n') } },
);
process.exitCode = run.status ?? 1;
