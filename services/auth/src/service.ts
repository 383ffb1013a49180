import { randomUUID } from 'node:crypto';
import { AppError } from '@ap/protocol';
import type { EndpointName, ParsedRequestOf, ResponseOf, Role } from '@ap/protocol';
import type { Bus, Handler } from '@ap/bus';
import { isDuplicateKey } from '@ap/db';
import type { Db } from '@ap/db';
import type { Logger } from '@ap/logging';
import { MIN_CODE_LENGTH, generateInvitationCode, hashCode, normaliseCode } from './codes.ts';
import { createKeyRing } from './keys.ts';
import type { SigningAlg } from './keys.ts';
import { hashPassword, verifyPassword } from './passwords.ts';
import { openCollections } from './store.ts';
import type { InvitationDoc, RedemptionDoc, UserDoc } from './store.ts';
import { signToken } from './tokens.ts';

/** Settings of the auth service, parsed from the environment by main.ts. */
export type AuthConfig = {
  /** Lifetime of staff tokens (login). */
  tokenTtlS: number;
  /** Lifetime of candidate tokens (invitation redemption). */
  candidateTokenTtlS: number;
  signingAlg: SigningAlg;
  /** How long a signing key signs before a new one replaces it. */
  keyMaxAgeS: number;
};

/** What createAuthService needs: open connections, a logger, the time source and settings. */
export type AuthDependencies = { bus: Bus; db: Db; log: Logger; clock: () => Date; config: AuthConfig };

/** A running auth service; `close` stops taking requests and waits for those in progress. */
export type AuthService = { name: string; close(): Promise<void> };

const QUEUE = 'auth';
// A random invitation code colliding with a stored one is astronomically unlikely; retry a few times anyway.
const CODE_ATTEMPTS = 3;

/**
 * Creates the auth collections and indexes, loads or generates the signing key, and serves
 * login, user creation, invitations, redemption and the JWKS on the bus in the `auth` queue group.
 */
