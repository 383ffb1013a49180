import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { createLogger } from '@ap/logging';
import { startNats } from '@ap/stack';
import type { NatsServer } from '@ap/stack';
import { startDelivery } from './delivery.ts';
import type { DeliveryOutcome } from './delivery.ts';
import { openEventStream } from './jetstream.ts';

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

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const giveUp = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > giveUp) assert.fail(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the retrying outbox on a real nats-server', () => {
  test('a receiver that hangs does not hold up the other events; a refusal comes back, a drop does not', async () => {
    const stream = await openEventStream(nc, { name: 'DELIVERY_TEST', subjects: ['delivery.test.>'], log });
    const attempts = new Map<string, number>();
    const done: string[] = [];
    let release: () => void = () => undefined;
    const hung = new Promise<void>((resolve) => {
      release = resolve;
    });
    const delivery = startDelivery({
      nc,
      log,
      stream: 'DELIVERY_TEST',
      durable: 'delivery-test',
      subjects: ['delivery.test.>'],
      ackWaitMs: 30_000,
      retryMinMs: 50,
      retryMaxMs: 100,
      async handle(m): Promise<DeliveryOutcome> {
        const name = m.subject.split('.').at(-1) ?? '';
        attempts.set(name, (attempts.get(name) ?? 0) + 1);
        if (name === 'hang') await hung;
        if (name === 'refused' && attempts.get(name) === 1) return { retry: 'the receiver said no' };
        if (name === 'bad') return { drop: 'does not parse' };
        done.push(name);
        return { done: true };
      },
    });
    try {
      // The consumer starts from new events: publish once it exists.
      const jsm = await jetstreamManager(nc);
      await until('the consumer exists', () =>
        jsm.consumers.info('DELIVERY_TEST', 'delivery-test').then(
          () => true,
          () => false,
        ),
      );
      for (const name of ['hang', 'one', 'refused', 'bad', 'two']) await stream.publish(`delivery.test.${name}`, { name }, name);
      await until('the events behind the hanging one are delivered', () => ['one', 'two', 'refused'].every((n) => done.includes(n)));
      assert.equal(done.includes('hang'), false, 'the hanging delivery is still running');
      assert.equal(attempts.get('refused'), 2, 'a refused event came back once');
      release();
      await until('the hanging one is delivered too', () => done.includes('hang'));
      // Nothing is left pending or waiting for redelivery: the dropped one is not coming back.
      await until('the consumer has nothing pending', async () => {
        const info = await jsm.consumers.info('DELIVERY_TEST', 'delivery-test');
        return info.num_pending === 0 && info.num_ack_pending === 0;
      });
      assert.equal(attempts.get('bad'), 1, 'a dropped event is not delivered again');
      assert.equal(attempts.get('hang'), 1);
    } finally {
      release();
      await delivery.close();
    }
  });
});
