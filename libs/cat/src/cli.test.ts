import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { estimateEap } from './estimate.ts';
import { info3pl } from './irt.ts';

const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));

function run(args: string[], input?: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { input: input ?? '', encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('cli estimate', () => {
  const bank: [number, number, number][] = [
    [1, 0, 0.2],
    [1.2, -1, 0.2],
    [0.8, 1, 0.25],
    [1.5, 0.5, 0.2],
    [1.1, -0.3, 0.2],
  ];
  const input = { bank, administered: [0, 2], responses: [1, 0] };

  it('prints θ, SE and the most informative next item (stdin)', () => {
    const r = run(['estimate'], JSON.stringify(input));
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { theta: number; se: number; next_item: number | null };
    const e = estimateEap(
      [
        { a: 1, b: 0, c: 0.2 },
        { a: 0.8, b: 1, c: 0.25 },
      ],
      [1, 0],
    );
    assert.ok(Math.abs(out.theta - e.theta) < 1e-12 && Math.abs(out.se - e.se) < 1e-12);
    const infos = bank.map(([a, b, c], i) => ([0, 2].includes(i) ? -1 : info3pl(e.theta, a, b, c)));
    assert.equal(out.next_item, infos.indexOf(Math.max(...infos)));
    assert.equal(r.stdout.trim().split('\n').length, 1);
  });

  it('reads a file and returns next_item null when everything was administered', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cat-cli-'));
    const file = join(dir, 'in.json');
    writeFileSync(file, JSON.stringify({ bank: [[1, 0, 0]], administered: [0], responses: [1] }));
    const r = run(['estimate', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { next_item: null }).next_item, null);
  });

  it('rejects bad input with exit code 2 and a clear message', () => {
    for (const bad of [
      'not json',
      JSON.stringify({ ...input, responses: [1] }),
      JSON.stringify({ ...input, administered: [0, 9] }),
      JSON.stringify({ ...input, bank: [[-1, 0, 0]] }),
    ]) {
      const r = run(['estimate'], bad);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /estimate: /);
      assert.equal(r.stdout, '');
    }
  });
});

describe('cli import-check and simulate', () => {
  it('import-check prints the item count or the errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cat-cli-'));
    const good = join(dir, 'bank.yaml');
    writeFileSync(good, '- {id: q1, skill: s, stem: "1+1?", options: [{id: a, text: "2"}, {id: b, text: "3"}], key: a}\n');
    const ok = run(['import-check', good]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /1 item\(s\) OK/);
    const bad = join(dir, 'bank.json');
    writeFileSync(bad, JSON.stringify([{ id: 'q1', skill: 's', stem: 'x', options: [{ id: 'a', text: 'a' }], key: 'b' }]));
    const ko = run(['import-check', bad]);
    assert.equal(ko.code, 1);
    assert.match(ko.stdout, /item "q1", field options/);
  });

  it('simulate runs a small generated bank and writes SVG/JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cat-cli-'));
    const r = run([
      'simulate',
      '--generate',
      '60',
      '--simulees',
      '30',
      '--length',
      '5',
      '--randomesque',
      '2',
      '--svg',
      join(dir, 'o.svg'),
      '--json',
      join(dir, 'o.json'),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /RMSE\s+\d/);
    assert.match(r.stdout, /test overlap rate/);
    const u = run(['simulate', '--length', 'x']);
    assert.equal(u.code, 2);
  });
});
