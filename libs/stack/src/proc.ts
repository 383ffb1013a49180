import { processEnvironment } from './config.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { StackEnv } from './config.ts';

/** Receives server output line by line. */
export type LogFn = (line: string) => void;

/** Number of output lines kept for error messages. */
const TAIL_LINES = 50;

/** A running server child process. */
export interface ServerProcess {
  readonly name: string;
  readonly pid: number | undefined;
  /** True once the process has exited (or failed to spawn). */
  exited: () => boolean;
  /** Short description of how the process ended, e.g. "exited with code 1". */
  exitReason: () => string;
  /** The last output lines (stdout and stderr interleaved). */
  tail: () => string[];
  /** Resolves when the process has exited. */
  readonly done: Promise<void>;
  /** Sends a signal at once (SIGKILL to simulate a crash); resolves when the process is gone. */
  kill: (signal: NodeJS.Signals) => Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop: (graceMs?: number) => Promise<void>;
}

const live = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let hooksInstalled = false;

function killAllSync(signal: NodeJS.Signals): void {
  for (const child of live) {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
  live.clear();
  for (const dir of tempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
  tempDirs.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  // If the application handles this signal itself, let it shut down gracefully;
  // the 'exit' hook below still kills our children afterwards.
  if (process.listenerCount(signal) > 1) return;
  killAllSync('SIGTERM');
  process.removeListener(signal, onSignal);
  process.kill(process.pid, signal);
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => killAllSync('SIGTERM'));
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, onSignal);
}

/** Registers a temporary directory to be removed when the process exits, if not removed earlier. */
export function trackTempDir(dir: string): void {
  installHooks();
  tempDirs.add(dir);
}

/** Removes a temporary directory created for a server and stops tracking it. */
export async function removeTempDir(dir: string): Promise<void> {
  tempDirs.delete(dir);
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

function pipeLines(stream: Readable | null, onLine: (line: string) => void): void {
  if (stream === null) return;
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const parts = (partial + chunk).split(/\r?\n/);
    partial = parts.pop() ?? '';
    for (const p of parts) if (p !== '') onLine(p);
  });
  stream.on('end', () => {
    if (partial !== '') onLine(partial);
    partial = '';
  });
  // Output pipes must never keep the parent alive on their own.
  (stream as Readable & { unref?: () => void }).unref?.();
}

/**
 * Spawns a server binary as a child that is killed when this process exits. Its stdout and
 * stderr go to `log` (prefixed with `name`) when given; the last lines are always kept.
 * The child does not keep the Node event loop alive.
 */
export function spawnServer(
  name: string,
  bin: string,
  args: readonly string[],
  opts: { env?: StackEnv; log?: LogFn | undefined; cwd?: string } = {},
): ServerProcess {
  installHooks();
  const lines: string[] = [];
  const onLine = (line: string): void => {
    lines.push(line);
    if (lines.length > TAIL_LINES) lines.shift();
    opts.log?.(`[${name}] ${line}`);
  };
  const child = spawn(bin, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...(opts.env ?? processEnvironment()) },
    ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
  });
  live.add(child);
  child.unref();
  pipeLines(child.stdout, onLine);
  pipeLines(child.stderr, onLine);

  let exited = false;
  // Read through a function where `exited` may have changed during an await (narrowing cannot see that).
  const hasExited = (): boolean => exited;
  let reason = 'running';
  const done = new Promise<void>((resolve) => {
    child.once('error', (err) => {
      if (exited) return;
      exited = true;
      reason = `failed to start: ${err.message}`;
      live.delete(child);
      resolve();
    });
    // 'close' fires after the process exited and its output pipes are drained.
    child.once('close', (code, signal) => {
      if (exited) return;
      exited = true;
      reason = signal !== null ? `killed by ${signal}` : `exited with code ${String(code)}`;
      live.delete(child);
      resolve();
    });
  });

  return {
    name,
    pid: child.pid,
    exited: () => exited,
    exitReason: () => reason,
    tail: () => [...lines],
    done,
    async kill(signal: NodeJS.Signals): Promise<void> {
      if (exited) return;
      child.kill(signal);
      await done;
    },
    async stop(graceMs = 5000): Promise<void> {
      if (exited) return;
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), graceMs);
      });
      const result = await Promise.race([done.then(() => 'done' as const), timeout]);
      clearTimeout(timer);
      if (result === 'timeout' && !hasExited()) {
        opts.log?.(`[${name}] did not stop within ${graceMs} ms, sending SIGKILL`);
        child.kill('SIGKILL');
        await done;
      }
    },
  };
}

/** Formats a startup failure with the server's last output lines. */
export function startupError(proc: ServerProcess, what: string): Error {
  const tail = proc.tail();
  const out = tail.length > 0 ? `\n--- last ${tail.length} lines of ${proc.name} output ---\n${tail.join('\n')}` : '';
  return new Error(`${what} (${proc.name} ${proc.exitReason()})${out}`);
}
