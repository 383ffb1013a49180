import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import type { JWTPayload } from 'jose';
import { AppError, TOKEN_AUDIENCE, TOKEN_ISSUER, isAppError, tokenClaimsSchema } from '@ap/protocol';
import type { Caller, ErrorCode } from '@ap/protocol';
import { connectBus } from '@ap/bus';
import type { Bus } from '@ap/bus';
import { connectDatabase } from '@ap/db';
import type { Database } from '@ap/db';
import { createLogger } from '@ap/logging';
import { startInfra } from '@ap/stack';
import type { Infra } from '@ap/stack';
import { DEFAULT_AUTH_LIMITS } from './config.ts';
import { createAuthService } from './service.ts';
import type { AuthConfig, AuthService } from './service.ts';
import { createKeyRing } from './keys.ts';
import { signToken } from './tokens.ts';
import { openCollections } from './store.ts';

const ADMIN: Caller = { user_id: 'admin-1', role: 'admin' };
const RECRUITER: Caller = { user_id: 'recruiter-1', role: 'recruiter', tests: ['test-a', 'test-b'] };
const CONFIG: AuthConfig = {
  tokenTtlS: 3600,
  candidateTokenTtlS: 4 * 3600,
  signingAlg: 'EdDSA',
  keyMaxAgeS: 24 * 3600,
  limits: DEFAULT_AUTH_LIMITS,
};
// Tests the assessment service knows, as its `testGet` answers them (any other id is NOT_FOUND).
const KNOWN_TESTS = new Set(['test-a', 'test-b', 'test-x', 'test-y', 'test-z', 'test-q', 'test-demo']);
const HOUR_MS = 3600 * 1000;

// One NATS and one MongoDB-wire server for the whole file; each suite uses its own database.
let infra: Infra;
before(async () => {
  infra = await startInfra();
});
after(async () => {
  await infra.close();
});

