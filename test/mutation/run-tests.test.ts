import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { phases, run } from './run-tests.ts';

test('a mutant runs its own file’s tests first and the other reaching tests after them', () => {
  const tests = [
    'libs/cat/src/select.test.ts',
    'libs/cat/src/step.test.ts',
    'libs/cat/src/step-method.test.ts',
    'libs/cat/src/strata.test.ts',
  ];
  assert.deepEqual(phases(tests, 'libs/cat/src/step.ts'), {
    own: ['libs/cat/src/step.test.ts', 'libs/cat/src/step-method.test.ts'],
    rest: ['libs/cat/src/select.test.ts', 'libs/cat/src/strata.test.ts'],
  });
});

test('a name that only begins like the file is not its own test', () => {
  assert.deepEqual(phases(['libs/cat/src/stepwise.test.ts'], 'libs/cat/src/step.ts'), { own: [], rest: ['libs/cat/src/stepwise.test.ts'] });
});

test('without a mutated file, or without own tests, every test runs after none', () => {
  const tests = ['a/x.test.ts', 'a/y.test.ts'];
  assert.deepEqual(phases(tests, undefined), { own: [], rest: tests });
  assert.deepEqual(phases(tests, 'a/z.ts'), { own: [], rest: tests });
  assert.deepEqual(phases([], 'a/z.ts'), { own: [], rest: [] });
});

test('tests that run past the time limit are stopped and fail, as a hanging mutant should', () => {
  const dir = mkdtempSync(join(tmpdir(), 'run-tests-'));
  try {
    const hang = join(dir, 'hang.test.ts');
    writeFileSync(hang, "import { test } from 'node:test';\ntest('loops', () => {\n  for (;;);\n});\n");
    const pass = join(dir, 'pass.test.ts');
    writeFileSync(pass, "import { test } from 'node:test';\ntest('passes', () => {});\n");
    const started = Date.now();
    assert.notEqual(run([hang], 1500), 0);
    assert.ok(Date.now() - started < 10_000);
    assert.equal(run([pass], 10_000), 0);
    assert.equal(run([]), 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
