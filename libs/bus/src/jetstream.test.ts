import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { createLogger } from '@ap/logging';
import { startNats } from '@ap/stack';
import type { NatsServer } from '@ap/stack';
import { openEventStream, openLease } from './jetstream.ts';

let server: NatsServer;
let nc: NatsConnection;
const log = createLogger({ service: 'test', level: 'silent' });

before(async () => {
  server = await startNats();
  nc = await connect({ servers: server.url });
});

after(async () => {
  await nc.close();
  await server.close();
});

describe('JetStream helpers on a real nats-server', () => {
  test('an event published twice with the same message id is stored once', async () => {
    const stream = await openEventStream(nc, { name: 'TEST_EVENTS', subjects: ['test.events.>'], log });
    await stream.publish('test.events.answered', { n: 1 }, 'a1:answered:q1');
    await stream.publish('test.events.answered', { n: 1 }, 'a1:answered:q1');
    await stream.publish('test.events.answered', { n: 2 }, 'a1:answered:q2');
    const info = await (await jetstreamManager(nc)).streams.info('TEST_EVENTS');
    assert.equal(info.state.messages, 2);
    // Opening it again (another replica starting) keeps the stream and its messages.
    await openEventStream(nc, { name: 'TEST_EVENTS', subjects: ['test.events.>'], log });
    assert.equal((await (await jetstreamManager(nc)).streams.info('TEST_EVENTS')).state.messages, 2);
  });

  test('a lease has one holder at a time, is renewed by its holder, and lapses after its TTL', async () => {
    const a = await openLease(nc, { bucket: 'test_lease', key: 'sweep', ttlMs: 1500, holder: 'replica-a' });
    const b = await openLease(nc, { bucket: 'test_lease', key: 'sweep', ttlMs: 1500, holder: 'replica-b' });
    assert.equal(await a.acquire(), true);
    assert.equal(await b.acquire(), false);
    assert.equal(await a.acquire(), true, 'the holder renews');
    assert.equal(await b.acquire(), false);
    // The holder stops renewing (it died): after the TTL the other replica takes over.
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(await b.acquire(), true);
    assert.equal(await a.acquire(), false);
    await b.release();
    assert.equal(await a.acquire(), true, 'a released lease is free at once');
  });
});
