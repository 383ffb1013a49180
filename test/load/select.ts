/**
 * Scenario 4: next-item selection on a 5,000-item bank. Runs libs/cat/bench/select.bench.ts as a
 * child process and reads its figures from its output (the raw lines are kept in the report too).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SELECT_BENCH = fileURLToPath(new URL('../../libs/cat/bench/select.bench.ts', import.meta.url));

export type SelectResult = {
  items: number;
  runs: number;
  /** The bench's own baseline loop (3PL information over the bank + argmax), µs. */
  baseline: { medianUs: number; p99Us: number } | undefined;
  scenarios: {
    name: string;
    medianUs: number;
    p99Us: number;
    ratioToBaseline: number | undefined;
    coldMedianUs?: number;
    coldP99Us?: number;
  }[];
  output: string[];
  pid: number | undefined;
};

function us(value: string, unit: string): number {
  const v = Number(value);
  if (unit === 'ms') return v * 1000;
  if (unit === 'ns') return v / 1000;
  return v;
}

export async function runSelectBench(opts: {
  items: number;
  runs: number;
  timeoutMs: number;
  onPid?: (pid: number) => void;
}): Promise<SelectResult> {
  const child = spawn(process.execPath, [SELECT_BENCH, '--items', String(opts.items), '--runs', String(opts.runs)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid !== undefined) opts.onPid?.(child.pid);
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  clearTimeout(timer);
  if (code !== 0) throw new Error(`select.bench.ts exited with ${String(code)}: ${err.slice(-2000)}`);
  const lines = out.split('\n').filter((l) => l.trim() !== '');
  const num = String.raw`([\d.]+)\s*(µs|us|ms|ns)`;
  let baseline: SelectResult['baseline'];
  const scenarios: SelectResult['scenarios'] = [];
  for (const line of lines) {
    const b = new RegExp(`^baseline.*median ${num}, p99 ${num}`).exec(line);
    if (b !== null) {
      baseline = { medianUs: us(b[1] ?? '', b[2] ?? ''), p99Us: us(b[3] ?? '', b[4] ?? '') };
      continue;
    }
    const s = new RegExp(`^nextStep\\W+(.*?): median ${num}, p99 ${num}(?:, ratio to baseline ([\\d.]+))?`).exec(line);
    if (s !== null) {
      scenarios.push({
        name: s[1] ?? '?',
        medianUs: us(s[2] ?? '', s[3] ?? ''),
        p99Us: us(s[4] ?? '', s[5] ?? ''),
        ratioToBaseline: s[6] === undefined ? undefined : Number(s[6]),
      });
      continue;
    }
    const c = new RegExp(`^\\s+same, new bank array.*median ${num}, p99 ${num}`).exec(line);
    const last = scenarios[scenarios.length - 1];
    if (c !== null && last !== undefined) {
      last.coldMedianUs = us(c[1] ?? '', c[2] ?? '');
      last.coldP99Us = us(c[3] ?? '', c[4] ?? '');
    }
  }
  return { items: opts.items, runs: opts.runs, baseline, scenarios, output: lines, pid: child.pid };
}
