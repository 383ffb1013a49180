// Internal trust (issue class 6): NATS admits only the platform's own NKEY users, and each may
// publish and subscribe only where its service serves or calls. Runs the whole platform on the
// nats-server config that the test stack generates, and checks the database through its own client.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { connect, nkeyAuthenticator, nkeys, PermissionViolationError } from '@nats-io/transport-node';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { createBus } from '@ap/bus';
import { isAppError } from '@ap/protocol';
import { createLogger } from '@ap/logging';
import type { BusIdentity, NatsIdentities } from '@ap/stack';
import { setup } from './support/setup.ts';
import type { TestStack } from './support/setup.ts';

let stack: TestStack;
let identities: NatsIdentities;
const opened: NatsConnection[] = [];
const log = createLogger({ service: 'test', level: 'silent' });
const encoder = new TextEncoder();

before(async () => {
  stack = await setup();
  assert.ok(stack.natsIdentities, 'the test stack started its own nats-server with generated NKEY users');
  identities = stack.natsIdentities;
});

after(async () => {
  for (const nc of opened) await nc.close().catch(() => undefined);
  await (stack as TestStack | undefined)?.close();
});

async function connectAs(identity: BusIdentity): Promise<NatsConnection> {
  const nc = await connect({
    servers: stack.natsUrl,
    name: `test-as-${identity}`,
    authenticator: nkeyAuthenticator(encoder.encode(identities[identity].seed)),
    maxReconnectAttempts: 0,
  });
  opened.push(nc);
  return nc;
}

/** Resolves with the server's error when the subscription is refused, or undefined when it stays open. */
async function refusal(sub: Subscription, nc: NatsConnection): Promise<Error | undefined> {
  await nc.flush();
  const closed = await Promise.race([sub.closed, new Promise<'open'>((r) => setTimeout(() => r('open'), 1000))]);
  return closed === 'open' ? undefined : (closed ?? undefined);
}

const users = () => stack.db.collection<{ email: string; role: string }>('users');

describe('NATS authentication and authorization', () => {
  test('an anonymous connection, and one with an unknown NKEY, is refused', async () => {
    await assert.rejects(connect({ servers: stack.natsUrl, maxReconnectAttempts: 0, reconnect: false }), /authorization violation/i);
    const stranger = nkeys.createUser();
    await assert.rejects(
      connect({ servers: stack.natsUrl, maxReconnectAttempts: 0, reconnect: false, authenticator: nkeyAuthenticator(stranger.getSeed()) }),
      /authorization violation/i,
    );
  });

  test("no service's credentials can create a user (an admin caller is not enough); the operator's can", async () => {
    for (const identity of ['chat', 'cleanup', 'assessment', 'auth', 'gateway'] as const) {
      const nc = await connectAs(identity);
      const email = `forged-${identity}-${randomBytes(3).toString('hex')}@test.example`;
      const request = { caller: { user_id: 'system', role: 'admin' as const }, email, password: 'forged-password', role: 'admin' as const };
      // Raw: the server refuses the publish, so the request fails at once with a permission error.
      await assert.rejects(
        nc.request('auth.v1.users.create', encoder.encode(JSON.stringify(request)), { timeout: 3000 }),
        (err: unknown) => {
          assert.ok(
            err instanceof PermissionViolationError || (err instanceof Error && err.cause instanceof PermissionViolationError),
            `${identity}: ${String(err)}`,
          );
          return true;
        },
      );
      // Through the bus, as a service's code would call it: an INTERNAL error that names the subject.
      await assert.rejects(createBus(nc, log).request('authCreateUser', request, { timeoutMs: 3000 }), (err: unknown) => {
        assert.ok(
          isAppError(err) && err.code === 'INTERNAL' && /may not publish to auth\.v1\.users\.create/.test(err.message),
          `${identity}: ${String(err)}`,
        );
        return true;
      });
      assert.equal(await users().countDocuments({ email }), 0, `${identity} created no user`);
    }
    // The same request from the operator's tools works, so the check above can see a created user.
    const email = `operator-${randomBytes(3).toString('hex')}@test.example`;
    await stack.bus.request('authCreateUser', {
      caller: { user_id: 'system', role: 'admin' },
      email,
      password: 'operator-password',
      role: 'admin',
    });
    assert.equal((await users().findOne({ email }))?.role, 'admin');
  });

  test("the gateway's credentials cannot subscribe to another service's request subjects to steal requests", async () => {
    const nc = await connectAs('gateway');
    let stolen = 0;
    // The callback also receives the server's refusal as an error: count only messages.
    const count = (err: Error | null) => {
      if (err === null) stolen++;
    };
    const login = nc.subscribe('auth.v1.login', { queue: 'auth', callback: count });
    const answer = nc.subscribe('assessment.v1.answer', { queue: 'assessment', callback: count });
    const everything = nc.subscribe('>', { callback: count });
    for (const [sub, subject] of [
      [login, 'auth.v1.login'],
      [answer, 'assessment.v1.answer'],
      [everything, '>'],
    ] as const) {
      const err = await refusal(sub, nc);
      assert.ok(err instanceof PermissionViolationError, `subscribing to ${subject} is refused (got ${String(err)})`);
    }
    // Every sign-in is answered by the auth service, none by the would-be thief.
    for (let i = 0; i < 10; i++) {
      const r = await stack.bus.request('authLogin', { email: stack.seed.proctor.email, password: stack.seed.proctor.password });
      assert.equal(r.role, 'proctor');
    }
    assert.equal(stolen, 0);
  });

  test('each service may publish only its own events: forged pushes and chat messages are refused', async () => {
    const cases: [BusIdentity, string][] = [
      ['cleanup', 'gateway.v1.push.user.someone'],
      ['gateway', 'chat.v1.events.room.asm_someone'],
      ['chat', 'assessment.v1.live.some-test'],
      ['auth', 'assessment.v1.answer'],
      ['assessment', 'auth.v1.login'],
    ];
    for (const [identity, subject] of cases) {
      const nc = await connectAs(identity);
      const refused = new Promise<PermissionViolationError>((resolve) => {
        void (async () => {
          for await (const s of nc.status()) {
            if (s.type === 'error' && s.error instanceof PermissionViolationError && s.error.subject === subject) resolve(s.error);
          }
        })();
      });
      nc.publish(subject, encoder.encode('{}'));
      await nc.flush();
      const err = await Promise.race([refused, new Promise<undefined>((r) => setTimeout(() => r(undefined), 2000))]);
      assert.ok(err?.operation === 'publish', `${identity} may not publish to ${subject}`);
    }
  });

  test("a service's own credentials serve its subjects and call what it needs", async () => {
    // chat may ask the assessment service who is in a room (allowed), which answers NOT_FOUND for an unknown one.
    const chat = createBus(await connectAs('chat'), log);
    await assert.rejects(
      chat.request(
        'assessmentDescribe',
        { caller: { user_id: 'system', role: 'admin' }, assessment_id: 'no-such-assessment' },
        { timeoutMs: 3000 },
      ),
      (err: unknown) => isAppError(err) && err.code === 'NOT_FOUND',
    );
  });
});
