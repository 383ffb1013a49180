import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { createLogger } from '@ap/logging';
import { AppError, isAppError } from '@ap/protocol';
import { NOW, authStandIn, makeKey, nowS, refusal, sign, withoutAuthService } from './tokens.fixture.test.ts';
import type { Key } from './tokens.fixture.test.ts';
import { createTokenVerifier } from './tokens.ts';

/** A logger whose lines are kept, for what an operator would read. */
function recordingLogger(): {
  log: ReturnType<typeof createLogger>;
  lines: { level: number; msg: string; module?: string; code?: string; err?: { message?: string } }[];
} {
  const lines: { level: number; msg: string; module?: string; code?: string; err?: { message?: string } }[] = [];
  const log = createLogger({
    service: 'tokens-edges-test',
    level: 'debug',
    destination: { write: (s: string) => void lines.push(JSON.parse(s) as (typeof lines)[number]) },
  });
  return { log, lines };
}

describe('token verifier edges', () => {
  const silent = createLogger({ service: 'tokens-edges-test', level: 'silent' });
  const auth = authStandIn(silent);
  let key: Key;

  before(async () => {
    key = await makeKey('ed-1');
  });

  test('the caller carries accommodations; claims and expiry come back with it', async () => {
    auth.published = [key.jwk];
    const verifier = createTokenVerifier({ bus: auth.bus, log: silent, clock: () => NOW });
    const token = await sign(key, { accommodations: { time_multiplier: 2 }, jti: 'j1' });
    const identity = await verifier.verify(token);
    assert.deepEqual(identity.caller, { user_id: 'cand-1', role: 'candidate', accommodations: { time_multiplier: 2, extra_seconds: 0 } });
    assert.deepEqual(identity.claims, {
      sub: 'cand-1',
      role: 'candidate',
      accommodations: { time_multiplier: 2, extra_seconds: 0 },
      exp: nowS + 600,
      iat: nowS - 10,
      jti: 'j1',
    });
    assert.equal(identity.expiresAt.toISOString(), new Date((nowS + 600) * 1000).toISOString());
  });

  test('a token without a subject or an expiry is not valid, before its claims are read', async () => {
    auth.published = [key.jwk];
    const verifier = createTokenVerifier({ bus: auth.bus, log: silent, clock: () => NOW });
    for (const omit of ['sub', 'exp'] as const)
      assert.deepEqual(
        await refusal(verifier.verify(await sign(key, {}, { omit }))),
        { code: 'AUTH_INVALID', message: 'token is not valid' },
        omit,
      );
  });

  test('text that is not a JWT is not valid', async () => {
    auth.published = [key.jwk];
    const verifier = createTokenVerifier({ bus: auth.bus, log: silent, clock: () => NOW });
    const head = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    for (const token of ['', 'abc', 'a.b.c', `${head('just a string')}.e30.`, `${head({ kid: 7, alg: 'EdDSA' })}.e30.sig`, '%%%.e30.x'])
      assert.deepEqual(await refusal(verifier.verify(token)), { code: 'AUTH_INVALID', message: 'token is not valid' }, token);
  });

  test('the first verify loads the keys; a token without a key id never reloads them', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    auth.published = [key.jwk];
    const verifier = createTokenVerifier({ bus: auth.bus, log: silent, clock: () => NOW });
    assert.equal(verifier.ready(), false);
    const start = auth.asked;
    assert.equal((await verifier.verify(await sign(key, {}, { kid: false }))).caller.user_id, 'cand-1');
    assert.equal(verifier.ready(), true);
    assert.equal(auth.asked, start + 1);
    // A key id-less token of an unknown key: refused, without asking for keys, however late.
    const stranger = await makeKey('x');
    t.mock.timers.tick(60_000);
    assert.equal((await refusal(verifier.verify(await sign(stranger, {}, { kid: false })))).code, 'AUTH_INVALID');
    // A known key id long after the load does not reload either.
    assert.equal((await verifier.verify(await sign(key))).caller.user_id, 'cand-1');
    assert.equal(auth.asked, start + 1);
  });

  test('a key id that is not a string is no key id: it never reloads the keys', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    auth.published = [key.jwk];
    const verifier = createTokenVerifier({ bus: auth.bus, log: silent, clock: () => NOW });
    assert.equal(await verifier.refresh(), true);
    const start = auth.asked;
    t.mock.timers.tick(60_000);
    const signed = (await sign(key)).split('.');
    const head = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    for (const kid of [7, ['ed-2'], { id: 'ed-2' }, null])
      assert.equal(
        (await refusal(verifier.verify(`${head({ alg: 'EdDSA', kid })}.${signed[1] ?? ''}.${signed[2] ?? ''}`))).code,
        'AUTH_INVALID',
        JSON.stringify(kid),
      );
    assert.equal(auth.asked, start);
  });

  test('a refusal keeps what the JWT library found as its cause', async () => {
    auth.published = [key.jwk];
    const later = createTokenVerifier({ bus: auth.bus, log: silent, clock: () => new Date(NOW.getTime() + 601_000) });
    const err = await later.verify(await sign(key)).then(
      () => assert.fail('an expired token was accepted'),
      (e: unknown) => e,
    );
    assert.ok(isAppError(err));
    assert.equal(err.message, 'token expired');
    assert.equal((err.cause as { code?: unknown } | undefined)?.code, 'ERR_JWT_EXPIRED');
  });

  test('an unknown key id reloads only after more than five seconds', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    auth.published = [key.jwk];
    const verifier = createTokenVerifier({ bus: auth.bus, log: silent, clock: () => NOW });
    assert.equal(await verifier.refresh(), true);
    const start = auth.asked;
    const next = await makeKey('ed-2');
    auth.published = [key.jwk, next.jwk];
    t.mock.timers.tick(5000);
    assert.equal((await refusal(verifier.verify(await sign(next)))).code, 'AUTH_INVALID');
    assert.equal(auth.asked, start);
    t.mock.timers.tick(1);
    assert.equal((await verifier.verify(await sign(next))).caller.user_id, 'cand-1');
    assert.equal(auth.asked, start + 1);
  });

  test('each refresh after the last one finished asks again; no keys is not ready to verify', async () => {
    auth.published = [];
    const verifier = createTokenVerifier({ bus: auth.bus, log: silent, clock: () => NOW });
    const start = auth.asked;
    assert.equal(await verifier.refresh(), false);
    assert.equal(await verifier.refresh(), false);
    assert.equal(auth.asked, start + 2);
    auth.published = [key.jwk];
    assert.equal(await verifier.refresh(), true);
    assert.equal(auth.asked, start + 3);
  });

  test('a failed reload keeps the keys it had and is a warning', async () => {
    auth.published = [key.jwk];
    const { log, lines } = recordingLogger();
    const verifier = createTokenVerifier({ bus: auth.bus, log, clock: () => NOW });
    assert.equal(await verifier.refresh(), true);
    auth.failWith = new AppError('TIMEOUT', 'slow');
    assert.equal(await verifier.refresh(), false);
    assert.equal(verifier.ready(), true);
    assert.equal((await verifier.verify(await sign(key))).caller.user_id, 'cand-1');
    const warnings = lines.filter((l) => l.level === 40);
    assert.deepEqual(
      warnings.map((l) => [l.msg, l.module, l.err?.message]),
      [['could not load the JWKS', 'tokens', 'slow']],
    );
  });

  test('before the first keys, an unavailable auth service is reported once as waiting, other failures as warnings', async () => {
    const { log, lines } = recordingLogger();
    await withoutAuthService(async (bus) => {
      const verifier = createTokenVerifier({ bus, log, clock: () => NOW });
      assert.equal(await verifier.refresh(), false);
      assert.equal(await verifier.refresh(), false);
      assert.deepEqual(await refusal(verifier.verify(await sign(key))), {
        code: 'SERVICE_UNAVAILABLE',
        message: 'token keys are not available yet',
      });
      assert.deepEqual(
        lines.map((l) => [l.level, l.msg, l.module, l.code]),
        [[30, 'waiting for the auth service to publish its keys (JWKS); retrying every second', 'tokens', 'SERVICE_UNAVAILABLE']],
      );
    });

    const other = recordingLogger();
    auth.failWith = new AppError('INTERNAL', 'broken');
    const verifier = createTokenVerifier({ bus: auth.bus, log: other.log, clock: () => NOW });
    assert.equal(await verifier.refresh(), false);
    assert.equal(verifier.ready(), false);
    assert.deepEqual(
      other.lines.map((l) => [l.level, l.msg]),
      [[40, 'could not load the JWKS']],
    );
    auth.failWith = new AppError('TIMEOUT', 'slow');
    assert.equal(await verifier.refresh(), false);
    assert.deepEqual(
      other.lines.map((l) => [l.level, l.code]),
      [
        [40, undefined],
        [30, 'TIMEOUT'],
      ],
    );
  });
});
