import { createHash } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import type { JWK } from 'jose';
import type { LtiPlatform } from '@ap/protocol';

/** A registered platform; `_id` derives from its issuer and client id (see {@link platformIdOf}). */
export type PlatformDoc = LtiPlatform & { _id: string; created_by: string; created_at: Date; updated_at: Date };

/** A login initiation waiting for its launch: single use, for ten minutes. */
export type StateDoc = {
  _id: string;
  platform_id: string;
  nonce: string;
  target_link_uri: string;
  expires_at: Date;
};

/** A launch nonce already used (`_id`: platform id and the nonce's hash), kept until its id_token has expired. */
export type NonceDoc = { _id: string; expires_at: Date };

/** A resource link bound to a test (`_id`: platform id and the link id's hash). */
export type LinkDoc = { _id: string; platform_id: string; resource_link_id: string; test_id: string; created_by: string; created_at: Date };

/** A person of a platform (`_id`: platform id and the hash of `sub`) and the user id they have here. */
export type LtiUserDoc = { _id: string; platform_id: string; sub: string; user_id: string; name: string; email?: string; created_at: Date };

/**
 * Where a learner's grade for a test goes (`_id`: `${user_id}:${test_id}`, the key a finished
 * assessment's event gives): the platform, the person's `sub`, and the AGS endpoint of the launch.
 */
export type GradeTargetDoc = {
  _id: string;
  platform_id: string;
  sub: string;
  test_id: string;
  application_id: string;
  resource_link_id: string;
  resource_link_title?: string;
  /** The line item of the resource link, from the launch or found/created through `lineitems`. */
  lineitem?: string;
  lineitems?: string;
  scopes: string[];
  updated_at: Date;
  /** The last score the platform took, and when. */
  last_grade?: { given: number; maximum: number; sent_at: Date; assessment_id: string };
};

/** The tool's RSA key (RS256), shared by every auth replica; it signs client assertions for grade return. */
export type ToolKeyDoc = { _id: string; kid: string; private_jwk: JWK; public_jwk: JWK; created_at: Date };

export type LtiCollections = {
  platforms: Collection<PlatformDoc>;
  states: Collection<StateDoc>;
  nonces: Collection<NonceDoc>;
  links: Collection<LinkDoc>;
  users: Collection<LtiUserDoc>;
  grades: Collection<GradeTargetDoc>;
  toolKeys: Collection<ToolKeyDoc>;
};

const hash = (s: string, n = 32) => createHash('sha256').update(s).digest('hex').slice(0, n);

/** The id of a platform registration: a hash of its issuer and client id. */
export function platformIdOf(issuer: string, clientId: string): string {
  return `ltp_${hash(`${issuer}\n${clientId}`, 24)}`;
}

/** Keys within a platform: ids from outside are hashed so that any length or character set gives a bounded `_id`. */
export function keyWithin(platformId: string, value: string): string {
  return `${platformId}:${hash(value)}`;
}

/**
 * Opens the LTI collections. Every lookup on a launch is by `_id`; listing platforms and finding
 * a platform by issuer alone (a login without client_id) read the small platforms collection.
 */
export async function openLtiCollections(db: Db): Promise<LtiCollections> {
  const col: LtiCollections = {
    platforms: db.collection<PlatformDoc>('lti_platforms'),
    states: db.collection<StateDoc>('lti_states'),
    nonces: db.collection<NonceDoc>('lti_nonces'),
    links: db.collection<LinkDoc>('lti_links'),
    users: db.collection<LtiUserDoc>('lti_users'),
    grades: db.collection<GradeTargetDoc>('lti_grades'),
    toolKeys: db.collection<ToolKeyDoc>('lti_tool_keys'),
  };
  // One index per command (see openCollections): for the purge of expired states and nonces.
  await col.states.createIndexes([{ key: { expires_at: 1 }, name: 'expires_at' }]);
  await col.nonces.createIndexes([{ key: { expires_at: 1 }, name: 'expires_at' }]);
  return col;
}
