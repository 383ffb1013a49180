import { processEnvironment } from './config.ts';
import { writeFile } from 'node:fs/promises';
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

/** Options of {@link startNats}. */
export type NatsServerOptions = LocalServerOptions & {
  /**
   * A config file body for the server (for example the authorization block of
   * `natsAuthorizationConfig`), written to `nats.conf` in the data directory on every start, so
   * a restart on the same directory keeps it. Without it the server admits anonymous clients.
   */
  config?: string;
};

/**
 * Starts a local nats-server with JetStream on a free 127.0.0.1 port and waits until it
 * greets clients with an INFO line that advertises JetStream.
 */
export async function startNats(opts: NatsServerOptions = {}): Promise<NatsServer> {
  const env = opts.env ?? processEnvironment();
  const bin = findTool('nats-server', env);
  if (bin === undefined) throw new Error(installHint('nats-server', env));
  const data = await dataDir('nats', opts.dir);
  const storeDir = join(data.dir, 'jetstream-store');
  const configArgs: string[] = [];
  if (opts.config !== undefined) {
    const file = join(data.dir, 'nats.conf');
    await writeFile(file, opts.config, { mode: 0o600 });
    configArgs.push('--config', file);
  }
  const launched = await launch({
    name: 'nats-server',
    bin,
    // Flags after the config file win over it: the port and store are always ours.
    args: (port) => [...configArgs, '--addr', HOST, '--port', String(port), '--jetstream', '--store_dir', storeDir],
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
