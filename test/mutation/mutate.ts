/**
 * `npm run mutate [-- <group name prefix>...]`: StrykerJS over the modules in groups.ts, one
 * group at a time, with the command runner starting run-tests.ts for each mutant. Each group's
 * reports go to reports/mutation/groups/; the merged report of all groups run is
 * reports/mutation/mutation.json, with mutation.html beside it. Not part of `npm test`: it takes
 * minutes.
 *
 * Two environment variables narrow a run without changing the committed configuration:
 * `MUTATION_CONCURRENCY=1` runs one mutant at a time (Stryker's `--concurrency`; the default is the
 * config's 2), and `MUTATION_FILES=libs/cat/src/irt.ts,libs/cat/src/stop.ts` mutates only those
 * files (Stryker's `--mutate`; they must belong to the group run, whose tests are selected as usual).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { MUTATION_GROUPS } from './groups.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const reports = join(root, 'reports', 'mutation');
const wanted = process.argv.slice(2);
const envSchema = z.object({
  MUTATION_CONCURRENCY: z
    .string()
    .regex(/^[1-9][0-9]*$/u, 'must be a positive integer')
    .optional(),
  MUTATION_FILES: z.string().trim().optional(),
});
const env = envSchema.safeParse(process.env);
if (!env.success) {
  console.error(`bad environment: ${env.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
  process.exit(2);
}
const concurrency = env.data.MUTATION_CONCURRENCY;
const files = env.data.MUTATION_FILES;
const groups = wanted.length === 0 ? MUTATION_GROUPS : MUTATION_GROUPS.filter((g) => wanted.some((w) => g.name.startsWith(w)));
if (groups.length === 0) {
  console.error(`no group matches ${wanted.join(', ')}; groups: ${MUTATION_GROUPS.map((g) => g.name).join(', ')}`);
  process.exit(2);
}

// The package exports no bin path; its file sits in the root node_modules of the workspace.
const stryker = join(root, 'node_modules', '@stryker-mutator', 'core', 'bin', 'stryker.js');
const slug = (name: string) => name.replace(/\s*\(.*$/u, '').replace(/[^A-Za-z0-9]+/gu, '-');

type Report = { schemaVersion: string; thresholds: unknown; files: Record<string, { mutants: { status: string }[] }> };
const merged: Report[] = [];
let failed = false;
for (const group of groups) {
  console.log(`\n== ${group.name}`);
  const mutate = files === undefined || files === '' ? group.mutate.join(',') : files;
  const args = [stryker, 'run', join(here, 'stryker.config.json'), '--mutate', mutate];
  if (concurrency !== undefined) args.push('--concurrency', concurrency);
  const run = spawnSync(process.execPath, args, {
    cwd: root,
    stdio: 'inherit',
    // run-tests.ts reads the selection for the dry run, which has no mutant to route by.
    env: { ...process.env, MUTATION_GROUPS: group.name },
  });
  if (run.status !== 0 || !existsSync(join(reports, 'mutation.json'))) {
    failed = true;
    continue;
  }
  mkdirSync(join(reports, 'groups'), { recursive: true });
  // A run of some files keeps its own copy, so that runs file by file do not overwrite each other.
  const name =
    files === undefined || files === '' ? slug(group.name) : `${slug(group.name)}--${slug(files.replace(/\.ts\b|[^,]*\//gu, ''))}`;
  for (const ext of ['json', 'html']) copyFileSync(join(reports, `mutation.${ext}`), join(reports, 'groups', `${name}.${ext}`));
  merged.push(JSON.parse(readFileSync(join(reports, 'mutation.json'), 'utf8')) as Report);
}

if (merged.length > 0) {
  const first = merged[0] as Report;
  const report: Report = { ...first, files: Object.assign({}, ...merged.map((r) => r.files)) as Report['files'] };
  writeFileSync(join(reports, 'mutation.json'), JSON.stringify(report));
  writeFileSync(join(reports, 'mutation.html'), html(report));
  console.log('\nMutation score (killed + timed out over valid mutants):');
  for (const group of groups) {
    const prefixes = group.mutate.filter((g) => !g.startsWith('!')).map((g) => g.replace(/\*.*$/u, ''));
    const mutants = Object.entries(report.files)
      .filter(([file]) => prefixes.some((p) => file.startsWith(p)))
      .flatMap(([, f]) => f.mutants);
    const detected = mutants.filter((m) => m.status === 'Killed' || m.status === 'Timeout').length;
    const valid = mutants.filter((m) => !['CompileError', 'RuntimeError', 'Ignored'].includes(m.status)).length;
    if (valid > 0) console.log(`  ${group.name}: ${((100 * detected) / valid).toFixed(1)}% (${String(detected)}/${String(valid)})`);
  }
}
process.exitCode = failed ? 1 : 0;

/** Stryker's HTML report page (the same page its html reporter writes) for a merged report. */
function html(report: Report): string {
  const elements = createRequire(join(root, 'node_modules', '@stryker-mutator', 'core', 'package.json')).resolve(
    'mutation-testing-elements/dist/mutation-test-elements.js',
  );
  const script = readFileSync(elements, 'utf8');
  const json = JSON.stringify(report).replace(/</gu, '\\u003c');
  return `<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>Mutation testing</title><script>${script}</script></head>
<body>
<mutation-test-report-app titlePostfix="Stryker"></mutation-test-report-app>
<script>document.querySelector('mutation-test-report-app').report = ${json};</script>
</body>
</html>
`;
}