/** Resolves when `promise` rejects with an AppError of `code` (and `message`, when given). */
async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, message?: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isAppError(err), `expected AppError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (message !== undefined) assert.equal(err.message, message);
    return true;
  });
}

describe('auth service', { timeout: 120_000 }, () => {
  const log = createLogger({ service: 'auth-test', level: 'silent' });
  const dbName = `auth_test_${String(process.pid)}`;
  // The service's clock: real time plus an offset the tests move forward.
  let offsetMs = 0;
  const clock = () => new Date(Date.now() + offsetMs);
  let database: Database;
  let serverBus: Bus;
  let client: Bus;
  // The assessment service's side of `testGet`, on the same NATS server.
  let peer: Bus;
  let service: AuthService;

  async function verify(token: string, options: { at?: Date; alg?: string } = {}): Promise<JWTPayload> {
    const { keys } = await client.request('authJwks', {});
    const jwks = createLocalJWKSet({ keys });
    const { payload } = await jwtVerify(token, jwks, {
      algorithms: [options.alg ?? 'EdDSA'],
      issuer: TOKEN_ISSUER,
      audience: TOKEN_AUDIENCE,
      ...(options.at === undefined ? {} : { currentDate: options.at }),
    });
    return payload;
  }

  async function counts(): Promise<{ users: number; invitations: number }> {
    return {
      users: await database.db.collection('users').countDocuments(),
      invitations: await database.db.collection('invitations').countDocuments(),
    };
  }

  before(async () => {
    database = await connectDatabase({ url: infra.mongoUrl, name: dbName, log });
    await database.db.dropDatabase();
    // As their NATS users: the service, the operator (who alone may create users), the assessment service.
    serverBus = await connectBus({ servers: infra.natsUrl, nkeySeed: infra.natsIdentities?.auth.seed, name: 'auth-test-server', log });
    client = await connectBus({ servers: infra.natsUrl, nkeySeed: infra.natsIdentities?.cli.seed, name: 'auth-test-client', log });
    peer = await connectBus({ servers: infra.natsUrl, nkeySeed: infra.natsIdentities?.assessment.seed, name: 'auth-test-assessment', log });
    peer.serve('testGet', 'assessment', (req) => {
      if (!KNOWN_TESTS.has(req.test_id)) throw new AppError('NOT_FOUND', `no test ${req.test_id}`);
      return {
        test_id: req.test_id,
        title: req.test_id,
        strategy: 'fixed',
        time_limit_s: 600,
        planned_items: { min: 1, max: 1 },
        skills: [],
        show_feedback: false,
        time_warnings_s: [],
        on_expiry: 'autosubmit',
        grace_s: 0,
      };
    });
    service = await createAuthService({ bus: serverBus, db: database.db, log, clock, config: CONFIG });
  });

  after(async () => {
    await service.close();
    await peer.close();
    await client.close();
    await serverBus.close();
    await database.db.dropDatabase().catch(() => undefined);
    await database.close();
  });

  test('an admin creates users idempotently by email, without changing the password', async () => {
    const first = await client.request('authCreateUser', {
      caller: ADMIN,
      email: 'Proctor@Example.com',
      password: 'proctor-secret',
      role: 'proctor',
      name: 'Pat Proctor',
    });
    assert.equal(first.created, true);
    const again = await client.request('authCreateUser', {
      caller: ADMIN,
      email: 'proctor@example.com',
      password: 'another-password',
      role: 'proctor',
      name: 'Pat Proctor',
    });
    assert.deepEqual(again, { user_id: first.user_id, created: false });
    await client.request('authLogin', { email: 'proctor@example.com', password: 'proctor-secret' });
    await rejectsWith(client.request('authLogin', { email: 'proctor@example.com', password: 'another-password' }), 'AUTH_INVALID');
    await rejectsWith(
      client.request('authCreateUser', { caller: ADMIN, email: 'proctor@example.com', password: 'proctor-secret', role: 'admin' }),
      'CONFLICT',
    );
  });

  test('only an admin may create users', async () => {
    const before = await counts();
    for (const caller of [RECRUITER, { user_id: 'p-1', role: 'proctor' }, { user_id: 'c-1', role: 'candidate' }] as Caller[]) {
      await rejectsWith(
        client.request('authCreateUser', { caller, email: 'sneaky@example.com', password: 'password1', role: 'admin' }),
        'FORBIDDEN',
      );
    }
    await rejectsWith(
      client.request('authCreateUser', { caller: ADMIN, email: 'cand@example.com', password: 'password1', role: 'candidate' }),
      'VALIDATION_FAILED',
    );
    assert.deepEqual(await counts(), before);
  });

  test('login returns a verifiable token; a wrong password and an unknown email get the same answer', async () => {
    const created = await client.request('authCreateUser', {
      caller: ADMIN,
      email: 'rita@example.com',
      password: 'recruiter-secret',
      role: 'recruiter',
      name: 'Rita',
      tests: ['test-a'],
    });
    const t0 = Date.now();
    const login = await client.request('authLogin', { email: ' RITA@example.com ', password: 'recruiter-secret' });
    assert.equal(login.user_id, created.user_id);
    assert.equal(login.role, 'recruiter');
    const expiresAt = Date.parse(login.expires_at);
    assert.equal(new Date(expiresAt).toISOString(), login.expires_at);
    assert.ok(Math.abs(expiresAt - (t0 + CONFIG.tokenTtlS * 1000)) < 5000);

    const header = decodeProtectedHeader(login.token);
    assert.equal(header.alg, 'EdDSA');
    assert.equal(header.typ, 'JWT');
    assert.equal(typeof header.kid, 'string');
    const payload = await verify(login.token);
    const claims = tokenClaimsSchema.parse(payload);
    assert.equal(claims.sub, created.user_id);
    assert.equal(claims.role, 'recruiter');
    assert.deepEqual(claims.tests, ['test-a']);
    assert.equal(claims.app, undefined);
    assert.equal(payload.exp, Math.floor(expiresAt / 1000));
    assert.equal(payload.nbf, payload.iat);
    assert.equal(typeof payload.jti, 'string');

    await rejectsWith(
      client.request('authLogin', { email: 'rita@example.com', password: 'wrong-password' }),
      'AUTH_INVALID',
      'invalid email or password',
    );
    await rejectsWith(
      client.request('authLogin', { email: 'nobody@example.com', password: 'recruiter-secret' }),
      'AUTH_INVALID',
      'invalid email or password',
    );
  });

  test('passwords are stored only as scrypt hashes', async () => {
    await client.request('authCreateUser', { caller: ADMIN, email: 'ada@example.com', password: 'clear-text-secret', role: 'admin' });
    const user = await database.db.collection('users').findOne({ email: 'ada@example.com' });
    assert.ok(user !== null);
    assert.ok(!JSON.stringify(user).includes('clear-text-secret'));
    const password = user['password'] as Record<string, unknown>;
    assert.equal(password['algo'], 'scrypt');
    assert.deepEqual([password['N'], password['r'], password['p']], [16384, 8, 1]);
    assert.equal(Buffer.from(String(password['salt']), 'base64').length, 16);
    assert.ok(Buffer.from(String(password['hash']), 'base64').length >= 32);
  });

  test('an invitation is redeemed for a candidate token scoped to its test and application', async () => {
    const invitation = await client.request('authInvite', {
      caller: RECRUITER,
      test_id: 'test-a',
      candidate_email: 'Cora@Example.com',
      candidate_name: 'Cora',
      expires_in_s: 3600,
    });
    assert.match(invitation.code, /^[A-HJ-KM-NP-Z2-9]{4}-[A-HJ-KM-NP-Z2-9]{4}-[A-HJ-KM-NP-Z2-9]{4}-[A-HJ-KM-NP-Z2-9]{4}$/);
    const stored = await database.db.collection('invitations').findOne({ _id: invitation.invitation_id as never });
    assert.ok(stored !== null);
    assert.ok(!JSON.stringify(stored).includes(invitation.code.replaceAll('-', '')));
    assert.ok(!JSON.stringify(stored).includes(invitation.code));
    assert.equal(stored['created_by'], RECRUITER.user_id);
    assert.equal(stored['redeemed_at'], undefined);

    // Typed by hand: lower case, spaces instead of dashes, stray whitespace.
    const typed = ` ${invitation.code.toLowerCase().replaceAll('-', ' ')} `;
    const redeemed = await client.request('authRedeem', { code: typed });
    assert.equal(redeemed.role, 'candidate');
    assert.equal(redeemed.user_id, invitation.candidate_id);
    assert.equal(redeemed.test_id, 'test-a');
    assert.equal(redeemed.application_id, invitation.application_id);
    const claims = tokenClaimsSchema.parse(await verify(redeemed.token));
    assert.equal(claims.sub, invitation.candidate_id);
    assert.equal(claims.role, 'candidate');
    assert.deepEqual(claims.tests, ['test-a']);
    assert.equal(claims.app, invitation.application_id);
    assert.ok(Math.abs(Date.parse(redeemed.expires_at) - (Date.now() + CONFIG.candidateTokenTtlS * 1000)) < 5000);

    const afterFirst = await database.db.collection('invitations').findOne({ _id: invitation.invitation_id as never });
    assert.ok(afterFirst?.['redeemed_at'] instanceof Date);
    // Usable again until it expires, and the first redemption time is kept.
    const second = await client.request('authRedeem', { code: invitation.code });
    assert.equal(second.application_id, invitation.application_id);
    const afterSecond = await database.db.collection('invitations').findOne({ _id: invitation.invitation_id as never });
    assert.deepEqual(afterSecond?.['redeemed_at'], afterFirst['redeemed_at']);

    // The candidate user has no password and cannot log in with one.
    const candidate = await database.db.collection('users').findOne({ email: 'cora@example.com' });
    assert.equal(candidate?.['role'], 'candidate');
    assert.equal(candidate['password'], undefined);

    // A second invitation for the same email reuses the candidate with a new application.
    const next = await client.request('authInvite', { caller: ADMIN, test_id: 'test-z', candidate_email: 'cora@example.com' });
    assert.equal(next.candidate_id, invitation.candidate_id);
    assert.notEqual(next.application_id, invitation.application_id);
  });

  test('only recruiters (for their tests) and admins may invite', async () => {
    const before = await counts();
    await rejectsWith(
      client.request('authInvite', { caller: RECRUITER, test_id: 'test-other', candidate_email: 'x@example.com' }),
      'FORBIDDEN',
    );
    for (const caller of [
      { user_id: 'p-1', role: 'proctor' },
      { user_id: 'c-1', role: 'candidate' },
    ] as Caller[]) {
      await rejectsWith(client.request('authInvite', { caller, test_id: 'test-a', candidate_email: 'x@example.com' }), 'FORBIDDEN');
    }
    assert.deepEqual(await counts(), before);
    // A recruiter without a tests list may invite to any test; a staff email cannot become a candidate.
    await client.request('authInvite', {
      caller: { user_id: 'r-2', role: 'recruiter' },
      test_id: 'test-q',
      candidate_email: 'y@example.com',
    });
    await rejectsWith(client.request('authInvite', { caller: ADMIN, test_id: 'test-a', candidate_email: 'rita@example.com' }), 'CONFLICT');
  });

  test('a given code is idempotent for the same candidate and test, and a conflict otherwise', async () => {
    const request = { caller: ADMIN, test_id: 'test-demo', candidate_email: 'demo@example.com', code: 'demo-code-2024' };
    const first = await client.request('authInvite', request);
    assert.equal(first.code, 'DEMO-CODE-2024');
    const again = await client.request('authInvite', { ...request, code: 'DEMO-CODE-2024' });
    assert.deepEqual(again, first);
    const before = await counts();
    await rejectsWith(client.request('authInvite', { ...request, candidate_email: 'other@example.com' }), 'CONFLICT');
    await rejectsWith(client.request('authInvite', { ...request, test_id: 'test-a' }), 'CONFLICT');
    assert.deepEqual(await counts(), before);
    const redeemed = await client.request('authRedeem', { code: 'DEMO-CODE-2024' });
    assert.equal(redeemed.application_id, first.application_id);
  });

  test('an expired invitation and an unknown code are refused', async () => {
    const invitation = await client.request('authInvite', {
      caller: ADMIN,
      test_id: 'test-a',
      candidate_email: 'late@example.com',
      expires_in_s: 600,
    });
    offsetMs = 601 * 1000;
    try {
      await rejectsWith(client.request('authRedeem', { code: invitation.code }), 'INVITATION_EXPIRED');
    } finally {
      offsetMs = 0;
    }
    const stored = await database.db.collection('invitations').findOne({ _id: invitation.invitation_id as never });
    assert.equal(stored?.['redeemed_at'], undefined);
    await rejectsWith(client.request('authRedeem', { code: 'ZZZZ-ZZZZ-ZZ' }), 'AUTH_INVALID', 'invalid invitation code');
  });

  test('an open code with N uses admits exactly N candidates under concurrent redemption', async () => {
    const invitation = await client.request('authInvite', { caller: RECRUITER, test_id: 'test-a', max_uses: 5, candidate_name: 'Walk-in' });
    assert.equal(invitation.max_uses, 5);
    assert.equal(invitation.candidate_id, undefined);
    const attempts = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        client.request('authRedeem', { code: invitation.code, ...(i === 0 ? { name: 'Ada Lovelace' } : {}) }),
      ),
    );
    const won = attempts.flatMap((a) => (a.status === 'fulfilled' ? [a.value] : []));
    const lost = attempts.flatMap((a) => (a.status === 'rejected' ? [a.reason as { code?: string }] : []));
    assert.equal(won.length, 5, 'exactly max_uses redemptions succeed');
    assert.deepEqual([...new Set(lost.map((e) => e.code))], ['INVITATION_USED']);
    assert.equal(new Set(won.map((w) => w.user_id)).size, 5, 'each use is a new candidate');
    assert.equal(new Set(won.map((w) => w.application_id)).size, 5);
    const names = await Promise.all(won.map(async (w) => tokenClaimsSchema.parse(await verify(w.token)).name));
    assert.ok(
      names.every((n) => n === 'Ada Lovelace' || /^Walk-in [1-5]$/.test(n ?? '')),
      names.join(', '),
    );
    const uses = await database.db.collection('invitation_redemptions').countDocuments({ invitation_id: invitation.invitation_id });
    assert.equal(uses, 5);
    await rejectsWith(
      client.request('authRedeem', { code: invitation.code }),
      'INVITATION_USED',
      'this invitation code was used 5 times, its limit',
    );
  });

  test('a single-use open code works once; a named code cannot have several uses', async () => {
    const invitation = await client.request('authInvite', { caller: ADMIN, test_id: 'test-a' });
    assert.equal(invitation.max_uses, 1);
    const [first, second] = await Promise.allSettled([
      client.request('authRedeem', { code: invitation.code }),
      client.request('authRedeem', { code: invitation.code }),
    ]);
    assert.equal([first, second].filter((r) => r.status === 'fulfilled').length, 1);
    await rejectsWith(client.request('authRedeem', { code: invitation.code }), 'INVITATION_USED', 'this invitation code was already used');
    const before = await counts();
    await rejectsWith(
      client.request('authInvite', { caller: ADMIN, test_id: 'test-a', candidate_email: 'many@example.com', max_uses: 3 }),
      'VALIDATION_FAILED',
    );
    assert.deepEqual(await counts(), before);
  });

  test('a tampered token, or one checked with another algorithm, fails verification', async () => {
    const invitation = await client.request('authInvite', { caller: ADMIN, test_id: 'test-a', candidate_email: 'tamper@example.com' });
    const { token } = await client.request('authRedeem', { code: invitation.code });
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url');
    await assert.rejects(verify(`${header}.${forged}.${signature}`), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
    const flipped = (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1);
    await assert.rejects(verify(`${header}.${payload}.${flipped}`), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
    await assert.rejects(verify(token, { alg: 'ES256' }));
    await assert.rejects(verify(token, { at: new Date(Date.now() + CONFIG.candidateTokenTtlS * 1000 + 1000) }), {
      code: 'ERR_JWT_EXPIRED',
    });
  });

  test('bad payloads are VALIDATION_FAILED and write nothing', async () => {
    const before = await counts();
    const bad: Array<[Parameters<Bus['request']>[0], unknown]> = [
      ['authCreateUser', { caller: ADMIN, email: 'not-an-email', password: 'password1', role: 'admin' }],
      ['authCreateUser', { caller: ADMIN, email: 'short@example.com', password: 'short', role: 'admin' }],
      ['authCreateUser', { email: 'nocaller@example.com', password: 'password1', role: 'admin' }],
      ['authInvite', { caller: ADMIN, candidate_email: 'v@example.com' }],
      ['authInvite', { caller: ADMIN, test_id: 'has space', candidate_email: 'v@example.com' }],
      ['authInvite', { caller: ADMIN, test_id: 'test-a', candidate_email: 'v@example.com', code: '-- -- --' }],
      ['authLogin', { email: 'a@example.com', password: 'x', extra: true }],
      ['authRedeem', {}],
    ];
    for (const [name, payload] of bad) {
      await rejectsWith(client.request(name, payload as never), 'VALIDATION_FAILED');
    }
    assert.deepEqual(await counts(), before);
  });

  test('a second replica on the same database starts and reuses the signing key', async () => {
    const { keys: before } = await client.request('authJwks', {});
    const replica = await createAuthService({ bus: serverBus, db: database.db, log, clock, config: CONFIG });
    try {
      const { keys: after } = await client.request('authJwks', {});
      assert.deepEqual(after, before);
      // Requests are now spread over both replicas; every token verifies with the same key.
      for (let i = 0; i < 4; i++) {
        const login = await client.request('authLogin', { email: 'rita@example.com', password: 'recruiter-secret' });
        assert.equal(decodeProtectedHeader(login.token).kid, before[0]?.['kid']);
        await verify(login.token);
      }
    } finally {
      await replica.close();
    }
  });

  test('the JWKS publishes public keys only', async () => {
    const { keys } = await client.request('authJwks', {});
    assert.ok(keys.length >= 1);
    for (const key of keys) {
      assert.equal(key['use'], 'sig');
      assert.equal(key['alg'], 'EdDSA');
      assert.equal(typeof key['kid'], 'string');
      assert.equal(key['d'], undefined);
    }
  });

  /** 'ok', or the code of the AppError the request failed with. */
  async function outcome(promise: Promise<unknown>): Promise<string> {
    try {
      await promise;
      return 'ok';
    } catch (err) {
      return isAppError(err) ? err.code : String(err);
    }
  }

  async function rejection(promise: Promise<unknown>): Promise<{ code: string; details: Record<string, unknown> | undefined }> {
    try {
      await promise;
    } catch (err) {
      assert.ok(isAppError(err), String(err));
      return { code: err.code, details: err.details };
    }
    throw new Error('expected the request to fail');
  }

  function tally(outcomes: readonly string[]): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const o of outcomes) counts[o] = (counts[o] ?? 0) + 1;
    return counts;
  }

  test('fifty wrong passwords for one account: RATE_LIMITED after the tenth, with how long to wait; right logins never count', async () => {
    const email = 'locked@example.com';
    await client.request('authCreateUser', { caller: ADMIN, email, password: 'locked-secret', role: 'proctor' });
    await client.request('authCreateUser', { caller: ADMIN, email: 'unlocked@example.com', password: 'unlocked-secret', role: 'proctor' });
    for (let i = 0; i < 15; i++) await client.request('authLogin', { email, password: 'locked-secret' });
    const outcomes: string[] = [];
    for (let i = 0; i < 50; i++) outcomes.push(await outcome(client.request('authLogin', { email, password: `wrong-${String(i)}` })));
    assert.deepEqual(outcomes.slice(0, 10), Array<string>(10).fill('AUTH_INVALID'));
    assert.deepEqual(outcomes.slice(10), Array<string>(40).fill('RATE_LIMITED'));
    // Now the right password is refused too, without being checked, and the reply says when to come back.
    const limited = await rejection(client.request('authLogin', { email, password: 'locked-secret' }));
    assert.equal(limited.code, 'RATE_LIMITED');
    const retryAfterMs = Number(limited.details?.['retry_after_ms']);
    const { limit, windowS } = DEFAULT_AUTH_LIMITS.loginPerAccount;
    assert.ok(retryAfterMs > 0 && retryAfterMs <= (windowS * 1000) / limit, String(retryAfterMs));
    // Other accounts are not affected; once the wait is over, the right password works again.
    await client.request('authLogin', { email: 'unlocked@example.com', password: 'unlocked-secret' });
    offsetMs = retryAfterMs + 1000;
    try {
      await client.request('authLogin', { email, password: 'locked-secret' });
    } finally {
      offsetMs = 0;
    }
  });

  test('wrong passwords from one address are throttled across accounts; another address is not', async () => {
    await client.request('authCreateUser', { caller: ADMIN, email: 'office@example.com', password: 'office-secret', role: 'recruiter' });
    const { limit } = DEFAULT_AUTH_LIMITS.loginPerAddress;
    const outcomes: string[] = [];
    for (let i = 0; i <= limit; i++) {
      outcomes.push(
        await outcome(client.request('authLogin', { email: `guess-${String(i)}@example.com`, password: 'password', ip: '198.51.100.7' })),
      );
    }
    assert.deepEqual(tally(outcomes), { AUTH_INVALID: limit, RATE_LIMITED: 1 });
    // IPv4-mapped IPv6 is the same address.
    assert.equal(
      await outcome(client.request('authLogin', { email: 'office@example.com', password: 'office-secret', ip: '::ffff:198.51.100.7' })),
      'RATE_LIMITED',
    );
    await client.request('authLogin', { email: 'office@example.com', password: 'office-secret', ip: '198.51.100.8' });
  });

  test('a flood of wrong logins from one address leaves right logins and redemptions from others prompt', async () => {
    await client.request('authCreateUser', { caller: ADMIN, email: 'flooded@example.com', password: 'flooded-secret', role: 'recruiter' });
    // Five people signing in right, each from their own address.
    const calm = Array.from({ length: 5 }, (_, i) => `calm-${String(i)}@example.com`);
    for (const email of calm) await client.request('authCreateUser', { caller: ADMIN, email, password: 'calm-secret', role: 'recruiter' });
    const open = await client.request('authInvite', { caller: ADMIN, test_id: 'test-a', max_uses: 10 });
    const flood = Array.from({ length: 600 }, (_, i) =>
      outcome(client.request('authLogin', { email: 'flooded@example.com', password: `nope-${String(i)}`, ip: '203.0.113.66' })),
    );
    const startedAt = Date.now();
    const rightOnes = await Promise.all([
      ...calm.map((email, i) =>
        outcome(client.request('authLogin', { email, password: 'calm-secret', ip: `203.0.113.${String(100 + i)}` })),
      ),
      ...Array.from({ length: 5 }, () => outcome(client.request('authRedeem', { code: open.code, ip: '203.0.113.99' }))),
    ]);
    const tookMs = Date.now() - startedAt;
    const flooded = tally(await Promise.all(flood));
    assert.deepEqual(rightOnes, Array<string>(10).fill('ok'), JSON.stringify(flooded));
    // Well inside the 4 s handler timeout, which is what used to answer them SERVICE_UNAVAILABLE.
    assert.ok(tookMs < 3500, `right logins took ${String(tookMs)} ms`);
    assert.deepEqual(Object.keys(flooded).sort(), ['AUTH_INVALID', 'RATE_LIMITED']);
    assert.ok((flooded['AUTH_INVALID'] ?? 0) <= DEFAULT_AUTH_LIMITS.loginPerAccount.limit, JSON.stringify(flooded));
  });

  test('a flood of wrong logins from many addresses is refused early (RATE_LIMITED), never SERVICE_UNAVAILABLE', async () => {
    await client.request('authCreateUser', { caller: ADMIN, email: 'patient@example.com', password: 'patient-secret', role: 'recruiter' });
    const open = await client.request('authInvite', { caller: ADMIN, test_id: 'test-a', max_uses: 10 });
    const flood = Array.from({ length: 400 }, (_, i) =>
      outcome(
        client.request('authLogin', {
          email: `bot-${String(i)}@example.com`,
          password: 'hunter22',
          ip: `10.${String(i >> 8)}.${String(i & 255)}.1`,
        }),
      ),
    );
    const redemptions = await Promise.all(
      Array.from({ length: 10 }, () => outcome(client.request('authRedeem', { code: open.code, ip: '10.200.0.1' }))),
    );
    // A right login under the flood gets in, at worst after the waits the replies ask for.
    const deadline = Date.now() + 10_000;
    let login = await outcome(client.request('authLogin', { email: 'patient@example.com', password: 'patient-secret', ip: '10.200.0.2' }));
    while (login === 'RATE_LIMITED' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      login = await outcome(client.request('authLogin', { email: 'patient@example.com', password: 'patient-secret', ip: '10.200.0.2' }));
    }
    const flooded = tally(await Promise.all(flood));
    assert.deepEqual(redemptions, Array<string>(10).fill('ok'), JSON.stringify(flooded));
    assert.equal(login, 'ok');
    assert.deepEqual(Object.keys(flooded).sort(), ['AUTH_INVALID', 'RATE_LIMITED'], JSON.stringify(flooded));
    assert.ok((flooded['RATE_LIMITED'] ?? 0) > 300, JSON.stringify(flooded));
  });

  test('a hundred random codes from one address: RATE_LIMITED after the limit; real codes do not count', async () => {
    const { limit } = DEFAULT_AUTH_LIMITS.redeemPerAddress;
    const real = await client.request('authInvite', { caller: ADMIN, test_id: 'test-a', max_uses: 30 });
    const guesses: string[] = [];
    for (let i = 0; i < 100; i++) {
      const code = Array.from({ length: 4 }, () => Math.random().toString(36).slice(2, 6).toUpperCase().padEnd(4, 'X')).join('-');
      guesses.push(await outcome(client.request('authRedeem', { code, ip: '192.0.2.50' })));
    }
    assert.deepEqual(tally(guesses), { AUTH_INVALID: limit, RATE_LIMITED: 100 - limit });
    const limited = await rejection(client.request('authRedeem', { code: real.code, ip: '192.0.2.50' }));
    assert.equal(limited.code, 'RATE_LIMITED');
    assert.ok(Number(limited.details?.['retry_after_ms']) > 0);
    // A classroom behind one address redeeming real codes is never throttled.
    for (let i = 0; i < 30; i++) await client.request('authRedeem', { code: real.code, ip: '192.0.2.51' });
    assert.equal(await outcome(client.request('authRedeem', { code: real.code, ip: '192.0.2.51' })), 'INVITATION_USED');
  });

  test('a chosen code needs at least 12 letters or digits', async () => {
    const before = await counts();
    const refused = await rejection(client.request('authInvite', { caller: ADMIN, test_id: 'test-a', code: 'SHORT-CODE-1' }));
    assert.equal(refused.code, 'VALIDATION_FAILED');
    assert.deepEqual(refused.details, { field: 'code', min_length: 12 });
    assert.deepEqual(await counts(), before);
    const chosen = await client.request('authInvite', { caller: ADMIN, test_id: 'test-a', code: 'spring-intake-2030' });
    assert.equal(chosen.code, 'SPRING-INTAKE-2030');
  });

  test('an invitation to a test that does not exist is NOT_FOUND and writes nothing', async () => {
    const before = await counts();
    await rejectsWith(
      client.request('authInvite', { caller: ADMIN, test_id: 'test-missing', candidate_email: 'ghost@example.com' }),
      'NOT_FOUND',
    );
    await rejectsWith(
      client.request('authInvite', { caller: { user_id: 'r-3', role: 'recruiter' }, test_id: 'test-missing' }),
      'NOT_FOUND',
    );
    assert.deepEqual(await counts(), before);
  });

  test('a recruiter of another test cannot mint a token as a candidate of a test they cannot see', async () => {
    const recruiterX: Caller = { user_id: 'recruiter-x', role: 'recruiter', tests: ['test-x'] };
    const recruiterY: Caller = { user_id: 'recruiter-y', role: 'recruiter', tests: ['test-y'] };
    const victim = await client.request('authInvite', {
      caller: recruiterX,
      test_id: 'test-x',
      candidate_email: 'victim@example.com',
      candidate_name: 'Vic',
    });
    await client.request('authRedeem', { code: victim.code });
    const lure = await client.request('authInvite', { caller: recruiterY, test_id: 'test-y', candidate_email: 'victim@example.com' });
    assert.ok(lure.candidate_id !== undefined && victim.candidate_id !== undefined);
    assert.notEqual(lure.candidate_id, victim.candidate_id);
    const redeemed = await client.request('authRedeem', { code: lure.code });
    const claims = tokenClaimsSchema.parse(await verify(redeemed.token));
    assert.equal(claims.sub, lure.candidate_id);
    assert.notEqual(claims.sub, victim.candidate_id);
    assert.deepEqual(claims.tests, ['test-y']);
    // The separate identity is the candidate for test-y from now on; test-x's recruiter still reaches the original.
    const again = await client.request('authInvite', { caller: recruiterY, test_id: 'test-y', candidate_email: 'victim@example.com' });
    assert.equal(again.candidate_id, lure.candidate_id);
    const back = await client.request('authInvite', { caller: recruiterX, test_id: 'test-x', candidate_email: 'victim@example.com' });
    assert.equal(back.candidate_id, victim.candidate_id);
    // Someone who may see test-x and test-z invites the same person to test-z: the same candidate.
    const both: Caller = { user_id: 'recruiter-xz', role: 'recruiter', tests: ['test-x', 'test-z'] };
    const same = await client.request('authInvite', { caller: both, test_id: 'test-z', candidate_email: 'victim@example.com' });
    assert.equal(same.candidate_id, victim.candidate_id);
    // ...after which test-x's recruiter alone no longer sees all of that candidate's tests.
    const scoped = await client.request('authInvite', { caller: recruiterX, test_id: 'test-x', candidate_email: 'victim@example.com' });
    assert.notEqual(scoped.candidate_id, victim.candidate_id);
    assert.notEqual(scoped.candidate_id, lure.candidate_id);
  });

  test('names given at redemption and invitation are cleaned like chat text', async () => {
    const open = await client.request('authInvite', {
      caller: ADMIN,
      test_id: 'test-a',
      max_uses: 2,
      candidate_name: 'Walk\u202e-in\u0007',
    });
    const named = await client.request('authRedeem', { code: open.code, name: '\u202eAda\u0000 Lovelace\r\n\u2066exe\u2069' });
    assert.equal(tokenClaimsSchema.parse(await verify(named.token)).name, 'Ada Lovelace exe');
    const unnamed = await client.request('authRedeem', { code: open.code, name: '\u202e\u0000' });
    assert.equal(tokenClaimsSchema.parse(await verify(unnamed.token)).name, 'Walk-in 2');
    const invited = await client.request('authInvite', {
      caller: ADMIN,
      test_id: 'test-a',
      candidate_email: 'bidi@example.com',
      candidate_name: 'Eve\u202egnp.exe',
    });
    const eve = await client.request('authRedeem', { code: invited.code });
    assert.equal(tokenClaimsSchema.parse(await verify(eve.token)).name, 'Evegnp.exe');
    await client.request('authCreateUser', {
      caller: ADMIN,
      email: 'ctl@example.com',
      password: 'ctl-secret',
      role: 'proctor',
      name: 'Pat\u0000\u202d Proctor',
    });
    const stored = await database.db.collection('users').findOne({ email: 'ctl@example.com' });
    assert.equal(stored?.['name'], 'Pat Proctor');
  });

  test('a named code redeemed again is marked on the reply and token, recorded and published', async () => {
    const invitation = await client.request('authInvite', { caller: RECRUITER, test_id: 'test-b', candidate_email: 'again@example.com' });
    const published: unknown[] = [];
    // The assessment service is who listens.
    const sub = peer.subscribe('reSignIn', undefined, (event) => {
      published.push(event);
    });
    await peer.nc.flush();
    try {
      const first = await client.request('authRedeem', { code: invitation.code, ip: '192.0.2.80' });
      assert.equal(first.re_sign_in, undefined);
      assert.equal(tokenClaimsSchema.parse(await verify(first.token)).re_sign_in, undefined);
      const second = await client.request('authRedeem', { code: invitation.code, ip: '192.0.2.81' });
      assert.equal(second.re_sign_in, true);
      assert.equal(second.user_id, first.user_id);
      assert.equal(tokenClaimsSchema.parse(await verify(second.token)).re_sign_in, true);
      const deadline = Date.now() + 5000;
      while (published.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(published.length, 1);
      assert.deepEqual(
        { ...(published[0] as Record<string, unknown>), at: undefined },
        {
          candidate_id: invitation.candidate_id,
          test_id: 'test-b',
          application_id: invitation.application_id,
          invitation_id: invitation.invitation_id,
          ip: '192.0.2.81',
          at: undefined,
        },
      );
      // The first sign-in is recorded too: its unique insert is what makes it the first.
      const records = await database.db.collection('invitation_redemptions').find({ invitation_id: invitation.invitation_id }).toArray();
      assert.deepEqual(
        records.map((r): unknown[] => [r['kind'], r['ip']]).sort((x, y) => String(x[1]).localeCompare(String(y[1]))),
        [
          [undefined, '192.0.2.80'],
          ['re_sign_in', '192.0.2.81'],
        ],
      );
    } finally {
      sub.unsubscribe();
    }
  });
});

describe('signing keys', { timeout: 120_000 }, () => {
  const log = createLogger({ service: 'auth-test', level: 'silent' });
  let database: Database;

  before(async () => {
    database = await connectDatabase({ url: infra.mongoUrl, name: `auth_keys_test_${String(process.pid)}`, log });
    await database.db.dropDatabase();
  });

  after(async () => {
    await database.db.dropDatabase().catch(() => undefined);
    await database.close();
  });

  test('rotate after their maximum age and stay published until their tokens expire', async () => {
    const { signingKeys } = await openCollections(database.db);
    let now = new Date('2030-01-01T00:00:00Z');
    const ring = createKeyRing({ keys: signingKeys, alg: 'ES256', maxAgeS: 24 * 3600, maxTokenTtlS: 4 * 3600, clock: () => now, log });
    const jwks = async () => createLocalJWKSet({ keys: await ring.publicKeys() });
    const check = async (token: string) =>
      jwtVerify(token, await jwks(), { algorithms: ['ES256'], issuer: TOKEN_ISSUER, audience: TOKEN_AUDIENCE, currentDate: now });

    const first = await ring.signingKey();
    assert.equal((await ring.signingKey()).kid, first.kid);
    const oldToken = await signToken(first, { userId: 'u-1', role: 'proctor' }, new Date(now.getTime() + 23 * HOUR_MS), 4 * 3600);

    now = new Date(now.getTime() + 24 * HOUR_MS + 1000);
    const second = await ring.signingKey();
    assert.notEqual(second.kid, first.kid);
    const kids = (await ring.publicKeys()).map((k) => k.kid);
    assert.deepEqual(kids, [second.kid, first.kid]);
    await check(oldToken.token);
    const newToken = await signToken(second, { userId: 'u-1', role: 'proctor' }, now, 3600);
    assert.equal(decodeProtectedHeader(newToken.token).kid, second.kid);
    await check(newToken.token);

    // Past the longest token lifetime after retirement, the old key is no longer published.
    now = new Date(now.getTime() + 4 * HOUR_MS + 120_000);
    assert.deepEqual(
      (await ring.publicKeys()).map((k) => k.kid),
      [second.kid],
    );
  });

  test('replicas starting together both sign verifiable tokens', async () => {
    await database.db.collection('signing_keys').deleteMany({});
    const { signingKeys } = await openCollections(database.db);
    const now = new Date();
    const options = { keys: signingKeys, alg: 'EdDSA' as const, maxAgeS: 3600, maxTokenTtlS: 3600, clock: () => now, log };
    const ring0 = createKeyRing(options);
    const rings = [ring0, createKeyRing(options)];
    const keys = await Promise.all(rings.map((r) => r.signingKey()));
    const published = createLocalJWKSet({ keys: await ring0.publicKeys() });
    for (const key of keys) {
      const { token } = await signToken(key, { userId: 'u-2', role: 'admin' }, now, 600);
      await jwtVerify(token, published, { algorithms: ['EdDSA'], issuer: TOKEN_ISSUER, audience: TOKEN_AUDIENCE, currentDate: now });
    }
  });
});
