import { createServer, connect, type Socket } from 'node:net';

/** Loopback address every local server binds to. */
export const HOST = '127.0.0.1';

/** Asks the kernel for a currently free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, HOST, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close((err) => (err ? reject(err) : port > 0 ? resolve(port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Opens a TCP connection and resolves with the first line the server sends (or '' when
 * `firstLine` is false, as soon as the connection is established). Rejects on error/timeout.
 */
export function probeTcp(
  port: number,
  opts: { host?: string; timeoutMs?: number; firstLine?: boolean } = {},
): Promise<string> {
  const { host = HOST, timeoutMs = 1000, firstLine = false } = opts;
  return new Promise((resolve, reject) => {
    let buf = '';
    let done = false;
    const sock: Socket = connect({ host, port });
    const finish = (err: Error | undefined, line = ''): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(line);
    };
    const timer = setTimeout(() => finish(new Error(`timeout connecting to ${host}:${port}`)), timeoutMs);
    sock.setEncoding('utf8');
    sock.once('error', (err) => finish(err));
    sock.once('connect', () => {
      if (!firstLine) finish(undefined);
    });
    sock.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl >= 0) finish(undefined, buf.slice(0, nl).trim());
    });
    sock.once('end', () => finish(new Error(`connection to ${host}:${port} closed before a line arrived`)));
  });
}

/** True when something accepts TCP connections on `host:port`. */
export async function isPortOpen(port: number, host = HOST): Promise<boolean> {
  try {
    await probeTcp(port, { host, timeoutMs: 500 });
    return true;
  } catch {
    return false;
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
