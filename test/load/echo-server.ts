/**
 * Baseline for the load tool: a bare `ws` server that sends every frame straight back, with the
 * gateway's WebSocket settings (no compression, 64 KiB frames) and nothing else. Run by bench.ts
 * through child_process.fork; it reports its port over IPC and stops when the parent goes away,
 * on SIGTERM, or after --max-lifetime-s.
 *
 *   npm exec -- node test/load/echo-server.ts [--port 0] [--max-lifetime-s 3600]
 */
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';
import { z } from 'zod';

const args = z
  .object({
    port: z.coerce.number().int().min(0).max(65535),
    'max-lifetime-s': z.coerce
      .number()
      .int()
      .positive()
      .max(24 * 3600),
  })
  .parse(
    parseArgs({
      options: { port: { type: 'string', default: '0' }, 'max-lifetime-s': { type: 'string', default: '3600' } },
    }).values,
  );

const wss = new WebSocketServer({ host: '127.0.0.1', port: args.port, perMessageDeflate: false, maxPayload: 64 * 1024, backlog: 4096 });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => undefined);
});

function stop(): void {
  for (const c of wss.clients) c.terminate();
  wss.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}

wss.on('listening', () => {
  const port = (wss.address() as AddressInfo).port;
  if (process.send !== undefined) process.send({ type: 'listening', port });
  else process.stdout.write(`echo server on ws://127.0.0.1:${port}\n`);
});
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.once('disconnect', stop);
setTimeout(stop, args['max-lifetime-s'] * 1000).unref();
