import type { Collection, Db } from 'mongodb';
import { createKeyIndex } from '@ap/db';
import type { KeyDoc, KeyIndex } from '@ap/db';
import type { JWK } from 'jose';
import type { Accommodations, Role } from '@ap/protocol';
import type { PasswordHash } from './passwords.ts';

/** A user; candidates have no password (they sign in by invitation). */
export type UserDoc = {
  _id: string;
  email: string;
  name: string;
  role: Role;
  password?: PasswordHash;
  /** Staff: the tests they may see (absent: all). Candidates: every test they were invited to, which decides who may invite them again. */
  tests?: string[];
  created_at: Date;
};

/** A candidate invitation; only the hash of its code is stored. */
export type InvitationDoc = {
  _id: string;
  code_hash: string;
  test_id: string;
  /** The candidate it names; absent for an open code, where each use makes a new candidate. */
  candidate_id?: string;
  /**
   * Set when `candidate_id` is a separate identity for an email whose candidate user also belongs to
   * tests the inviter may not see; such an identity has no user document, its name is `candidate_name`.
   */
  candidate_email?: string;
  application_id?: string;
  /** Name given to candidates of an open code (numbered per use). */
  candidate_name?: string;
  /** Uses of an open code (absent on older documents: 1). */
  max_uses?: number;
  /** Time accommodations for the candidate(s) of this code, carried on their tokens to the deadline at start. */
  accommodations?: Accommodations;
  /** Highest use number taken so far: a hint where to start claiming; the redemptions are the record. */
  uses?: number;
  expires_at: Date;
  created_by: string;
  created_at: Date;
  redeemed_at?: Date;
};

/**
 * One use of an open invitation code: `_id` is `${invitation_id}:${n}` for n in 1..max_uses, so a
 * unique insert claims a use (concurrent redeemers cannot take the same one, on MongoDB or FerretDB).
 */
export type RedemptionDoc = {
  _id: string;
  invitation_id: string;
  candidate_id: string;
  application_id: string;
  redeemed_at: Date;
  /**
   * `re_sign_in`: a named code redeemed again (`_id` is `${invitation_id}:re:${uuid}`); absent: a use
   * of an open code, or the first redemption of a named one (`${invitation_id}:1`, which a unique
   * insert claims so that only one sign-in counts as the first).
   */
  kind?: 're_sign_in';
  /** The client address it was redeemed from, when known. */
  ip?: string;
};

/** A token signing key; it signs until `retire_after`, then stays published until its tokens have expired. */
export type SigningKeyDoc = {
  _id: string;
  alg: string;
  private_jwk: JWK;
  public_jwk: JWK;
  created_at: Date;
  retire_after: Date;
};

/** The collections the auth service owns. */
export type AuthCollections = {
  users: Collection<UserDoc>;
  invitations: Collection<InvitationDoc>;
  redemptions: Collection<RedemptionDoc>;
  signingKeys: Collection<SigningKeyDoc>;
  /** Users by email and invitations by code hash, each a lookup by `_id` (see createKeyIndex). */
  userByEmail: KeyIndex<UserDoc>;
  invitationByCode: KeyIndex<InvitationDoc>;
};

/** Opens the auth collections and creates their indexes (idempotent, safe for replicas starting together). */
export async function openCollections(db: Db): Promise<AuthCollections> {
  const users = db.collection<UserDoc>('users');
  const invitations = db.collection<InvitationDoc>('invitations');
  const signingKeys = db.collection<SigningKeyDoc>('signing_keys');
  const redemptions = db.collection<RedemptionDoc>('invitation_redemptions');
  // One index per createIndexes command: FerretDB 1.24 drops the connection when a command
  // lists several indexes that already exist, which is what every restart does.
  await Promise.all([
    users.createIndexes([{ key: { email: 1 }, name: 'email_unique', unique: true }]),
    invitations.createIndexes([{ key: { code_hash: 1 }, name: 'code_hash_unique', unique: true }]),
    // For cleanup sweeps of expired invitations and for finding a candidate's invitations.
    invitations.createIndexes([{ key: { expires_at: 1 }, name: 'expires_at' }]),
    invitations.createIndexes([{ key: { candidate_id: 1 }, name: 'candidate_id' }]),
    invitations.createIndexes([{ key: { candidate_email: 1 }, name: 'candidate_email' }]),
    signingKeys.createIndexes([{ key: { alg: 1, created_at: -1 }, name: 'alg_created_at' }]),
  ]);
  const userByEmail = createKeyIndex(users, db.collection<KeyDoc>('user_emails'), 'email');
  const invitationByCode = createKeyIndex(invitations, db.collection<KeyDoc>('invitation_codes'), 'code_hash');
  // Databases written before the keys existed, or a writer that stopped between a document and its key.
  await userByEmail.repair();
  await invitationByCode.repair();
  return { users, invitations, redemptions, signingKeys, userByEmail, invitationByCode };
}
