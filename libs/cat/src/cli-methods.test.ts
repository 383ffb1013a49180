import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { estimateTheta } from './methods.ts';
import { itemInformation } from './models.ts';
import type { AnyItemParams } from './models.ts';

const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));

function run(args: string[], input?: unknown): { code: number | null; stdout: string; stderr: string } {
  const text = typeof input === 'string' ? input : JSON.stringify(input ?? {});
  const r = spawnSync(process.execPath, [CLI, ...args], { input: text, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const bank = [
  [1, 0, 0.2],
  { model: 'GRM', a: 1.2, b: [-1, 0, 1.5] },
  [1.4, 0.8, 0.15],
  { model: 'GPCM', a: 0.9, b: [-0.5, 0.4, 1.1] },
  [0.9, -1.2, 0.2],
];
const items: AnyItemParams[] = bank.map((e) =>
  Array.isArray(e) ? { a: e[0] as number, b: e[1] as number, c: e[2] as number } : (e as AnyItemParams),
);

describe('cli estimate: methods and polytomous items', () => {
  it('each method (default EAP) gives estimateTheta’s θ and SE, and the next item has the most information', () => {
    for (const method of [undefined, 'EAP', 'MAP', 'ML', 'WLE'] as const) {
      const r = run(['estimate'], { bank, administered: [1, 0, 3], responses: [2, 1, 1], ...(method ? { method } : {}) });
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { theta: number; se: number; next_item: number };
      assert.deepEqual(Object.keys(out), ['theta', 'se', 'next_item']);
      const e = estimateTheta(method ?? 'EAP', [items[1], items[0], items[3]] as AnyItemParams[], [2, 1, 1]);
      assert.equal(out.theta, e.theta, method);
      assert.equal(out.se, e.se, method);
      const want = itemInformation(items[2] as AnyItemParams, e.theta) > itemInformation(items[4] as AnyItemParams, e.theta) ? 2 : 4;
      assert.equal(out.next_item, want);
    }
  });

  it('ML on an all-correct pattern returns the bound +4 (the documented rule), not null', () => {
    const r = run(['estimate'], { bank, administered: [0, 2], responses: [1, 1], method: 'ML' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { theta: number }).theta, 4);
  });
});

describe('cli: edge cases exit 2 naming the field', () => {
  const cases: [string, unknown, RegExp][] = [
    [
      '|b| beyond 10',
      {
        bank: [
          [2, -1e308, 0],
          [1, 0, 0],
        ],
        administered: [0],
        responses: [1],
      },
      /bank\[0\]\[1\]/,
    ],
    [
      'a beyond 10',
      {
        bank: [
          [1e200, 0, 0],
          [1, 0, 0],
        ],
        administered: [],
        responses: [],
      },
      /bank\[0\]\[0\]/,
    ],
    ['c = 1', { bank: [[1, 0, 1]], administered: [], responses: [] }, /bank\[0\]\[2\]/],
    ['D beyond 5', { bank: [[1, 0, 0]], administered: [], responses: [], D: 1e200 }, /D:/],
    ['prior SD 0', { bank: [[1, 0, 0]], administered: [], responses: [], prior: { mean: 0, sd: 0 } }, /prior\.sd/],
    ['unknown method', { bank: [[1, 0, 0]], administered: [], responses: [], method: 'MLE' }, /method/],
    ['category out of range', { bank, administered: [1], responses: [4] }, /responses\[0\]: category 4/],
    ['GRM thresholds not increasing', { bank: [{ model: 'GRM', a: 1, b: [1, 0] }], administered: [], responses: [] }, /bank\[0\]\.b/],
    ['dichotomous response 2', { bank: [[1, 0, 0]], administered: [0], responses: [2] }, /responses\[0\]/],
  ];
  for (const [name, input, field] of cases) {
    it(name, () => {
      const r = run(['estimate'], input);
      assert.equal(r.code, 2, r.stdout);
      assert.match(r.stderr, field);
      assert.equal(r.stdout, '');
    });
  }

  it('simulate reports a missing bank file and a bad bank like estimate, without a stack trace', () => {
    const missing = run(['simulate', '--bank', join(tmpdir(), 'no-such-bank.json')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /simulate: cannot read bank .*no-such-bank\.json/);
    assert.doesNotMatch(missing.stderr, /\n\s+at /);
    const dir = mkdtempSync(join(tmpdir(), 'cat-bank-'));
    const file = join(dir, 'bank.json');
    writeFileSync(
      file,
      JSON.stringify({
        bank: [
          [1, 0, 0.2],
          [0, 1, 2],
        ],
      }),
    );
    const bad = run(['simulate', '--bank', file, '--length', '1', '--simulees', '5']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /bank\[1\]\[0\].*\n.*bank\[1\]\[2\]/);
  });
});

describe('cli simulate: classification', () => {
  it('reports decision accuracy and mean length; bad settings exit 2', () => {
    const r = run([
      'simulate',
      '--generate',
      '100',
      '--simulees',
      '60',
      '--min-items',
      '5',
      '--length',
      '20',
      '--cut-theta',
      '0.5',
      '--classify',
      'ci',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /mean test length\s+\d+\.\d\d/);
    assert.match(r.stdout, /accuracy \(decided\)\s+\d+\.\d%/);
    const badMethod = run(['simulate', '--method', 'MLE']);
    assert.equal(badMethod.code, 2);
    assert.match(badMethod.stderr, /--method must be one of EAP, MAP, ML, WLE/);
    const bad = run(['simulate', '--cut-theta', '0.5', '--classify', 'sprt', '--alpha', '0.7']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--alpha/);
  });
});
