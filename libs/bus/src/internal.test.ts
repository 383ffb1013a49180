import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { createLogger } from '@ap/logging';
import { AppError, endpointHandlerTimeout, isAppError } from '@ap/protocol';
import { startNats } from '@ap/stack';
import type { NatsServer } from '@ap/stack';
import { z } from 'zod';
import { createBus } from './bus.ts';

const logLine = z.looseObject({
  level: z.number(),
  msg: z.string(),
  subject: z.string().optional(),
  request_id: z.string().nullable().optional(),
});

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

/** A bus whose log lines and served outcomes the test reads. */
function observedBus() {
  const lines: z.infer<typeof logLine>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString('utf8').split('\n')) if (text !== '') lines.push(logLine.parse(JSON.parse(text)));
      done();
    },
  });
  const outcomes: { subject: string; outcome: string }[] = [];
  const bus = createBus(nc, createLogger({ service: 'test', level: 'warn', destination }), {
    metrics: { requestDone: () => undefined, handled: (subject, outcome) => outcomes.push({ subject, outcome }) },
  });
  return { bus, lines, outcomes };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return isAppError(err) ? err.code : 'not an AppError';
  }
}

describe('INTERNAL replies are never silent', () => {
  test('a handler that throws is answered INTERNAL, logged at error with the request id, and counted by subject', async () => {
    const { bus, lines, outcomes } = observedBus();
    bus.serve('authJwks', 'internal-test', () => {
      throw new TypeError('a bug');
    });
    assert.equal(await codeOf(bus.request('authJwks', {}, { requestId: 'conn-1:r7' })), 'INTERNAL');
    // An AppError with the INTERNAL code is logged the same way, and a request without an id says so.
    bus.serve('assessmentProgress', 'internal-test', () => {
      throw new AppError('INTERNAL', 'item missing from test');
    });
    assert.equal(
      await codeOf(bus.request('assessmentProgress', { caller: { user_id: 'u1', role: 'candidate' }, assessment_id: 'a1' })),
      'INTERNAL',
    );
    const errors = lines.filter((l) => l.level === 50);
    assert.deepEqual(
      errors.map((l) => [l.msg, l.subject, l.request_id]),
      [
        ['answered INTERNAL', 'auth.v1.jwks', 'conn-1:r7'],
        ['answered INTERNAL', 'assessment.v1.progress', null],
      ],
    );
    assert.deepEqual(outcomes, [
      { subject: 'auth.v1.jwks', outcome: 'INTERNAL' },
      { subject: 'assessment.v1.progress', outcome: 'INTERNAL' },
    ]);
    await bus.close();
  });

  test('other coded errors are answered as they are, without an error line', async () => {
    const nc2 = await connect({ servers: server.url });
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const bus = createBus(nc2, createLogger({ service: 'test', level: 'warn', destination }));
    bus.serve('authJwks', 'internal-test-2', () => {
      throw new AppError('NOT_FOUND', 'no keys');
    });
    assert.equal(await codeOf(bus.request('authJwks', {})), 'NOT_FOUND');
    assert.deepEqual(lines, []);
    await bus.close();
  });
});

describe('a handler that does not finish', () => {
  test('is answered SERVICE_UNAVAILABLE at the handler timeout, before the caller gives up (TIMEOUT), and goes on', async () => {
    const servedNc = await connect({ servers: server.url });
    const callerNc = await connect({ servers: server.url });
    const served = createBus(servedNc, createLogger({ service: 'test', level: 'silent' }), { handlerTimeoutMs: 200 });
    const caller = createBus(callerNc, createLogger({ service: 'test', level: 'silent' }));
    let release: (() => void) | undefined;
    let finished = false;
    served.serve('authJwks', 'handler-timeout-test', async () => {
      await new Promise<void>((r) => (release = r));
      finished = true;
      return { keys: [] };
    });
    // The subscription is on the server before the request goes out.
    await servedNc.flush();
    // The caller would wait 5 s and then say TIMEOUT; the served side answers first, at its own 200 ms.
    assert.equal(await codeOf(caller.request('authJwks', {}, { timeoutMs: 5000 })), 'SERVICE_UNAVAILABLE');
    // The handler was not cut off: it ends when its work does, and its late result goes nowhere.
    assert.ok(release !== undefined);
    release();
    await new Promise((r) => setImmediate(r));
    assert.equal(finished, true);
    await served.close();
    await caller.close();
  });

  test('an endpoint that declares a longer handler timeout (admin work) runs past the service default', async () => {
    assert.equal(endpointHandlerTimeout('itemsCalibrate'), 250_000);
    assert.equal(endpointHandlerTimeout('assessmentAnswer'), undefined);
    const servedNc = await connect({ servers: server.url });
    const callerNc = await connect({ servers: server.url });
    const served = createBus(servedNc, createLogger({ service: 'test', level: 'silent' }), { handlerTimeoutMs: 100 });
    const caller = createBus(callerNc, createLogger({ service: 'test', level: 'silent' }));
    served.serve('itemsCalibrate', 'handler-timeout-test', async (req) => {
      await new Promise((r) => setTimeout(r, 400));
      return { test_id: req.test_id, model: req.model, examinees: 0, cycles: 0, converged: true, applied: 0, items: [] };
    });
    await servedNc.flush();
    const reply = await caller.request('itemsCalibrate', { caller: { user_id: 'a', role: 'admin' }, test_id: 't1' }, { timeoutMs: 5000 });
    assert.equal(reply.test_id, 't1');
    await served.close();
    await caller.close();
  });
});
