/**
 * The client worker processes (worker.ts) and the echo server (echo-server.ts), forked with IPC.
 * A command goes to every worker with its share of the work; the pool merges progress into one
 * bar and resolves with every worker's result.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Command, WorkerMessage } from './messages.ts';
import { ProgressBar } from './progress.ts';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
const ECHO = fileURLToPath(new URL('./echo-server.ts', import.meta.url));

/** Distributes `messages` that are commands without `seq`. */
type Unsequenced<C> = C extends Command ? Omit<C, 'seq'> : never;

type Pending = { resolve: (r: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

export class WorkerPool {
  private seq = 0;
  private readonly pending = new Map<string, Pending>();
  private readonly progress = new Map<number, { done: number; total: number; note: string }[]>();
  private bar: ProgressBar | undefined;

  readonly children: ChildProcess[];

  private constructor(children: ChildProcess[]) {
    this.children = children;
    children.forEach((child, w) => {
      child.on('message', (m: WorkerMessage) => this.onMessage(w, m));
      child.once('exit', (code, signal) => {
        for (const [key, p] of this.pending) {
          if (key.startsWith(`${w}:`)) {
            clearTimeout(p.timer);
            this.pending.delete(key);
            p.reject(new Error(`worker ${w} exited (${signal ?? String(code)})`));
          }
        }
      });
    });
  }

  /** Forks `n` workers and waits until each says it is ready. */
  static async start(n: number): Promise<WorkerPool> {
    const children = Array.from({ length: n }, () =>
      fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' }),
    );
    await Promise.all(
      children.map(
        (child, i) =>
          new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`worker ${i} did not start within 20 s`)), 20_000);
            child.once('error', reject);
            child.on('message', function onReady(m: WorkerMessage) {
              if (m.type !== 'ready') return;
              clearTimeout(timer);
              child.off('message', onReady);
              resolve();
            });
          }),
      ),
    );
    return new WorkerPool(children);
  }

  get size(): number {
    return this.children.length;
  }

  pids(): number[] {
    return this.children.map((c) => c.pid ?? -1);
  }

  /**
   * Sends one command per worker (built from the worker index) and resolves with all results, in
   * worker order. `label` names the progress bar; `timeoutMs` bounds the whole command.
   */
  async run<R>(label: string | undefined, timeoutMs: number, build: (w: number) => Unsequenced<Command>): Promise<R[]> {
    const seq = ++this.seq;
    this.bar = label === undefined ? undefined : new ProgressBar(label);
    this.progress.set(
      seq,
      this.children.map(() => ({ done: 0, total: 0, note: '' })),
    );
    try {
      return await Promise.all(
        this.children.map(
          (child, w) =>
            new Promise<R>((resolve, reject) => {
              const key = `${w}:${seq}`;
              const timer = setTimeout(() => {
                this.pending.delete(key);
                reject(new Error(`worker ${w}: ${label ?? 'command'} did not finish within ${timeoutMs} ms`));
              }, timeoutMs);
              this.pending.set(key, { resolve: (r) => resolve(r as R), reject, timer });
              child.send({ ...build(w), seq });
            }),
        ),
      );
    } finally {
      this.progress.delete(seq);
    }
  }

  /** Ends the current progress bar with a closing note. */
  barDone(note: string): void {
    this.bar?.done(note);
    this.bar = undefined;
  }

  private onMessage(w: number, m: WorkerMessage): void {
    if (m.type === 'progress') {
      const all = this.progress.get(m.seq);
      if (all === undefined) return;
      all[w] = { done: m.done, total: m.total, note: m.note };
      const done = all.reduce((a, p) => a + p.done, 0);
      const total = all.reduce((a, p) => a + p.total, 0);
      this.bar?.update(done, total, all.length > 1 ? `w0: ${all[0]?.note ?? ''}` : (all[0]?.note ?? ''));
      return;
    }
    if (m.type !== 'result' && m.type !== 'failed') return;
    const key = `${w}:${m.seq}`;
    const p = this.pending.get(key);
    if (p === undefined) return;
    clearTimeout(p.timer);
    this.pending.delete(key);
    if (m.type === 'result') p.resolve(m.result);
    else p.reject(new Error(`worker ${w}: ${m.message}`));
  }

  /** Disconnects every worker (they exit on disconnect) and waits for them, killing stragglers. */
  async close(): Promise<void> {
    await Promise.all(this.children.map((c) => stopChild(c)));
  }
}

/** A running echo server child. */
export type EchoServer = { child: ChildProcess; port: number; close(): Promise<void> };

export async function startEchoServer(): Promise<EchoServer> {
  const child = fork(ECHO, ['--port', '0'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('echo server did not start within 20 s')), 20_000);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`echo server exited with ${String(code)}`)));
    child.on('message', (m: { type?: string; port?: number }) => {
      if (m.type === 'listening' && typeof m.port === 'number') {
        clearTimeout(timer);
        resolve(m.port);
      }
    });
  });
  return { child, port, close: () => stopChild(child) };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.connected) child.disconnect();
  else child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
