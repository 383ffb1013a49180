import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** A running metrics server. */
export type MetricsServer = { port(): number; close(): Promise<void> };

/**
 * Serves `GET /metrics` (Prometheus text), `/healthz` (the process answers) and `/readyz`
 * (200 when `ready()` is true, else 503) on host:port.
 */
export async function startMetricsServer(options: {
  port: number;
  host?: string;
  registry: Registry;
  ready: () => boolean;
}): Promise<MetricsServer> {
  const { registry } = options;
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://metrics').pathname;
    const reply = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      reply(405, 'text/plain; charset=utf-8', 'method not allowed\n');
    } else if (path === '/metrics') {
      registry.metrics().then(
        (text) => reply(200, registry.contentType, text),
        () => reply(500, 'text/plain; charset=utf-8', 'metrics unavailable\n'),
      );
    } else if (path === '/healthz') {
      reply(200, 'application/json; charset=utf-8', JSON.stringify({ status: 'ok' }));
    } else if (path === '/readyz') {
      const ready = options.ready();
      reply(ready ? 200 : 503, 'application/json; charset=utf-8', JSON.stringify({ status: ready ? 'ready' : 'not_ready' }));
    } else {
      reply(404, 'text/plain; charset=utf-8', 'not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: () => (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Readiness from periodic checks: NATS answers a flush and, where there is one, the database answered a ping in the last 10 s. */
export type Readiness = { ready: () => boolean; close: () => void };

const FRESH_MS = 10_000;

/** Checks NATS (a flush round trip) and the database (a ping) every `intervalMs` (default 3000). */
export function createReadiness(checks: {
  nats: { flush(): Promise<void>; isClosed(): boolean };
  database?: { ping(): Promise<boolean> };
  intervalMs?: number;
}): Readiness {
  let natsOkAt = 0;
  let dbOkAt = 0;
  let running = false;
  const check = async () => {
    if (running) return;
    running = true;
    try {
      const [nats, db] = await Promise.all([
        within(checks.nats.flush().then(() => true), 2000),
        checks.database === undefined ? Promise.resolve(true) : within(checks.database.ping(), 2000),
      ]);
      if (nats) natsOkAt = Date.now();
      if (db) dbOkAt = Date.now();
    } finally {
      running = false;
    }
  };
  void check();
  const timer = setInterval(() => void check(), checks.intervalMs ?? 3000);
  timer.unref();
  return {
    ready: () => !checks.nats.isClosed() && Date.now() - natsOkAt < FRESH_MS && Date.now() - dbOkAt < FRESH_MS,
    close: () => clearInterval(timer),
  };
}

function within(check: Promise<boolean>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    check.then(
      (ok) => {
        clearTimeout(timer);
        resolve(ok);
      },
      () => {
        clearTimeout(timer);
        resolve(false);
      },
    );
  });
}

/**
 * A service's metrics endpoint as one component: readiness checks plus the server on `port`
 * (nothing when the port is 0). Close it with the other components on shutdown.
 */
export async function serveServiceMetrics(options: {
  port: number;
  host: string;
  registry: Registry;
  nats: { flush(): Promise<void>; isClosed(): boolean };
  database?: { ping(): Promise<boolean> };
}): Promise<{ name: string; close(): Promise<void> }> {
  const readiness = createReadiness(options.database === undefined ? { nats: options.nats } : { nats: options.nats, database: options.database });
  const server =
    options.port === 0 ? undefined : await startMetricsServer({ port: options.port, host: options.host, registry: options.registry, ready: readiness.ready });
  return {
    name: 'metrics',
    async close() {
      readiness.close();
      await server?.close();
    },
  };
}
