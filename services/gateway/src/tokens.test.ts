import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { createLogger } from '@ap/logging';
import { TOKEN_AUDIENCE, TOKEN_ISSUER } from '@ap/protocol';
import { NOW, authStandIn, makeKey, nowS, refusal, sign, withoutAuthService } from './tokens.fixture.test.ts';
import type { Key } from './tokens.fixture.test.ts';
import { createTokenVerifier } from './tokens.ts';

function unsigned(payload: Record<string, unknown>, header: Record<string, unknown>): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${part(header)}.${part(payload)}.`;
}

describe('token verifier', () => {
  const log = createLogger({ service: 'tokens-test', level: 'silent' });
  const auth = authStandIn(log);
  let ed: Key;
  let es: Key;
  let rsa: Key;

  before(async () => {
    [ed, es, rsa] = await Promise.all([makeKey('ed-1', 'EdDSA'), makeKey('es-1', 'ES256'), makeKey('rs-1', 'RS256')]);
  });

  test('accepts EdDSA and ES256 and maps the claims to the caller', async () => {
    auth.published = [ed.jwk, es.jwk, rsa.jwk];
    const verifier = createTokenVerifier({ bus: auth.bus, log, clock: () => NOW });
    const a = await verifier.verify(await sign(ed, { tests: ['t1'], app: 'app-9', name: 'Ada' }));
    assert.deepEqual(a.caller, { user_id: 'cand-1', role: 'candidate', tests: ['t1'], application_id: 'app-9', name: 'Ada' });
    assert.equal(a.expiresAt.getTime(), (nowS + 600) * 1000);
    const b = await verifier.verify(await sign(es, { role: 'proctor' }));
    assert.deepEqual(b.caller, { user_id: 'cand-1', role: 'proctor' });
  });

  test('pins the algorithms: RS256 from a published key, HS256 and none are refused', async () => {
    auth.published = [ed.jwk, es.jwk, rsa.jwk];
    const verifier = createTokenVerifier({ bus: auth.bus, log, clock: () => NOW });
    assert.ok(await verifier.refresh());
    assert.deepEqual(await refusal(verifier.verify(await sign(rsa))), { code: 'AUTH_INVALID', message: 'token is not valid' });
    const payload = { sub: 'cand-1', role: 'admin', iss: TOKEN_ISSUER, aud: TOKEN_AUDIENCE, exp: nowS + 600 };
    assert.equal((await refusal(verifier.verify(unsigned(payload, { alg: 'none', kid: 'ed-1' })))).code, 'AUTH_INVALID');
    // An HMAC token "signed" with the public key's bytes, the classic confusion attack.
    const hs = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'HS256', kid: 'ed-1' })
      .sign(new TextEncoder().encode(JSON.stringify(ed.jwk)));
    assert.equal((await refusal(verifier.verify(hs))).code, 'AUTH_INVALID');
  });

  test('refuses another issuer or audience, an expired token, and claims outside the schema', async () => {
    auth.published = [ed.jwk];
    const verifier = createTokenVerifier({ bus: auth.bus, log, clock: () => NOW });
    assert.equal((await refusal(verifier.verify(await sign(ed, {}, { issuer: 'someone-else' })))).code, 'AUTH_INVALID');
    assert.equal((await refusal(verifier.verify(await sign(ed, {}, { audience: 'other-app' })))).code, 'AUTH_INVALID');
    const later = createTokenVerifier({ bus: auth.bus, log, clock: () => new Date(NOW.getTime() + 601_000) });
    assert.deepEqual(await refusal(later.verify(await sign(ed))), { code: 'AUTH_INVALID', message: 'token expired' });
    assert.deepEqual(await refusal(verifier.verify(await sign(ed, { role: 'root' }))), {
      code: 'AUTH_INVALID',
      message: 'token claims are not valid',
    });
  });

  test('an unknown key id reloads the keys, at most once in five seconds', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    auth.published = [ed.jwk];
    const verifier = createTokenVerifier({ bus: auth.bus, log, clock: () => NOW });
    assert.ok(await verifier.refresh());
    const before = auth.asked;
    // The auth service rotates to a new key.
    const next = await makeKey('ed-2', 'EdDSA');
    auth.published = [next.jwk];
    const token = await sign(next);
    // Right after a load, an unknown key id is refused without asking again.
    assert.equal((await refusal(verifier.verify(token))).code, 'AUTH_INVALID');
    assert.equal(auth.asked, before);
    t.mock.timers.tick(5001);
    // Later, concurrent tokens with the new key id share one reload and are accepted.
    const all = await Promise.all([verifier.verify(token), verifier.verify(token), verifier.verify(token)]);
    assert.deepEqual(
      all.map((i) => i.caller.user_id),
      ['cand-1', 'cand-1', 'cand-1'],
    );
    assert.equal(auth.asked, before + 1);
    // The retired key is gone with the reload.
    assert.equal((await refusal(verifier.verify(await sign(ed)))).code, 'AUTH_INVALID');
  });

  test('without published keys it is not ready and answers SERVICE_UNAVAILABLE', async () => {
    await withoutAuthService(async (bus) => {
      const verifier = createTokenVerifier({ bus, log, clock: () => NOW });
      assert.equal(await verifier.refresh(), false);
      assert.equal(verifier.ready(), false);
      assert.equal((await refusal(verifier.verify(await sign(ed)))).code, 'SERVICE_UNAVAILABLE');
    });
  });
});
