import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@ap/logging';
import { closeAll } from './index.ts';
import type { Closable } from './index.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** A logger whose lines are kept as parsed objects. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: createLogger({ service: 'lifecycle-test', destination }), lines };
}

describe('closeAll', () => {
  test('closes in the reverse order of start and reports success', async () => {
    const { log } = capturingLogger();
    const order: string[] = [];
    const closables: Closable[] = ['nats', 'database', 'server'].map((name) => ({
      name,
      close: async () => {
        await new Promise((r) => setImmediate(r));
        order.push(name);
      },
    }));
    assert.equal(await closeAll(closables, log), true);
    assert.deepEqual(order, ['server', 'database', 'nats']);
  });

  test('a failing component is logged by name, the others are still closed, and the result is false', async () => {
    const { log, lines } = capturingLogger();
    const order: string[] = [];
    const closables: Closable[] = [
      { name: 'first', close: () => void order.push('first') },
      {
        name: 'broken',
        close: () => {
          throw new Error('socket already gone');
        },
      },
      { name: 'last', close: () => void order.push('last') },
    ];
    assert.equal(await closeAll(closables, log), false);
    assert.deepEqual(order, ['last', 'first']);
    const failure = lines.find((l) => l['msg'] === 'close failed');
    assert.equal(failure?.['component'], 'broken');
    assert.match(JSON.stringify(failure['err']), /socket already gone/);
  });

  test('a rejected close counts as a failure too', async () => {
    const { log } = capturingLogger();
    assert.equal(await closeAll([{ name: 'x', close: () => Promise.reject(new Error('late')) }], log), false);
    assert.equal(await closeAll([], log), true);
  });
});

/**
 * A process that runs `runUntilSignal` with two components (`first`, then `second`) whose
 * second one behaves as `mode` says, prints `ready` once started, and is then sent `signal`.
 */
async function runChild(
  mode: 'ok' | 'throw' | 'hang' | 'fail-start',
  signal: NodeJS.Signals | undefined,
): Promise<{ code: number | null; out: string[]; logs: Record<string, unknown>[]; ms: number }> {
  const script = `
    import { runUntilSignal } from './libs/lifecycle/src/index.ts';
    import { createLogger } from '@ap/logging';
    const mode = ${JSON.stringify(mode)};
    setInterval(() => {}, 1000);
    await runUntilSignal({
      log: createLogger({ service: 'child' }),
      timeoutMs: 400,
      start: async () => {
        if (mode === 'fail-start') throw new Error('no database');
        return [
          { name: 'first', close: () => { console.log('closed first'); } },
          { name: 'second', close: mode === 'hang' ? () => new Promise(() => {}) : mode === 'throw' ? () => { throw new Error('boom'); } : () => { console.log('closed second'); } },
        ];
      },
    });
    console.log('ready');
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let buffered = '';
  const startedAt = Date.now();
  let signalledAt = startedAt;
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      if (line === 'ready' && signal !== undefined) {
        signalledAt = Date.now();
        child.kill(signal);
      }
    }
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  const logs = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { code, out: lines.filter((l) => !l.startsWith('{')), logs, ms: Date.now() - signalledAt };
}

describe('runUntilSignal', () => {
  test('SIGTERM closes the components in reverse order and exits 0', async () => {
    const r = await runChild('ok', 'SIGTERM');
    assert.deepEqual(r.out, ['ready', 'closed second', 'closed first']);
    assert.equal(r.code, 0);
    // pino writes on its own schedule: its lines are checked as a set.
    assert.deepEqual(r.logs.map((l) => l['msg']).sort(), ['shutting down', 'stopped']);
    assert.equal(r.logs.find((l) => l['msg'] === 'shutting down')?.['signal'], 'SIGTERM');
  });

  test('SIGINT does the same', async () => {
    const r = await runChild('ok', 'SIGINT');
    assert.deepEqual(r.out, ['ready', 'closed second', 'closed first']);
    assert.equal(r.code, 0);
    assert.equal(r.logs.find((l) => l['msg'] === 'shutting down')?.['signal'], 'SIGINT');
  });

  test('a component that fails to close: the rest still close, the exit code is 1', async () => {
    const r = await runChild('throw', 'SIGTERM');
    assert.deepEqual(r.out, ['ready', 'closed first']);
    assert.equal(r.code, 1);
    assert.ok(r.logs.some((l) => l['msg'] === 'close failed' && l['component'] === 'second'));
  });

  test('a component that never closes: the process exits 1 at the shutdown deadline', async () => {
    const r = await runChild('hang', 'SIGTERM');
    assert.equal(r.code, 1);
    assert.deepEqual(r.out, ['ready']);
    assert.ok(r.logs.some((l) => l['msg'] === 'shutdown deadline passed; exiting'));
    assert.ok(r.ms >= 400, `exited ${r.ms} ms after the signal, before the 400 ms deadline`);
  });

  test('a failed start is logged as fatal and exits 1 without waiting for a signal', async () => {
    const r = await runChild('fail-start', undefined);
    assert.equal(r.code, 1);
    const fatal = r.logs.find((l) => l['msg'] === 'start-up failed');
    assert.equal(fatal?.['level'], 60);
    assert.match(JSON.stringify(fatal['err']), /no database/);
  });
});
