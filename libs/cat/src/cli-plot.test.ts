import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { XMLValidator } from 'fast-xml-parser';

const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));

function run(args: string[], command = 'plot'): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, command, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('cli plot', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cat-plot-'));
  const bank = join(dir, 'bank.json');
  writeFileSync(
    bank,
    JSON.stringify([
      { id: 'q1', skill: 's', a: 1.2, b: 0, c: 0.2 },
      { id: 'q/2', skill: 's', a: 0.9, b: 1, c: 0.25 },
      { id: 'likert', skill: 's', a: 1, b: 0, c: 0, poly: { model: 'GRM', a: 1.2, b: [-1, 0, 1.5] } },
    ]),
  );

  it('writes the test information plot and one plot per item', () => {
    const out = join(dir, 'plots');
    const r = run(['--bank', bank, '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(out).sort(), ['item-likert.svg', 'item-q1.svg', 'item-q_2.svg', 'test-information.svg']);
    for (const f of readdirSync(out)) {
      // eslint-disable-next-line @typescript-eslint/no-deprecated
      assert.equal(XMLValidator.validate(readFileSync(join(out, f), 'utf8')), true, f);
    }
    const likert = readFileSync(join(out, 'item-likert.svg'), 'utf8');
    assert.equal(likert.match(/data-curve="P\(X=\d\)"/g)?.length, 4);
    assert.match(likert, /Item likert \(GRM\)/);
    assert.match(readFileSync(join(out, 'test-information.svg'), 'utf8'), /data-curve="se"/);
  });

  it('plots only the listed items, and refuses bad flags with exit 2', () => {
    const out = join(dir, 'some');
    const r = run(['--bank', bank, '--out', out, '--items', 'q1']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(out).sort(), ['item-q1.svg', 'test-information.svg']);
    const cases: [string[], RegExp][] = [
      [['--bank', bank], /--out <dir> is required/],
      [['--bank', bank, '--out', out, '--items', 'nope'], /no item "nope" in the bank/],
      [['--bank', bank, '--out', out, '--theta-min', '2', '--theta-max', '1'], /--theta-min must be below --theta-max/],
      [['--bank', join(dir, 'missing.json'), '--out', out], /cannot read bank/],
    ];
    for (const [args, message] of cases) {
      const e = run(args);
      assert.equal(e.code, 2, args.join(' '));
      assert.match(e.stderr, message);
    }
  });

  it('simulate --plots writes the simulation report and the bank information curves', () => {
    const out = join(dir, 'sim');
    const r = run(['--generate', '40', '--simulees', '20', '--length', '5', '--plots', out], 'simulate');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(out).sort(), ['simulation.svg', 'test-information.svg']);
    const info = readFileSync(join(out, 'test-information.svg'), 'utf8');
    // eslint-disable-next-line @typescript-eslint/no-deprecated
    assert.equal(XMLValidator.validate(info), true);
    assert.match(info, /Test information and standard error \(40 items\)/);
  });
});
