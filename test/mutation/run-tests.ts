/**
 * The command Stryker's command runner starts for every mutant (and once, unmutated, for the
 * dry run). Stryker names the active mutant in `__STRYKER_ACTIVE_MUTANT__`; the instrumented
 * sources mark each mutant with `stryMutAct_9fa48("<id>")`, so the file that holds it tells which
 * group's tests to run. Without a mutant, or when none holds it, every group's tests run.
 */
import { spawnSync } from 'node:child_process';
import { globSync, readFileSync } from 'node:fs';
import { MUTATION_GROUPS } from './groups.ts';
import type { MutationGroup } from './groups.ts';

function sources(group: MutationGroup): string[] {
  const include = group.mutate.filter((g) => !g.startsWith('!'));
  const exclude = group.mutate.filter((g) => g.startsWith('!')).map((g) => g.slice(1));
  return globSync(include, { exclude });
}

function groupOf(mutant: string): MutationGroup | undefined {
  const marker = `stryMutAct_9fa48("${mutant}")`;
  return MUTATION_GROUPS.find((g) => sources(g).some((f) => readFileSync(f, 'utf8').includes(marker)));
}

const mutant = process.env['__STRYKER_ACTIVE_MUTANT__'];
const group = mutant === undefined ? undefined : groupOf(mutant);
const selected = process.env['MUTATION_GROUPS']?.split('\n');
const groups = group !== undefined ? [group] : MUTATION_GROUPS.filter((g) => selected === undefined || selected.includes(g.name));
const files = globSync(groups.flatMap((g) => g.tests));
const run = spawnSync(process.execPath, ['--test', '--test-reporter=dot', '--test-timeout=60000', ...files], {
  stdio: ['ignore', 'inherit', 'inherit'],
});
process.exitCode = run.status ?? 1;
