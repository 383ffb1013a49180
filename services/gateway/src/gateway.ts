import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { Bus } from '@ap/bus';
import type { Logger } from '@ap/logging';
import type { Metrics } from '@ap/metrics';
import { MAX_FRAME_BYTES, isAppError } from '@ap/protocol';
import { createConnectionHub } from './hub.ts';
import type { Endpoint } from './connection.ts';
import type { GatewayOptions } from './hub.ts';
import { createOriginPolicy, parseRequestTarget } from './edge.ts';
import { createHttpHandler } from './http.ts';
import { loadStaticSite } from './static.ts';
import { createTokenVerifier } from './tokens.ts';

export type Gateway = {
  server: Server;
  /** The port it listens on (useful with port 0). */
  port(): number;
  /** Connected to NATS and holding the auth service's keys: able to accept candidates. */
  ready(): boolean;
  connections(): number;
  /** Stops accepting, closes sockets with 1001, then stops the HTTP server. */
  close(): Promise<void>;
};

const PATHS: Readonly<Record<string, Endpoint>> = { '/ws/assessment': 'assessment', '/ws/chat': 'chat' };

/** Creates the gateway: HTTP routes and WebSocket endpoints, listening on host:port. */
export async function createGateway(deps: {
  bus: Bus;
  log: Logger;
  /** WebSocket connections and frames are counted in it (served on the metrics port, not here). */
  metrics?: Metrics;
  host: string;
  port: number;
  options: GatewayOptions;
  /** Folder of the candidate page (`web/`): built in memory at start-up, or its `dist/` served. */
  webDir?: string;
}): Promise<Gateway> {
  const { bus, log } = deps;
  const siteLoading = loadStaticSite(deps.webDir === undefined ? { log } : { webDir: deps.webDir, log });
  const verifier = createTokenVerifier({ bus, log });
  await verifier.refresh();
  const site = await siteLoading;
  // Until the keys arrive retry every second; afterwards pick up rotated keys every minute.
  let sinceRefresh = 0;
  const keyTimer = setInterval(() => {
    sinceRefresh += 1;
    if (!verifier.ready() || sinceRefresh >= 60) {
      sinceRefresh = 0;
      void verifier.refresh();
    }
  }, 1000);
  keyTimer.unref();
  const hub = createConnectionHub({
    bus,
    verifier,
    log,
    options: deps.options,
    gatewayId: randomUUID(),
    ...(deps.metrics === undefined ? {} : { metrics: deps.metrics }),
  });
  deps.metrics?.connections(() => hub.count());
  const ready = () => !bus.nc.isClosed() && verifier.ready();
  const server = createServer(createHttpHandler({ bus, log, ready, verifier, requestTimeoutMs: deps.options.requestTimeoutMs, site, publicUrl: deps.options.publicUrl }));
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false });

  const originAllowed = createOriginPolicy(deps.options.origins);
  const upgradeLog = log.child({ module: 'upgrade' });

  server.on('upgrade', (req, socket, head) => {
    // Node removes its own error listener from an upgraded socket: a reset before the
    // handshake completes must not become an uncaught exception.
    socket.on('error', (err) => upgradeLog.debug({ err: err.message }, 'upgrade socket error'));
    try {
      let url: URL;
      try {
        url = parseRequestTarget(req.url);
      } catch (err) {
        refuse(socket, 400, 'Bad Request', { reason: isAppError(err) ? err.message : 'bad request target', url: req.url?.slice(0, 200) });
        return;
      }
      const endpoint = PATHS[url.pathname];
      if (endpoint === undefined) {
        refuse(socket, 404, 'Not Found');
        return;
      }
      if (!originAllowed(req.headers.origin, req.headers.host)) {
        refuse(socket, 403, 'Forbidden', { reason: 'origin not allowed', origin: req.headers.origin?.slice(0, 200) });
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => hub.accept(ws, req, endpoint, url));
    } catch (err) {
      upgradeLog.error({ err }, 'upgrade failed');
      refuse(socket, 500, 'Internal Server Error');
    }
  });

  function refuse(socket: Duplex, status: number, text: string, warn?: Record<string, unknown>): void {
    if (warn !== undefined) upgradeLog.warn({ status, ...warn }, 'upgrade refused');
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    socket.end(`HTTP/1.1 ${status} ${text}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`, () => socket.destroy());
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(deps.port, deps.host, () => resolve());
  });
  // An error of the listening server (for example out of file descriptors on accept) is logged, not fatal.
  server.on('error', (err) => log.error({ err }, 'server error'));
  log.info({ port: (server.address() as AddressInfo).port }, 'gateway listening');

  return {
    server,
    port: () => (server.address() as AddressInfo).port,
    ready,
    connections: () => hub.count(),
    async close() {
      clearInterval(keyTimer);
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      await hub.close();
      wss.close();
      server.closeAllConnections();
      await stopped;
    },
  };
}
