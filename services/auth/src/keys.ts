import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import type { Collection } from 'mongodb';
import type { Logger } from '@ap/logging';
import type { SigningKeyDoc } from './store.ts';

/** Algorithms the auth service signs with. */
export const SIGNING_ALGS = ['ES256', 'EdDSA'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

/** The key that signs new tokens. */
export type SigningKey = { kid: string; alg: SigningAlg; privateKey: CryptoKey | Uint8Array; retireAfter: Date };

/** Signing keys shared by every replica through the `signing_keys` collection. */
export type KeyRing = {
  /** The key to sign with now; rotates (loads a newer key or generates one) once the current key is retired. */
  signingKey(): Promise<SigningKey>;
  /** Public JWKs of keys that sign now or signed tokens that may not have expired yet. */
  publicKeys(): Promise<JWK[]>;
};

// Tolerance for clocks of other replicas and verifiers that run a little behind.
const SKEW_MS = 60_000;

/**
 * Creates the key ring. `maxTokenTtlS` is the longest lifetime of any token, which is how long a
 * retired key stays published.
 */
export function createKeyRing(options: {
  keys: Collection<SigningKeyDoc>;
  alg: SigningAlg;
  maxAgeS: number;
  maxTokenTtlS: number;
  clock: () => Date;
  log: Logger;
}): KeyRing {
  const { keys, alg, clock } = options;
  const log = options.log.child({ module: 'keys' });
  const publishedForMs = options.maxTokenTtlS * 1000 + SKEW_MS;
  let current: SigningKey | undefined;
  // One rotation at a time per process; concurrent callers wait for the same result.
  let rotating: Promise<SigningKey> | undefined;

  async function loadOrCreate(): Promise<SigningKey> {
    const now = clock();
    const newest = await keys.findOne({ alg, retire_after: { $gt: now } }, { sort: { created_at: -1, _id: -1 } });
    if (newest !== null) return toSigningKey(newest);
    const pair = await generateKeyPair(alg, { extractable: true });
    const kid = randomUUID();
    const doc: SigningKeyDoc = {
      _id: kid,
      alg,
      private_jwk: await exportJWK(pair.privateKey),
      public_jwk: { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' },
      created_at: now,
      retire_after: new Date(now.getTime() + options.maxAgeS * 1000),
    };
    // Another replica may insert its own key at the same moment: both keys are published, so
    // tokens from either verify, and each replica simply keeps signing with its own.
    await keys.insertOne(doc);
    log.info({ kid, alg, retire_after: doc.retire_after.toISOString() }, 'generated signing key');
    // Private keys are no longer needed once no token they signed can still be valid.
    const purged = await keys.deleteMany({ retire_after: { $lt: new Date(now.getTime() - publishedForMs) } });
    if (purged.deletedCount > 0) log.info({ deleted: purged.deletedCount }, 'deleted expired signing keys');
    return toSigningKey(doc);
  }

  async function toSigningKey(doc: SigningKeyDoc): Promise<SigningKey> {
    return { kid: doc._id, alg, privateKey: await importJWK(doc.private_jwk, alg), retireAfter: doc.retire_after };
  }

  return {
    async signingKey() {
      if (current !== undefined && current.retireAfter.getTime() > clock().getTime()) return current;
      rotating ??= loadOrCreate().finally(() => {
        rotating = undefined;
      });
      current = await rotating;
      return current;
    },
    async publicKeys() {
      const visibleSince = new Date(clock().getTime() - publishedForMs);
      const docs = await keys
        .find({ retire_after: { $gt: visibleSince } }, { projection: { public_jwk: 1 }, sort: { created_at: -1, _id: -1 } })
        .toArray();
      return docs.map((d) => d.public_jwk);
    },
  };
}
