import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { connectBus } from '@ap/bus';
import type { Bus } from '@ap/bus';
import { createLogger } from '@ap/logging';
import { TOKEN_AUDIENCE, TOKEN_ISSUER, isAppError } from '@ap/protocol';
import { startNats } from '@ap/stack';
import type { NatsServer } from '@ap/stack';
import { createTokenVerifier } from './tokens.ts';

type Key = { kid: string; alg: string; privateKey: CryptoKey; jwk: JWK };

async function makeKey(kid: string, alg: 'EdDSA' | 'ES256' | 'RS256'): Promise<Key> {
  const pair = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey: pair.privateKey, jwk: { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' } };
}

const NOW = new Date('2026-06-01T12:00:00Z');
const nowS = Math.floor(NOW.getTime() / 1000);

async function sign(key: Key, claims: Record<string, unknown> = {}, options: { issuer?: string; audience?: string } = {}): Promise<string> {
  return new SignJWT({ role: 'candidate', ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid })
    .setSubject('cand-1')
    .setIssuer(options.issuer ?? TOKEN_ISSUER)
    .setAudience(options.audience ?? TOKEN_AUDIENCE)
    .setIssuedAt(nowS - 10)
    .setExpirationTime(nowS + 600)
    .sign(key.privateKey);
}

function unsigned(payload: Record<string, unknown>, header: Record<string, unknown>): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${part(header)}.${part(payload)}.`;
}

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    assert.ok(isAppError(err), String(err));
    return { code: err.code, message: err.message };
  }
  assert.fail('the token was accepted');
}

describe('token verifier', () => {
  const log = createLogger({ service: 'tokens-test', level: 'silent' });
  let nats: NatsServer;
  let gatewayBus: Bus;
  let authBus: Bus;
  let ed: Key;
  let es: Key;
  let rsa: Key;
  /** What the stand-in auth service publishes, and how often it was asked. */
  let published: JWK[] = [];
  let asked = 0;

  before(async () => {
    nats = await startNats();
    gatewayBus = await connectBus({ servers: nats.url, name: 'gateway', log });
    authBus = await connectBus({ servers: nats.url, name: 'auth', log });
    [ed, es, rsa] = await Promise.all([makeKey('ed-1', 'EdDSA'), makeKey('es-1', 'ES256'), makeKey('rs-1', 'RS256')]);
    authBus.serve('authJwks', 'auth', () => {
      asked += 1;
      return { keys: published };
    });
    await authBus.nc.flush();
  });

  after(async () => {
    await gatewayBus.close();
    await authBus.close();
    await nats.close();
  });

  test('accepts EdDSA and ES256 and maps the claims to the caller', async () => {
    published = [ed.jwk, es.jwk, rsa.jwk];
    const verifier = createTokenVerifier({ bus: gatewayBus, log, clock: () => NOW });
    const a = await verifier.verify(await sign(ed, { tests: ['t1'], app: 'app-9', name: 'Ada' }));
    assert.deepEqual(a.caller, { user_id: 'cand-1', role: 'candidate', tests: ['t1'], application_id: 'app-9', name: 'Ada' });
    assert.equal(a.expiresAt.getTime(), (nowS + 600) * 1000);
    const b = await verifier.verify(await sign(es, { role: 'proctor' }));
    assert.deepEqual(b.caller, { user_id: 'cand-1', role: 'proctor' });
  });

  test('pins the algorithms: RS256 from a published key, HS256 and none are refused', async () => {
    published = [ed.jwk, es.jwk, rsa.jwk];
    const verifier = createTokenVerifier({ bus: gatewayBus, log, clock: () => NOW });
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
    published = [ed.jwk];
    const verifier = createTokenVerifier({ bus: gatewayBus, log, clock: () => NOW });
    assert.equal((await refusal(verifier.verify(await sign(ed, {}, { issuer: 'someone-else' })))).code, 'AUTH_INVALID');
    assert.equal((await refusal(verifier.verify(await sign(ed, {}, { audience: 'other-app' })))).code, 'AUTH_INVALID');
    const later = createTokenVerifier({ bus: gatewayBus, log, clock: () => new Date(NOW.getTime() + 601_000) });
    assert.deepEqual(await refusal(later.verify(await sign(ed))), { code: 'AUTH_INVALID', message: 'token expired' });
    assert.deepEqual(await refusal(verifier.verify(await sign(ed, { role: 'root' }))), {
      code: 'AUTH_INVALID',
      message: 'token claims are not valid',
    });
  });

  test('an unknown key id reloads the keys, at most once in five seconds', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    published = [ed.jwk];
    const verifier = createTokenVerifier({ bus: gatewayBus, log, clock: () => NOW });
    assert.ok(await verifier.refresh());
    const before = asked;
    // The auth service rotates to a new key.
    const next = await makeKey('ed-2', 'EdDSA');
    published = [next.jwk];
    const token = await sign(next);
    // Right after a load, an unknown key id is refused without asking again.
    assert.equal((await refusal(verifier.verify(token))).code, 'AUTH_INVALID');
    assert.equal(asked, before);
    t.mock.timers.tick(5001);
    // Later, concurrent tokens with the new key id share one reload and are accepted.
    const all = await Promise.all([verifier.verify(token), verifier.verify(token), verifier.verify(token)]);
    assert.deepEqual(
      all.map((i) => i.caller.user_id),
      ['cand-1', 'cand-1', 'cand-1'],
    );
    assert.equal(asked, before + 1);
    // The retired key is gone with the reload.
    assert.equal((await refusal(verifier.verify(await sign(ed)))).code, 'AUTH_INVALID');
  });

  test('without published keys it is not ready and answers SERVICE_UNAVAILABLE', async () => {
    const lonely = await startNats();
    const bus = await connectBus({ servers: lonely.url, name: 'gateway-alone', log });
    try {
      const verifier = createTokenVerifier({ bus, log, clock: () => NOW });
      assert.equal(await verifier.refresh(), false);
      assert.equal(verifier.ready(), false);
      assert.equal((await refusal(verifier.verify(await sign(ed)))).code, 'SERVICE_UNAVAILABLE');
    } finally {
      await bus.close();
      await lonely.close();
    }
  });
});
