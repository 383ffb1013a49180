import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { Bus } from '@ap/bus';
import type { Logger } from '@ap/logging';
import type { Metrics } from '@ap/metrics';
import { MAX_FRAME_BYTES } from '@ap/protocol';
import { createConnectionHub } from './connections.ts';
import type { Endpoint, GatewayOptions } from './connections.ts';
import { createHttpHandler } from './http.ts';
import { loadStaticSite } from './static.ts';
import { createTokenVerifier } from './tokens.ts';

export type Gateway = {
  server: Server;
  /** The port it listens on (useful with port 0). */
  port(): number;
  connections(): number;
  /** Stops accepting, closes sockets with 1001, then stops the HTTP server. */
  close(): Promise<void>;
};

const PATHS: Readonly<Record<string, Endpoint>> = { '/ws/assessment': 'assessment', '/ws/chat': 'chat' };

/** Creates the gateway: HTTP routes and WebSocket endpoints, listening on host:port. */
export async function createGateway(deps: {
  bus: Bus;
  log: Logger;
  /** Served on GET /metrics; WebSocket connections and frames are counted in it. */
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
  const hub = createConnectionHub({ bus, verifier, log, options: deps.options, gatewayId: randomUUID(), ...(deps.metrics === undefined ? {} : { metrics: deps.metrics }) });
  deps.metrics?.connections(() => hub.count());
  const ready = () => !bus.nc.isClosed() && verifier.ready();
  const server = createServer(createHttpHandler({ bus, log, ready, verifier, requestTimeoutMs: deps.options.requestTimeoutMs, site, ...(deps.metrics === undefined ? {} : { metrics: deps.metrics }) }));
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false });

  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://gateway');
    const endpoint = PATHS[url.pathname];
    if (endpoint === undefined) {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => hub.accept(ws, req, endpoint, url));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(deps.port, deps.host, () => resolve());
  });
  log.info({ port: (server.address() as AddressInfo).port }, 'gateway listening');

  return {
    server,
    port: () => (server.address() as AddressInfo).port,
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
