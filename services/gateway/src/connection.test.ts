import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { createLogger } from '@ap/logging';
import { CLOSE, Connection } from './connection.ts';
import type { FrameLimits } from './limits.ts';

const limits: FrameLimits = {
  socketPerSecond: 10,
  socketBurst: 20,
  userPerSecond: 10,
  userBurst: 20,
  maxInflightPerUser: 4,
  maxQueuedPerStaff: 8,
  maxSocketsPerUser: 4,
};

type Received = { frames: { type: string; data: { code?: string }; reply_to?: string }[]; closed: Promise<[number, Buffer]> };

// A socket pair over loopback: the server side is wrapped in a Connection, the client side records
// what a browser would see.
describe('the bad-frame counter', () => {
  const log = createLogger({ service: 'connection-test', level: 'silent' });
  let wss: WebSocketServer;
  let url: string;

  before(async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    url = `ws://127.0.0.1:${String((wss.address() as AddressInfo).port)}`;
  });

  after(async () => {
    for (const c of wss.clients) c.terminate();
    await new Promise((resolve) => wss.close(resolve));
  });

  async function pair(maxBadFramesPerMinute: number): Promise<{ conn: Connection; client: Received }> {
    const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
    const ws = new WebSocket(url);
    const frames: Received['frames'] = [];
    ws.on('message', (raw: Buffer) => frames.push(JSON.parse(raw.toString('utf8')) as Received['frames'][number]));
    const closed = once(ws, 'close') as Promise<[number, Buffer]>;
    await once(ws, 'open');
    const [server] = await accepted;
    const conn = new Connection(server, 'assessment', { testId: undefined, roomId: undefined }, log, { limits, maxBadFramesPerMinute });
    return { conn, client: { frames, closed } };
  }

  /** Polls until the client has at least `n` frames (or 5 s passed), then checks it has exactly `n`. */
  async function framesArrived(client: Received, n: number): Promise<void> {
    const deadline = performance.now() + 5000;
    while (client.frames.length < n && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(client.frames.length, n);
  }

  test('each bad frame is answered with its error; one more than the limit closes with 4429', async () => {
    const { conn, client } = await pair(3);
    for (let i = 1; i <= 3; i++) conn.badFrame('VALIDATION_FAILED', 'bad', `r${String(i)}`);
    await framesArrived(client, 3);
    assert.ok(conn.open, 'the limit itself is allowed');
    assert.deepEqual(
      client.frames.map((f) => [f.type, f.data.code, f.reply_to]),
      [
        ['error', 'VALIDATION_FAILED', 'r1'],
        ['error', 'VALIDATION_FAILED', 'r2'],
        ['error', 'VALIDATION_FAILED', 'r3'],
      ],
    );
    conn.badFrame('UNKNOWN_TYPE', 'nope', 'r4');
    const [code, reason] = await client.closed;
    assert.equal(code, CLOSE.ABUSE);
    assert.equal(code, 4429);
    assert.equal(reason.toString(), 'too many bad frames');
    // The error for the frame that crossed the limit is still delivered before the close.
    assert.deepEqual(client.frames.at(-1)?.data.code, 'UNKNOWN_TYPE');
    conn.dispose();
  });

  test('the count starts again after a minute', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const { conn, client } = await pair(2);
    conn.badFrame('VALIDATION_FAILED', 'bad');
    conn.badFrame('VALIDATION_FAILED', 'bad');
    t.mock.timers.tick(60_001);
    conn.badFrame('VALIDATION_FAILED', 'bad');
    conn.badFrame('VALIDATION_FAILED', 'bad');
    await framesArrived(client, 4);
    assert.ok(conn.open, 'two in the new minute are within the limit');
    // Within the same minute, a third closes it.
    t.mock.timers.tick(59_000);
    conn.badFrame('VALIDATION_FAILED', 'bad');
    const [code] = await client.closed;
    assert.equal(code, CLOSE.ABUSE);
    conn.dispose();
  });

  test('errors that are not bad frames never close the socket', async () => {
    const { conn, client } = await pair(1);
    for (let i = 0; i < 5; i++) conn.sendError('RATE_LIMITED', 'slow down');
    conn.badFrame('VALIDATION_FAILED', 'bad');
    await framesArrived(client, 6);
    assert.ok(conn.open);
    conn.close(1000, 'done');
    assert.equal((await client.closed)[0], 1000);
    conn.dispose();
  });
});
