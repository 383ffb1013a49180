import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ask, openAuthed, openRaw, setup } from './support/setup.ts';
import type { TestStack } from './support/setup.ts';

/**
 * The edges a client meets rarely, each with small settings so that it happens within the test:
 * the close codes 4401, 4402 and 1001, TIMEOUT for a request no service answers, and an expired
 * invitation (410 over HTTP) that the purge then removes.
 */
let stack: TestStack;
const AUTH_TIMEOUT_MS = 600;
const STAFF_TOKEN_TTL_S = 3;
const REQUEST_TIMEOUT_MS = 2000;

before(async () => {
  stack = await setup({
    // The INTERNAL test below breaks a document on purpose.
    faults: true,
    env: {
      AUTH_TIMEOUT_MS: String(AUTH_TIMEOUT_MS),
      TOKEN_TTL_S: String(STAFF_TOKEN_TTL_S),
      REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      HANDLER_TIMEOUT_MS: '1500',
    },
  });
});
after(async () => {
  await stack.close();
});

/** Polls `check` until it returns a value (or the time runs out): for states that come later, without a fixed sleep. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) assert.fail(`${what}: not within ${String(timeoutMs)} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('close codes', () => {
  test('a socket that never authenticates is told AUTH_REQUIRED and closed with 4401', async () => {
    const s = await openRaw(`${stack.wsUrl}/ws/assessment`);
    const closed = await s.closed;
    assert.equal(closed.code, 4401);
    assert.equal(s.frames.find((f) => f.type === 'error')?.data['code'], 'AUTH_REQUIRED');
  });

  test('a socket whose token expires is closed with 4402', async () => {
    const token = await stack.staffToken('edges-proctor@example.com', 'proctor', [stack.seed.test_id]);
    const s = await openAuthed(`${stack.wsUrl}/ws/assessment`, token);
    const success = s.frames.find((f) => f.type === 'auth_success');
    const expiresAt = Date.parse(String(success?.data['expires_at']));
    assert.ok(expiresAt - Date.now() <= STAFF_TOKEN_TTL_S * 1000, 'the token is short-lived');
    const closed = await s.closed;
    assert.equal(closed.code, 4402);
    assert.ok(Date.now() >= expiresAt - 50, 'closed when the token expired, not before');
  });

  test('a gateway that stops closes its sockets with 1001 and comes back', async () => {
    const c = await stack.inviteCandidate();
    const s = await openAuthed(`${stack.wsUrl}/ws/assessment`, c.token);
    await stack.platform.stop('gateway');
    assert.equal((await s.closed).code, 1001);
    await stack.platform.restart('gateway');
    const again = await openAuthed(`${stack.wsUrl}/ws/assessment`, c.token);
    assert.equal((await ask(again, 'get_test_info')).type, 'test_info');
    again.ws.close();
  });
});

describe('error codes at the edge', () => {
  test('a request the service holds without answering is TIMEOUT, and the socket goes on serving', async () => {
    const c = await stack.inviteCandidate();
    const s = await openAuthed(`${stack.wsUrl}/ws/assessment`, c.token);
    const started = await ask(s, 'start_assessment');
    assert.equal(started.type, 'assessment_started');
    const service = stack.platform.processes.find((p) => p.service === 'assessment');
    const pid = service?.proc.pid;
    assert.ok(pid !== undefined);
    // A frozen service takes the request from NATS and never answers it.
    process.kill(pid, 'SIGSTOP');
    let reply;
    try {
      reply = await ask(s, 'get_progress');
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    assert.equal(reply.type, 'error');
    assert.equal(reply.data['code'], 'TIMEOUT');
    const progress = await eventually('progress once the service runs again', async () => {
      const r = await ask(s, 'get_progress');
      return r.type === 'progress_update' ? r : undefined;
    });
    assert.equal(progress.data['answered'], 0);
    s.ws.close();
  });

  test('an expired invitation is refused with 410 INVITATION_EXPIRED over HTTP, and the purge removes it', async () => {
    const invitation = await stack.bus.request('authInvite', {
      caller: { user_id: 'system', role: 'admin' },
      test_id: stack.seed.test_id,
      candidate_email: 'edges-expired@example.com',
      expires_in_s: 1,
    });
    const redeem = () =>
      fetch(`${stack.httpUrl}/api/auth/invitations/redeem`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code: invitation.code }),
      });
    const expiresAt = Date.parse(invitation.expires_at);
    await eventually('the invitation expires', () => Promise.resolve(Date.now() > expiresAt + 50 ? true : undefined));
    const res = await redeem();
    const body = (await res.json()) as { error?: { code?: string } };
    const refused = { status: res.status, code: body.error?.code };
    assert.deepEqual(refused, { status: 410, code: 'INVITATION_EXPIRED' });
    const invitations = stack.db.collection<{ _id: string }>('invitations');
    assert.equal(await invitations.countDocuments({ _id: invitation.invitation_id }), 1, 'kept until purged');
    const purge = await stack.bus.request('authPurgeInvitations', { caller: { user_id: 'cleanup', role: 'admin' }, older_than_s: 0 });
    assert.ok(purge.removed >= 1);
    assert.equal(await invitations.countDocuments({ _id: invitation.invitation_id }), 0, 'purged');
    const after = await redeem();
    assert.equal(after.status, 401, 'a purged code is unknown');
    assert.equal(((await after.json()) as { error?: { code?: string } }).error?.code, 'AUTH_INVALID');
  });

  test('a handler that fails on bad data is answered INTERNAL, logged with its request, and the socket goes on serving', async () => {
    // A test document broken in the database (its item list is not a list): loading it throws.
    await stack.db.collection<{ _id: string }>('tests').insertOne({ _id: 'edges-broken', title: 'Broken', items: 5 } as { _id: string });
    const email = 'edges-admin@example.com';
    const password = 'edges-admin-password';
    await stack.bus.request('authCreateUser', { caller: { user_id: 'system', role: 'admin' }, email, password, role: 'admin' });
    const { token } = await stack.bus.request('authLogin', { email, password });
    const s = await openAuthed(`${stack.wsUrl}/ws/assessment`, token);
    const before = stack.internalReplies().length;
    const reply = await ask(s, 'get_test_info', { test_id: 'edges-broken' });
    assert.equal(reply.type, 'error');
    assert.equal(reply.data['code'], 'INTERNAL');
    assert.doesNotMatch(String(reply.data['message']), /TypeError|items|map/, 'no internals in the message');
    const logged = await eventually('the INTERNAL reply in the service log', () =>
      Promise.resolve(stack.internalReplies().length > before ? stack.internalReplies().slice(before) : undefined),
    );
    assert.match(logged.join('\n'), /tests\.info/);
    assert.equal((await ask(s, 'get_test_info', { test_id: stack.seed.test_id })).type, 'test_info', 'the socket keeps serving');
    s.ws.close();
  });

  test('a gateway shutting down answers new frames SERVICE_UNAVAILABLE while it finishes those in flight, then closes with 1001', async () => {
    const c = await stack.inviteCandidate();
    const s = await openAuthed(`${stack.wsUrl}/ws/assessment`, c.token);
    assert.equal((await ask(s, 'start_assessment')).type, 'assessment_started');
    const service = stack.platform.processes.find((p) => p.service === 'assessment');
    const pid = service?.proc.pid;
    assert.ok(pid !== undefined);
    // A request held by a frozen service keeps the gateway draining.
    process.kill(pid, 'SIGSTOP');
    let stopping: Promise<void> | undefined;
    try {
      s.send({ type: 'get_progress', data: {}, id: 'held' });
      // Frames are handled in order: once the heartbeat after it is answered, the held one is in flight.
      assert.equal((await ask(s, 'heartbeat')).type, 'heartbeat_ack');
      stopping = stack.platform.stop('gateway');
      // New frames, one every 100 ms until the socket closes: those the gateway reads after the
      // signal are refused at once; the ones before it join the requests in flight.
      let n = 0;
      const ticker = setInterval(() => {
        if (s.ws.readyState === s.ws.OPEN) s.send({ type: 'get_test_info', data: {}, id: `new-${String((n += 1))}` });
      }, 100);
      void s.closed.then(() => clearInterval(ticker));
      await eventually('a new frame refused while the gateway drains', () =>
        Promise.resolve(
          s.frames.some((f) => f.reply_to?.startsWith('new-') === true && f.data['code'] === 'SERVICE_UNAVAILABLE') ? true : undefined,
        ),
      );
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    assert.equal((await s.closed).code, 1001);
    // The held request got its answer (or its timeout) before the socket closed.
    const held = s.frames.find((f) => f.reply_to === 'held');
    assert.ok(held !== undefined && (held.type === 'progress_update' || held.data['code'] === 'TIMEOUT'), JSON.stringify(held));
    const refused = s.frames.filter((f) => f.reply_to?.startsWith('new-') === true && f.data['code'] === 'SERVICE_UNAVAILABLE');
    assert.ok(refused.length > 0);
    assert.ok(
      refused.every((f) => String(f.data['message']).includes('shutting down')),
      'refused as shutting down, not for another reason',
    );
    await stopping;
    await stack.platform.restart('gateway');
  });
});
