import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { startNats } from '@ap/stack';
import type { NatsServer } from '@ap/stack';
import { createRequester, RequestFailed } from './requests.ts';

const text = new TextEncoder();
const read = new TextDecoder();

describe('requests over one reply subscription', () => {
  let server: NatsServer;
  let nc: NatsConnection;

  before(async () => {
    server = await startNats();
    nc = await connect({ servers: server.url });
  });
  after(async () => {
    await nc.close();
    await server.close();
  });

  test('each of many concurrent requests gets its own reply', async () => {
    const sub = nc.subscribe('echo.slow', {
      // Replies out of order: a later request may be answered first.
      callback: (_err, msg) => {
        setTimeout(() => msg.respond(msg.data), Math.floor(Math.random() * 20));
      },
    });
    await nc.flush();
    const requester = createRequester(nc);
    try {
      const sent = Array.from({ length: 200 }, (_, i) => `n${i}`);
      const replies = await Promise.all(sent.map((s) => requester.request('echo.slow', text.encode(s), { timeoutMs: 5000 })));
      assert.deepEqual(
        replies.map((m) => read.decode(m.data)),
        sent,
      );
    } finally {
      requester.close();
      sub.unsubscribe();
    }
  });

  test('no responders and a silent responder are told apart, each without waiting longer than needed', async () => {
    const silent = nc.subscribe('silent', { callback: () => undefined });
    await nc.flush();
    const requester = createRequester(nc);
    try {
      const started = performance.now();
      await assert.rejects(requester.request('nobody.here', text.encode('x'), { timeoutMs: 5000 }), (err) => {
        return err instanceof RequestFailed && err.reason === 'no_responders';
      });
      assert.ok(performance.now() - started < 1000, 'no responders is known at once, not at the timeout');
      const t0 = performance.now();
      await assert.rejects(requester.request('silent', text.encode('x'), { timeoutMs: 200 }), (err) => {
        return err instanceof RequestFailed && err.reason === 'timeout';
      });
      const waited = performance.now() - t0;
      assert.ok(waited >= 195 && waited < 1000, `timed out after ${waited.toFixed(0)} ms`);
    } finally {
      requester.close();
      silent.unsubscribe();
    }
  });

  test('a late reply after the timeout is ignored, and close fails what still waits', async () => {
    const sub = nc.subscribe('late', {
      callback: (_err, msg) => {
        setTimeout(() => msg.respond(msg.data), 300);
      },
    });
    const never = nc.subscribe('never', { callback: () => undefined });
    await nc.flush();
    const requester = createRequester(nc);
    await assert.rejects(
      requester.request('late', text.encode('x'), { timeoutMs: 100 }),
      (err) => err instanceof RequestFailed && err.reason === 'timeout',
    );
    await new Promise((resolve) => setTimeout(resolve, 400));
    const waiting = requester.request('never', text.encode('x'), { timeoutMs: 60_000 });
    requester.close();
    await assert.rejects(waiting, (err) => err instanceof RequestFailed && err.reason === 'closed');
    await assert.rejects(
      requester.request('late', text.encode('x'), { timeoutMs: 100 }),
      (err) => err instanceof RequestFailed && err.reason === 'closed',
    );
    sub.unsubscribe();
    never.unsubscribe();
  });

  test('a request waiting when the connection drops fails at once, not at its timeout', async () => {
    const own = await startNats();
    const conn = await connect({ servers: own.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
    const silent = conn.subscribe('silent.own', { callback: () => undefined });
    await conn.flush();
    const requester = createRequester(conn);
    const started = performance.now();
    const waiting = requester.request('silent.own', text.encode('x'), { timeoutMs: 60_000 });
    const refused = assert.rejects(waiting, (err) => err instanceof RequestFailed && err.reason === 'disconnected');
    await own.close();
    await refused;
    assert.ok(performance.now() - started < 30_000, 'well before its 60 s timeout');
    silent.unsubscribe();
    await conn.close();
  });
});
