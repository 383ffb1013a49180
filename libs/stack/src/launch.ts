import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, sleep } from './net.ts';
import { removeTempDir, spawnServer, startupError, trackTempDir, type LogFn, type ServerProcess } from './proc.ts';
import type { StackEnv } from './config.ts';

/** Options shared by the local server starters. */
export interface LocalServerOptions {
  /** Data directory to use (kept on close); default: a fresh temp dir removed on close. */
  dir?: string;
  /** Receives each output line of the server; default: output is discarded (last lines kept for errors). */
  log?: LogFn;
  /** Environment for tool lookup and the child (default: this process's environment). */
  env?: StackEnv;
  /** How long to wait for the server to become ready (ms). */
  timeoutMs?: number;
  /** Listen on this port (to restart a server where clients expect it); default: a free port. */
  port?: number;
}

/** A running local server. */
export interface Launched {
  port: number;
  proc: ServerProcess;
  close: () => Promise<void>;
}

/** Prepares the data directory: the given one (created if needed) or a new temp dir. */
export async function dataDir(prefix: string, dir: string | undefined): Promise<{ dir: string; temp: boolean }> {
  if (dir !== undefined) {
    await mkdir(dir, { recursive: true });
    return { dir, temp: false };
  }
  const tmp = await mkdtemp(join(tmpdir(), `ap-stack-${prefix}-`));
  trackTempDir(tmp);
  return { dir: tmp, temp: true };
}

/**
 * Starts `bin` on a free port and polls `ready(port)` until it resolves true or the deadline
 * passes. Retries with a new port when the server lost a race for its port.
 */
export async function launch(spec: {
  name: string;
  bin: string;
  args: (port: number) => string[];
  ready: (port: number) => Promise<boolean>;
  env: StackEnv;
  log: LogFn | undefined;
  timeoutMs: number;
  cleanupDir?: string;
  port?: number | undefined;
}): Promise<Launched> {
  const maxAttempts = 3;
  for (let attempt = 1; ; attempt++) {
    const port = spec.port ?? (await freePort());
    const proc = spawnServer(spec.name, spec.bin, spec.args(port), { env: spec.env, log: spec.log });
    const deadline = Date.now() + spec.timeoutMs;
    let ok = false;
    while (!proc.exited() && Date.now() < deadline) {
      if (await spec.ready(port).catch(() => false)) {
        ok = true;
        break;
      }
      await sleep(50);
    }
    if (ok && !proc.exited()) {
      let closing: Promise<void> | undefined;
      const close = (): Promise<void> =>
        (closing ??= (async () => {
          await proc.stop();
          if (spec.cleanupDir !== undefined) await removeTempDir(spec.cleanupDir);
        })());
      return { port, proc, close };
    }
    const exited = proc.exited();
    await proc.stop(1000);
    const portClash = exited && proc.tail().some((l) => /address already in use|EADDRINUSE/i.test(l));
    if (portClash && attempt < maxAttempts && spec.port === undefined) continue;
    if (spec.cleanupDir !== undefined) await removeTempDir(spec.cleanupDir);
    throw startupError(
      proc,
      exited
        ? `${spec.name} (${spec.bin}) failed to start on 127.0.0.1:${port}`
        : `${spec.name} (${spec.bin}) not ready on 127.0.0.1:${port} within ${spec.timeoutMs} ms`,
    );
  }
}
