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
