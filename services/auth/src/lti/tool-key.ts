import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { isDuplicateKey } from '@ap/db';
import type { Collection } from 'mongodb';
import type { ToolKeyDoc } from './store.ts';

/** The algorithm LTI 1.3 requires for the tool's signatures (IMS Security Framework §6.1). */
export const TOOL_ALG = 'RS256';
const KEY_ID = 'tool-rs256';

/** The tool's signing key, as its grade return uses it. */
export type ToolKey = { kid: string; privateKey: CryptoKey | Uint8Array; publicJwk: JWK };

/**
 * The tool's key, generated once and shared by every replica through `lti_tool_keys`: the first
 * replica to insert it wins, the others read it. It is published at /lti/jwks, which the
 * platforms read to verify client assertions. (Rotation is manual: delete the document and
 * restart; platforms that cache the JWKS fetch it again on an unknown `kid`.)
 */
export function createToolKey(keys: Collection<ToolKeyDoc>): () => Promise<ToolKey> {
  let loaded: Promise<ToolKey> | undefined;

  async function load(): Promise<ToolKey> {
    let doc = await keys.findOne({ _id: KEY_ID });
    if (doc === null) {
      const pair = await generateKeyPair(TOOL_ALG, { modulusLength: 2048, extractable: true });
      const kid = randomUUID();
      const fresh: ToolKeyDoc = {
        _id: KEY_ID,
        kid,
        private_jwk: await exportJWK(pair.privateKey),
        public_jwk: { ...(await exportJWK(pair.publicKey)), kid, alg: TOOL_ALG, use: 'sig' },
        created_at: new Date(),
      };
      try {
        await keys.insertOne(fresh);
        doc = fresh;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        doc = await keys.findOne({ _id: KEY_ID });
        if (doc === null) throw err;
      }
    }
    return { kid: doc.kid, privateKey: await importJWK(doc.private_jwk, TOOL_ALG), publicJwk: doc.public_jwk };
  }

  return () => {
    loaded ??= load().catch((err: unknown) => {
      loaded = undefined;
      throw err;
    });
    return loaded;
  };
}
