import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { createLogger } from '@ap/logging';
import { endpointRoles, endpoints, isAppError } from '@ap/protocol';
import type { Caller, EndpointName } from '@ap/protocol';
import { startNats } from '@ap/stack';
import type { NatsServer } from '@ap/stack';
import { createBus } from './bus.ts';
import type { Bus } from './bus.ts';

let server: NatsServer;
let nc: NatsConnection;
let bus: Bus;
const outcomes: { subject: string; outcome: string }[] = [];
let handled = 0;

before(async () => {
  server = await startNats();
  nc = await connect({ servers: server.url });
  bus = createBus(nc, createLogger({ service: 'test', level: 'silent' }), {
    metrics: { requestDone: () => undefined, handled: (subject, outcome) => outcomes.push({ subject, outcome }) },
  });
  bus.serve('assessmentExpireDue', 'roles-test', () => {
    handled += 1;
    return { expired: [] };
  });
  bus.serve('chatOpenRoom', 'roles-test', (req) => {
    handled += 1;
    return { room_id: 'support-1', kind: 'support', topic: req.topic, members: [req.caller.user_id, req.candidate_id] };
  });
  bus.serve('assessmentProgress', 'roles-test', () => {
    handled += 1;
    throw new Error('reached the handler');
  });
});

after(async () => {
  await bus.close();
  await server.close();
});

const as = (role: Caller['role']): Caller => ({ user_id: `${role}-1`, role });

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string; details?: unknown }> {
  try {
    await p;
  } catch (err) {
    if (isAppError(err)) return { code: err.code, message: err.message, details: err.details };
    throw err;
  }
  return { code: 'ok', message: '' };
}

describe('roles declared in the endpoints registry', () => {
  test('a caller without one of the roles is answered FORBIDDEN before the handler runs, and it is counted', async () => {
    outcomes.length = 0;
    handled = 0;
    for (const role of ['candidate', 'proctor', 'recruiter'] as const) {
      const refused = await failure(bus.request('assessmentExpireDue', { caller: as(role) }));
      assert.deepEqual(refused, {
        code: 'FORBIDDEN',
        message: 'only admins may use assessment.v1.expire_due',
        details: { roles: ['admin'] },
      });
    }
    const refused = await failure(bus.request('chatOpenRoom', { caller: as('proctor'), candidate_id: 'c1' }));
    assert.equal(refused.code, 'FORBIDDEN');
    assert.equal(refused.message, 'only recruiters and admins may use chat.v1.rooms.open');
    assert.equal(handled, 0);
    assert.deepEqual(outcomes, [
      ...Array.from({ length: 3 }, () => ({ subject: 'assessment.v1.expire_due', outcome: 'FORBIDDEN' })),
      { subject: 'chat.v1.rooms.open', outcome: 'FORBIDDEN' },
    ]);
  });

  test('a caller with one of the roles reaches the handler', async () => {
    outcomes.length = 0;
    handled = 0;
    assert.deepEqual(await bus.request('assessmentExpireDue', { caller: as('admin') }), { expired: [] });
    const room = await bus.request('chatOpenRoom', { caller: as('recruiter'), candidate_id: 'c1' });
    assert.equal(room.room_id, 'support-1');
    assert.equal(handled, 2);
    assert.deepEqual(
      outcomes.map((o) => o.outcome),
      ['ok', 'ok'],
    );
  });

  test('an endpoint without roles is open to every caller; validation comes before the role check', async () => {
    handled = 0;
    for (const role of ['candidate', 'proctor', 'recruiter', 'admin'] as const) {
      assert.equal((await failure(bus.request('assessmentProgress', { caller: as(role), assessment_id: 'a1' }))).code, 'INTERNAL');
    }
    assert.equal(handled, 4);
    const invalid = await failure(bus.request('assessmentExpireDue', { caller: as('candidate'), limit: -1 }));
    assert.equal(invalid.code, 'VALIDATION_FAILED');
  });

  test('only requests that carry a caller declare roles, and the sign-in endpoints have none', () => {
    for (const name of Object.keys(endpoints) as EndpointName[]) {
      const roles = endpointRoles(name);
      if (roles === undefined) continue;
      const shape = endpoints[name].request.shape as Record<string, unknown>;
      assert.ok('caller' in shape, `${name} declares roles but its request has no caller`);
      assert.ok(roles.length > 0, `${name} declares no role at all`);
    }
    for (const name of ['authLogin', 'authRedeem', 'authJwks'] as const) assert.equal(endpointRoles(name), undefined);
  });
});
