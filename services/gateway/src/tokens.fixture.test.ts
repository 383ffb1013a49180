/**
 * The fixture both token verifier test files share (tokens.test.ts, tokens.edges.test.ts): signing
 * keys, tokens signed with them, a refusal reader, and a stand-in auth service on a real
 * nats-server that publishes the keys a test sets and counts how often it was asked. It holds no
 * tests; its name ends in `.test.ts` so that, like the tests, it stays out of the image
 * (`.dockerignore`).
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach } from 'node:test';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { connectBus } from '@ap/bus';
import type { Bus } from '@ap/bus';
import { createLogger } from '@ap/logging';
import type { Logger } from '@ap/logging';
import { TOKEN_AUDIENCE, TOKEN_ISSUER, isAppError } from '@ap/protocol';
import type { AppError } from '@ap/protocol';
import { startNats } from '@ap/stack';
import type { NatsServer } from '@ap/stack';

export type Key = { kid: string; alg: 'EdDSA' | 'ES256' | 'RS256'; privateKey: CryptoKey; jwk: JWK };

export async function makeKey(kid: string, alg: Key['alg'] = 'EdDSA'): Promise<Key> {
  const pair = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey: pair.privateKey, jwk: { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' } };
}

/** The verifiers' clock; tokens are issued 10 s before it and expire 600 s after it. */
export const NOW = new Date('2026-06-01T12:00:00Z');
export const nowS = Math.floor(NOW.getTime() / 1000);

export type SignOptions = {
  issuer?: string;
  audience?: string;
  /** Leaves out the subject or the expiry. */
  omit?: 'sub' | 'exp';
  /** `false` leaves the key id out of the header. */
  kid?: false;
};

/** A candidate's token for `cand-1` signed by `key`, with `claims` added to (or replacing) the role. */
export async function sign(key: Key, claims: Record<string, unknown> = {}, opts: SignOptions = {}): Promise<string> {
  let jwt = new SignJWT({ role: 'candidate', ...claims })
    .setProtectedHeader(opts.kid === false ? { alg: key.alg } : { alg: key.alg, kid: key.kid })
    .setIssuer(opts.issuer ?? TOKEN_ISSUER)
    .setAudience(opts.audience ?? TOKEN_AUDIENCE)
    .setIssuedAt(nowS - 10);
  if (opts.omit !== 'sub') jwt = jwt.setSubject('cand-1');
  if (opts.omit !== 'exp') jwt = jwt.setExpirationTime(nowS + 600);
  return jwt.sign(key.privateKey);
}

/** The AppError code and message `p` is refused with; fails when it resolves or throws anything else. */
export async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    assert.ok(isAppError(err), String(err));
    return { code: err.code, message: err.message };
  }
  assert.fail('the token was accepted');
}

/** The stand-in auth service: what it publishes, what it fails with, and how often it was asked. */
export type AuthStandIn = {
  /** The gateway's side of the bus, for the verifier under test. */
  readonly bus: Bus;
  /** The keys `authJwks` answers with. */
  published: JWK[];
  /** When set, `authJwks` fails with it instead. */
  failWith: AppError | undefined;
  /** How many `authJwks` requests were served. */
  readonly asked: number;
};

/**
 * Registers `before`/`after` hooks in the current suite that start a nats-server with a gateway
 * and an auth connection and serve `authJwks` from the returned stand-in.
 */
export function authStandIn(log: Logger): AuthStandIn {
  let nats: NatsServer | undefined;
  let gatewayBus: Bus | undefined;
  let authBus: Bus | undefined;
  let asked = 0;
  const standIn: AuthStandIn = {
    get bus() {
      assert.ok(gatewayBus, 'the stand-in auth service is not started (use it inside a test)');
      return gatewayBus;
    },
    published: [],
    failWith: undefined,
    get asked() {
      return asked;
    },
  };

  before(async () => {
    nats = await startNats();
    gatewayBus = await connectBus({ servers: nats.url, name: 'gateway', log });
    authBus = await connectBus({ servers: nats.url, name: 'auth', log });
    authBus.serve('authJwks', 'auth', () => {
      asked += 1;
      if (standIn.failWith !== undefined) throw standIn.failWith;
      return { keys: standIn.published };
    });
    // The subscription reaches the server before any test asks.
    await authBus.nc.flush();
  });

  // Each test starts with nothing published and no failure, and sets what it needs.
  beforeEach(() => {
    standIn.published = [];
    standIn.failWith = undefined;
  });

  after(async () => {
    await gatewayBus?.close();
    await authBus?.close();
    await nats?.close();
  });

  return standIn;
}

/** Runs `fn` with a gateway bus on a nats-server of its own, where no auth service answers. */
export async function withoutAuthService<T>(fn: (bus: Bus) => Promise<T>): Promise<T> {
  const lonely = await startNats();
  const bus = await connectBus({
    servers: lonely.url,
    name: 'gateway-alone',
    log: createLogger({ service: 'tokens-test', level: 'silent' }),
  });
  try {
    return await fn(bus);
  } finally {
    await bus.close();
    await lonely.close();
  }
}
