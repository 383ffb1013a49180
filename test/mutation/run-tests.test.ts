import assert from 'node:assert/strict';
import { test } from 'node:test';
import { phases } from './run-tests.ts';

test('a mutant runs its own file’s tests first and the other reaching tests after them', () => {
  const tests = [
    'libs/cat/src/select.test.ts',
    'libs/cat/src/step.test.ts',
    'libs/cat/src/step-method.test.ts',
    'libs/cat/src/strata.test.ts',
  ];
  assert.deepEqual(phases(tests, 'libs/cat/src/step.ts'), [
    ['libs/cat/src/step.test.ts', 'libs/cat/src/step-method.test.ts'],
    ['libs/cat/src/select.test.ts', 'libs/cat/src/strata.test.ts'],
  ]);
});

test('a name that only begins like the file is not its own test', () => {
  assert.deepEqual(phases(['libs/cat/src/stepwise.test.ts'], 'libs/cat/src/step.ts'), [['libs/cat/src/stepwise.test.ts']]);
});

test('without a mutated file, or without own tests, every test runs in one phase', () => {
  const tests = ['a/x.test.ts', 'a/y.test.ts'];
  assert.deepEqual(phases(tests, undefined), [tests]);
  assert.deepEqual(phases(tests, 'a/z.ts'), [tests]);
  assert.deepEqual(phases([], 'a/z.ts'), []);
});
