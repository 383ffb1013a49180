import { processEnvironment } from './config.ts';
import { join } from 'node:path';
import { HOST, probeTcp } from './net.ts';
import { dataDir, launch, type LocalServerOptions } from './launch.ts';
import { findTool, installHint } from './tools.ts';

/** A running nats-server child process. */
export interface NatsServer {
  /** Client URL, e.g. `nats://127.0.0.1:41234`. */
  url: string;
  port: number;
  /** Stops the server (SIGTERM, SIGKILL after 5 s) and removes its temp dir. */
  close: () => Promise<void>;
}

/**
 * Starts a local nats-server with JetStream on a free 127.0.0.1 port and waits until it
 * greets clients with an INFO line that advertises JetStream.
 */
export async function startNats(opts: LocalServerOptions = {}): Promise<NatsServer> {
  const env = opts.env ?? processEnvironment();
  const bin = findTool('nats-server', env);
  if (bin === undefined) throw new Error(installHint('nats-server', env));
  const data = await dataDir('nats', opts.dir);
  const storeDir = join(data.dir, 'jetstream-store');
  const launched = await launch({
    name: 'nats-server',
    bin,
    args: (port) => ['--addr', HOST, '--port', String(port), '--jetstream', '--store_dir', storeDir],
    ready: async (port) => {
      const line = await probeTcp(port, { firstLine: true, timeoutMs: 1000 });
      return line.startsWith('INFO ') && line.includes('"jetstream":true');
    },
    env,
    log: opts.log,
    port: opts.port,
    timeoutMs: opts.timeoutMs ?? 15_000,
    ...(data.temp ? { cleanupDir: data.dir } : {}),
  });
  return { url: `nats://${HOST}:${launched.port}`, port: launched.port, close: launched.close };
}
