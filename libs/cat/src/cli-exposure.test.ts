import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { UsageError } from './cli-common.ts';
import { parseExposureFlags } from './cli-exposure.ts';

const FLAG_OPTIONS = {
  'sympson-hetter': { type: 'string' },
  'conditional-sh': { type: 'string' },
  'theta-cuts': { type: 'string' },
  'a-strata': { type: 'string' },
  'b-blocking': { type: 'boolean' },
  'cut-theta': { type: 'string' },
} as const;

const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));

function run(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'simulate', '--generate', '90', '--length', '9', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('cli simulate: exposure options', () => {
  it('calibrates conditional Sympson–Hetter on a-strata and writes K per item and θ stratum', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cat-exposure-'));
    const json = join(dir, 'out.json');
    const args = ['--simulees', '60', '--conditional-sh', '0.3', '--theta-cuts=-1,0,1', '--a-strata', '3', '--b-blocking'];
    const r = run([...args, '--sh-iterations', '2', '--sh-simulees', '60', '--json', json]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /conditional Sympson–Hetter calibration \(r_max 0\.3 in each of 4 θ strata, cuts -1\.00, 0\.00, 1\.00; 2 iterations × 60 simulees\)/,
    );
    assert.match(r.stdout, /a-stratified \(3 strata, b-blocking\), conditional Sympson–Hetter r_max=0\.3/);
    assert.match(r.stdout, /items above r_max\s+\d+/);
    assert.match(r.stdout, /max exposure by true-θ stratum( \d\.\d{3}){4} \(simulees( \d+){4}\)/);
    const out = JSON.parse(readFileSync(json, 'utf8')) as {
      config: { aStratification: unknown; conditionalSympsonHetter: unknown };
      exposureKByStratum: number[][];
      byThetaStratum: { simulees: number[] };
    };
    assert.deepEqual(out.config.aStratification, { strata: 3, bBlocking: true });
    assert.deepEqual(out.config.conditionalSympsonHetter, { cuts: [-1, 0, 1] });
    assert.equal(out.exposureKByStratum.length, 90);
    assert.ok(out.exposureKByStratum.every((row) => row.length === 4 && row.every((k) => k > 0 && k <= 1)));
    assert.equal(
      out.byThetaStratum.simulees.reduce((a, b) => a + b, 0),
      60,
    );
  });

  it('refuses bad exposure options with exit 2 and the flag named', () => {
    const cases: [string[], RegExp][] = [
      [['--a-strata', '1'], /--a-strata must be at least 2/],
      [['--a-strata', '2.5'], /--a-strata must be an integer/],
      [['--a-strata', '10'], /--a-strata 10 exceeds --length 9/],
      [['--conditional-sh', '0'], /--conditional-sh must be in \(0, 1\]/],
      [['--conditional-sh', 'x'], /--conditional-sh must be a number/],
      [['--conditional-sh', '0.2', '--theta-cuts', '1,0'], /--theta-cuts must increase/],
      [['--conditional-sh', '0.2', '--theta-cuts', '0,,1'], /--theta-cuts/],
      [['--theta-cuts', '0'], /--theta-cuts needs --conditional-sh/],
      [['--b-blocking'], /--b-blocking needs --a-strata/],
      [['--sympson-hetter', '0.2', '--conditional-sh', '0.2'], /either --sympson-hetter or --conditional-sh/],
      [['--a-strata', '3', '--cut-theta', '0'], /exposure options do not apply to --cut-theta/],
    ];
    // Each case through the flag parser; two of them through the command for the exit code.
    for (const [args, message] of cases) {
      const { values } = parseArgs({ args, options: FLAG_OPTIONS, strict: false });
      if (args.includes('--cut-theta')) continue;
      assert.throws(
        () => parseExposureFlags(values, 9),
        (e: unknown) => e instanceof UsageError && message.test(e.message),
        args.join(' '),
      );
    }
    for (const [args, message] of [cases[0], cases[10]] as [string[], RegExp][]) {
      const r = run(['--simulees', '5', ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}`);
      assert.match(r.stderr, message, args.join(' '));
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
  });
});