export async function createAuthService(deps: AuthDependencies): Promise<AuthService> {
  const { bus, clock, config } = deps;
  const log = deps.log.child({ module: 'auth' });
  const { users, invitations, redemptions, signingKeys } = await openCollections(deps.db);
  const keyRing = createKeyRing({
    keys: signingKeys,
    alg: config.signingAlg,
    maxAgeS: config.keyMaxAgeS,
    maxTokenTtlS: Math.max(config.tokenTtlS, config.candidateTokenTtlS),
    clock,
    log: deps.log,
  });
  // Fail at start-up, not at the first login, when keys cannot be loaded or stored.
  await keyRing.signingKey();

  async function login(req: ParsedRequestOf<'authLogin'>): Promise<ResponseOf<'authLogin'>> {
    const user = await users.findOne({ email: req.email });
    // Candidates have no password, so they fail here like an unknown email does.
    const valid = await verifyPassword(req.password, user?.password);
    if (user === null || !valid) throw new AppError('AUTH_INVALID', 'invalid email or password');
    const key = await keyRing.signingKey();
    const issued = await signToken(key, { userId: user._id, role: user.role, tests: user.tests, name: displayName(user) }, clock(), config.tokenTtlS);
    log.info({ user_id: user._id, role: user.role, kid: key.kid }, 'login');
    return { token: issued.token, expires_at: issued.expiresAt.toISOString(), user_id: user._id, role: user.role };
  }

  async function createUser(req: ParsedRequestOf<'authCreateUser'>): Promise<ResponseOf<'authCreateUser'>> {
    if (req.caller.role !== 'admin') throw new AppError('FORBIDDEN', 'only an admin can create users');
    if (req.role === 'candidate') {
      throw new AppError('VALIDATION_FAILED', 'candidates are created by invitations, not with a password');
    }
    const existing = await users.findOne({ email: req.email });
    if (existing !== null) return sameUser(existing, req.role);
    const user: UserDoc = {
      _id: randomUUID(),
      email: req.email,
      name: req.name,
      role: req.role,
      password: await hashPassword(req.password),
      created_at: clock(),
    };
    if (req.tests !== undefined) user.tests = req.tests;
    try {
      await users.insertOne(user);
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      // A concurrent request created the same email first; answer as if it had come before us.
      const winner = await users.findOne({ email: req.email });
      if (winner === null) throw err;
      return sameUser(winner, req.role);
    }
    log.info({ user_id: user._id, role: user.role, by: req.caller.user_id }, 'user created');
    return { user_id: user._id, created: true };
  }

  function sameUser(existing: UserDoc, role: Role): ResponseOf<'authCreateUser'> {
    if (existing.role !== role) throw new AppError('CONFLICT', 'a user with this email exists with another role');
    return { user_id: existing._id, created: false };
  }

  async function ensureCandidate(email: string, name: string): Promise<UserDoc> {
    const existing = await users.findOne({ email });
    if (existing !== null) return candidateOrConflict(existing);
    const candidate: UserDoc = { _id: randomUUID(), email, name, role: 'candidate', created_at: clock() };
    try {
      await users.insertOne(candidate);
      return candidate;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const winner = await users.findOne({ email });
      if (winner === null) throw err;
      return candidateOrConflict(winner);
    }
  }

  function candidateOrConflict(user: UserDoc): UserDoc {
    if (user.role !== 'candidate') throw new AppError('CONFLICT', 'this email belongs to a staff account');
    return user;
  }

  async function invite(req: ParsedRequestOf<'authInvite'>): Promise<ResponseOf<'authInvite'>> {
    const { caller } = req;
    if (caller.role !== 'recruiter' && caller.role !== 'admin') {
      throw new AppError('FORBIDDEN', 'only recruiters and admins can invite candidates');
    }
    if (caller.role === 'recruiter' && caller.tests !== undefined && !caller.tests.includes(req.test_id)) {
      throw new AppError('FORBIDDEN', 'not allowed to invite candidates to this test');
    }
    if (req.candidate_email !== undefined && req.max_uses > 1) {
      throw new AppError('VALIDATION_FAILED', 'an invitation for one candidate (candidate_email) has one use; leave the email out for a code with several uses');
    }
    const givenCode = req.code?.trim().toUpperCase();
    if (givenCode !== undefined && normaliseCode(givenCode).length < MIN_CODE_LENGTH) {
      throw new AppError('VALIDATION_FAILED', `an invitation code needs at least ${String(MIN_CODE_LENGTH)} letters or digits`);
    }
    if (givenCode !== undefined) {
      const existing = await invitations.findOne({ code_hash: hashCode(givenCode) });
      if (existing !== null) return reissued(existing, givenCode, req);
    }
    const candidate = req.candidate_email === undefined ? undefined : await ensureCandidate(req.candidate_email, req.candidate_name);
    const now = clock();
    for (let attempt = 1; ; attempt++) {
      const code = givenCode ?? generateInvitationCode();
      const invitation: InvitationDoc = {
        _id: randomUUID(),
        code_hash: hashCode(code),
        test_id: req.test_id,
        ...(candidate === undefined
          ? { candidate_name: req.candidate_name, max_uses: req.max_uses, uses: 0 }
          : { candidate_id: candidate._id, application_id: randomUUID(), max_uses: 1 }),
        expires_at: new Date(now.getTime() + req.expires_in_s * 1000),
        created_by: caller.user_id,
        created_at: now,
      };
      try {
        await invitations.insertOne(invitation);
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        if (givenCode !== undefined) {
          const winner = await invitations.findOne({ code_hash: invitation.code_hash });
          if (winner === null) throw err;
          return reissued(winner, givenCode, req);
        }
        if (attempt < CODE_ATTEMPTS) continue;
        throw err;
      }
      log.info(
        { invitation_id: invitation._id, test_id: invitation.test_id, candidate_id: candidate?._id, max_uses: invitation.max_uses, by: caller.user_id },
        'invitation created',
      );
      return invitationView(invitation, code);
    }
  }

  function invitationView(invitation: InvitationDoc, code: string): ResponseOf<'authInvite'> {
    return {
      invitation_id: invitation._id,
      code,
      ...(invitation.candidate_id === undefined ? {} : { candidate_id: invitation.candidate_id }),
      ...(invitation.application_id === undefined ? {} : { application_id: invitation.application_id }),
      expires_at: invitation.expires_at.toISOString(),
      max_uses: invitation.max_uses ?? 1,
    };
  }

  // A given code that already exists is the same invitation only for the same candidate and test.
  async function reissued(existing: InvitationDoc, code: string, req: ParsedRequestOf<'authInvite'>): Promise<ResponseOf<'authInvite'>> {
    const candidate = existing.candidate_id === undefined ? null : await users.findOne({ _id: existing.candidate_id });
    const same =
      existing.test_id === req.test_id &&
      (req.candidate_email === undefined ? existing.candidate_id === undefined : candidate?.email === req.candidate_email);
    if (!same) throw new AppError('CONFLICT', 'this invitation code is already in use');
    return invitationView(existing, code);
  }

  async function redeem(req: ParsedRequestOf<'authRedeem'>): Promise<ResponseOf<'authRedeem'>> {
    const invitation = await invitations.findOne({ code_hash: hashCode(req.code) });
    if (invitation === null) throw new AppError('AUTH_INVALID', 'invalid invitation code');
    const now = clock();
    if (invitation.expires_at.getTime() <= now.getTime()) {
      throw new AppError('INVITATION_EXPIRED', `this invitation expired at ${invitation.expires_at.toISOString()}`);
    }
    const holder = invitation.candidate_id === undefined ? await takeUse(invitation, req.name, now) : await namedHolder(invitation, now);
    const key = await keyRing.signingKey();
    const issued = await signToken(
      key,
      { userId: holder.candidateId, role: 'candidate', tests: [invitation.test_id], applicationId: holder.applicationId, name: holder.name },
      now,
      config.candidateTokenTtlS,
    );
    log.info({ invitation_id: invitation._id, candidate_id: holder.candidateId, use: holder.use, kid: key.kid }, 'invitation redeemed');
    return {
      token: issued.token,
      expires_at: issued.expiresAt.toISOString(),
      user_id: holder.candidateId,
      role: 'candidate',
      test_id: invitation.test_id,
      application_id: holder.applicationId,
    };
  }

  type Holder = { candidateId: string; applicationId: string; name: string; use: number };

  // An invitation that names its candidate signs that candidate in again until it expires, so that
  // a candidate whose token lapsed mid-test can come back; the assessment allows one attempt anyway.
  async function namedHolder(invitation: InvitationDoc, now: Date): Promise<Holder> {
    const candidateId = invitation.candidate_id ?? '';
    if (invitation.redeemed_at === undefined) {
      // Only the first redemption is recorded.
      await invitations.updateOne({ _id: invitation._id, redeemed_at: { $exists: false } }, { $set: { redeemed_at: now } });
    }
    const user = await users.findOne({ _id: candidateId });
    return { candidateId, applicationId: invitation.application_id ?? invitation._id, name: user === null ? '' : displayName(user), use: 1 };
  }

  // An open code: each redemption claims the next free use by a unique insert, so concurrent
  // redeemers never share one and never exceed max_uses; then it makes a new candidate.
  async function takeUse(invitation: InvitationDoc, givenName: string | undefined, now: Date): Promise<Holder> {
    const maxUses = invitation.max_uses ?? 1;
    for (let use = (invitation.uses ?? 0) + 1; use <= maxUses; use++) {
      const redemption: RedemptionDoc = {
        _id: `${invitation._id}:${String(use)}`,
        invitation_id: invitation._id,
        candidate_id: randomUUID(),
        application_id: randomUUID(),
        redeemed_at: now,
      };
      try {
        await redemptions.insertOne(redemption);
      } catch (err) {
        if (isDuplicateKey(err)) continue;
        throw err;
      }
      await invitations.updateOne({ _id: invitation._id }, { $max: { uses: use }, $set: { redeemed_at: invitation.redeemed_at ?? now } });
      const base = invitation.candidate_name !== undefined && invitation.candidate_name.length > 0 ? invitation.candidate_name : 'Candidate';
      const name = givenName !== undefined && givenName.length > 0 ? givenName : `${base} ${String(use)}`;
      return { candidateId: redemption.candidate_id, applicationId: redemption.application_id, name, use };
    }
    throw new AppError('INVITATION_USED', maxUses === 1 ? 'this invitation code was already used' : `this invitation code was used ${String(maxUses)} times, its limit`);
  }

  /** Removes invitations that expired more than `older_than_s` ago (the cleanup sweep calls this). */
  async function purgeInvitations(req: ParsedRequestOf<'authPurgeInvitations'>): Promise<ResponseOf<'authPurgeInvitations'>> {
    if (req.caller.role !== 'admin') throw new AppError('FORBIDDEN', 'only the platform may purge invitations');
    const cutoff = new Date(clock().getTime() - req.older_than_s * 1000);
    const expired = await invitations.find({ expires_at: { $lt: cutoff } }, { projection: { _id: 1 } }).toArray();
    if (expired.length === 0) return { removed: 0 };
    const ids = expired.map((i) => i._id);
    await redemptions.deleteMany({ invitation_id: { $in: ids } });
    const res = await invitations.deleteMany({ _id: { $in: ids } });
    if (res.deletedCount > 0) log.info({ removed: res.deletedCount }, 'expired invitations removed');
    return { removed: res.deletedCount };
  }

  function displayName(user: UserDoc): string {
    return user.name.length > 0 ? user.name : user.email;
  }

  async function jwks(): Promise<ResponseOf<'authJwks'>> {
    const keys = await keyRing.publicKeys();
    return { keys: keys.map((k) => ({ ...k })) };
  }

  // Requests in progress, so that close() can let them finish before the database is closed.
  const inFlight = new Set<Promise<unknown>>();
  function tracked<E extends EndpointName>(handler: Handler<E>): Handler<E> {
    return (request, context) => {
      const result = Promise.resolve(handler(request, context));
      inFlight.add(result);
      const forget = () => inFlight.delete(result);
      result.then(forget, forget);
      return result;
    };
  }

  const subscriptions = [
    bus.serve('authLogin', QUEUE, tracked(login)),
    bus.serve('authCreateUser', QUEUE, tracked(createUser)),
    bus.serve('authInvite', QUEUE, tracked(invite)),
    bus.serve('authRedeem', QUEUE, tracked(redeem)),
    bus.serve('authJwks', QUEUE, tracked(jwks)),
    bus.serve('authPurgeInvitations', QUEUE, tracked(purgeInvitations)),
  ];
  log.info({ alg: config.signingAlg }, 'auth service ready');

  return {
    name: 'auth',
    async close() {
      await Promise.allSettled(subscriptions.map((s) => (s.isClosed() ? Promise.resolve() : s.drain())));
      await Promise.allSettled([...inFlight]);
    },
  };
}
