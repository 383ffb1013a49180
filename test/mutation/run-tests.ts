/**
 * The command Stryker's command runner starts for every mutant (and once, unmutated, for the
 * dry run). Stryker names the active mutant in `__STRYKER_ACTIVE_MUTANT__`; the instrumented
 * sources mark each mutant with `stryMutAct_9fa48("<id>")`, so the file that holds it tells which
 * tests to run: those of its group that import it, directly or through other files of the
 * package (none when no test does). Without a mutant, or when no file holds it, every selected group's tests run.
 */
import { spawnSync } from 'node:child_process';
import { globSync, readFileSync } from 'node:fs';
import { basename, dirname, join, normalize } from 'node:path';
import { MUTATION_GROUPS } from './groups.ts';

/** Files matching `globs`, where a glob starting with `!` excludes. */
function expand(globs: readonly string[]): string[] {
  const include = globs.filter((g) => !g.startsWith('!'));
  const exclude = globs.filter((g) => g.startsWith('!')).map((g) => g.slice(1));
  return globSync(include, { exclude });
}

/** Relative `.ts` imports of a file, as paths from the repository root. */
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/from\s+'(\.{1,2}\/[^']+\.ts)'/gu)].map((m) => normalize(join(dirname(file), m[1] ?? '')));
}

/** The test files that reach `target` through relative imports. */
function testsReaching(tests: string[], target: string): string[] {
  return tests.filter((test) => {
    const seen = new Set<string>();
    const queue = [normalize(test)];
    while (queue.length > 0) {
      const file = queue.pop() ?? '';
      if (file === target) return true;
      if (seen.has(file)) continue;
      seen.add(file);
      try {
        queue.push(...imports(file));
      } catch {
        // an import that does not resolve to a file is not followed
      }
    }
    return false;
  });
}

function testFiles(): { source?: string; tests: string[] } {
  const mutant = process.env['__STRYKER_ACTIVE_MUTANT__'];
  const selected = process.env['MUTATION_GROUPS']?.split('\n');
  const groups = MUTATION_GROUPS.filter((g) => selected === undefined || selected.includes(g.name));
  if (mutant !== undefined) {
    const marker = `stryMutAct_9fa48("${mutant}")`;
    for (const group of groups) {
      const file = expand(group.mutate).find((f) => readFileSync(f, 'utf8').includes(marker));
      if (file === undefined) continue;
      const tests = expand(group.tests);
      // Tests reach the package's other files only through their relative imports (a package
      // import resolves outside the sandbox, to unmutated code): a file no test reaches has
      // mutants nothing can detect, and running no test reports them as survivors at once.
      return { source: file, tests: testsReaching(tests, normalize(file)) };
    }
  }
  return { tests: expand(groups.flatMap((g) => g.tests)) };
}

/**
 * The tests named after the mutated file (`estimate.test.ts`, `step-method.test.ts` for step.ts),
 * and the other tests that reach it: the own tests run first, and most mutants fail them, so the
 * others need not run. The verdict is the same as running all of them at once.
 */
export function phases(tests: readonly string[], source: string | undefined): { own: string[]; rest: string[] } {
  if (source === undefined) return { own: [], rest: [...tests] };
  const base = basename(source, '.ts');
  const own = tests.filter((t) => {
    const name = basename(t);
    return name.startsWith(`${base}.`) || name.startsWith(`${base}-`);
  });
  return { own, rest: tests.filter((t) => !own.includes(t)) };
}

/**
 * How long a file's own tests may run before the mutant counts as hanging (a loop that no longer
 * ends): they take 0.3–2 s unmutated, under load. Stryker's own timeout (the dry run's time, all
 * of the group's tests, plus 4 s) stays for the rest; a hang caught here is reported by Stryker
 * as killed rather than timed out, and both count as detected.
 */
const OWN_TESTS_TIMEOUT_MS = 6000;

export function run(files: readonly string[], timeoutMs?: number): number {
  if (files.length === 0) return 0;
  // One process for all the files instead of one each: a mutant of libs/protocol or the gateway
  // costs about a third of the time. No file of a group has top-level beforeEach/afterEach hooks,
  // which would then apply to the other files' tests too.
  const result = spawnSync(process.execPath, ['--test', '--test-isolation=none', '--test-reporter=dot', '--test-timeout=60000', ...files], {
    stdio: ['ignore', 'inherit', 'inherit'],
    killSignal: 'SIGKILL',
    ...(timeoutMs === undefined ? {} : { timeout: timeoutMs }),
  });
  if (result.signal === 'SIGKILL') console.error(`the tests ran longer than ${timeoutMs} ms: the mutant hangs them`);
  return result.status ?? 1;
}

if (import.meta.main) {
  const { source, tests } = testFiles();
  const { own, rest } = phases(tests, source);
  const status = run(own, OWN_TESTS_TIMEOUT_MS);
  process.exitCode = status !== 0 ? status : run(rest);
}
