import { randomUUID } from 'node:crypto';
import { AppError, cleanDisplayName, isAppError, staffMaySee, staffMaySeeAll } from '@ap/protocol';
import type { Caller, EndpointName, ParsedRequestOf, ResponseOf, Role } from '@ap/protocol';
import type { Bus, Handler } from '@ap/bus';
import { isDuplicateKey } from '@ap/db';
import type { Db } from '@ap/db';
import type { Logger } from '@ap/logging';
import { MIN_CODE_LENGTH, generateInvitationCode, hashCode, normaliseCode } from './codes.ts';
import { createKeyRing } from './keys.ts';
import type { SigningAlg } from './keys.ts';
import { createHashGate } from './hash-gate.ts';
import { hashPassword, verifyPassword } from './passwords.ts';
import { openCollections } from './store.ts';
import type { InvitationDoc, RedemptionDoc, UserDoc } from './store.ts';
import { addressKey, createThrottle, takeAttempts } from './throttle.ts';
import type { Attempt, ThrottleRule } from './throttle.ts';
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
  limits: AuthLimits;
};

/** Throttles and hashing limits, per auth process (see the README's Security section). */
export type AuthLimits = {
  /** Failed logins per account (email). */
  loginPerAccount: ThrottleRule;
  /** Failed logins per client address. */
  loginPerAddress: ThrottleRule;
  /** Redemptions of unknown codes per client address. */
  redeemPerAddress: ThrottleRule;
  /** Password hashes running at once. */
  hashConcurrency: number;
  /** Password hashes waiting for a slot; more are refused with RATE_LIMITED. */
  hashQueue: number;
};

/** What createAuthService needs: open connections, a logger, the time source and settings. */
export type AuthDependencies = { bus: Bus; db: Db; log: Logger; clock: () => Date; config: AuthConfig };

/** A running auth service; `close` stops taking requests and waits for those in progress. */
export type AuthService = { name: string; close(): Promise<void> };

const QUEUE = 'auth';
// A random invitation code colliding with a stored one is astronomically unlikely; retry a few times anyway.
const CODE_ATTEMPTS = 3;
// Password checks one client address or one account may have running or waiting at once.
const HASHES_PER_KEY = 2;
// How long an invitation waits for the assessment service to confirm its test (below the handler timeout).
const TEST_LOOKUP_TIMEOUT_MS = 3000;

/**
 * Creates the auth collections and indexes, loads or generates the signing key, and serves
 * login, user creation, invitations, redemption and the JWKS on the bus in the `auth` queue group.
 */
export async function createAuthService(deps: AuthDependencies): Promise<AuthService> {
  const { bus, clock, config } = deps;
  const log = deps.log.child({ module: 'auth' });
  const { users, invitations, redemptions, signingKeys, userByEmail, invitationByCode } = await openCollections(deps.db);
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

  // Throttles live in this process's memory: see the README (Security, Auth) for why not in the database.
  const now = () => clock().getTime();
  const loginPerAccount = createThrottle(config.limits.loginPerAccount, { now });
  const loginPerAddress = createThrottle(config.limits.loginPerAddress, { now });
  const redeemPerAddress = createThrottle(config.limits.redeemPerAddress, { now });
  const hashGate = createHashGate({ concurrency: config.limits.hashConcurrency, queue: config.limits.hashQueue, perKey: HASHES_PER_KEY });

  async function login(req: ParsedRequestOf<'authLogin'>): Promise<ResponseOf<'authLogin'>> {
    // Charged before anything is read or hashed, so a throttled account or address costs nothing;
    // given back unless the credentials turn out wrong, so only failures count.
    const address = req.ip === undefined ? undefined : `ip:${addressKey(req.ip)}`;
    const attempt = takeAttempts(
      address === undefined
        ? [[loginPerAccount, req.email]]
        : [
            [loginPerAccount, req.email],
            [loginPerAddress, address],
          ],
      'too many failed sign-ins; try again later',
    );
    return countFailure(attempt, 'AUTH_INVALID', async () => {
      const user = await userByEmail.find(req.email);
      const keys = address === undefined ? [`account:${req.email}`] : [`account:${req.email}`, address];
      // Candidates have no password, so they fail here like an unknown email does.
      const valid = await hashGate.run(keys, () => verifyPassword(req.password, user?.password));
      if (user === null || !valid) {
        log.info({ ip: req.ip }, 'login failed');
        throw new AppError('AUTH_INVALID', 'invalid email or password');
      }
      return issueStaffToken(user);
    });
  }

  /** Runs `work`; the attempt counts only when it fails with `failure`, and is refunded otherwise. */
  async function countFailure<T>(attempt: Attempt, failure: 'AUTH_INVALID', work: () => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await work();
    } catch (err) {
      if (!isAppError(err) || err.code !== failure) attempt.refund();
      throw err;
    }
    attempt.refund();
    return result;
  }

  async function issueStaffToken(user: UserDoc): Promise<ResponseOf<'authLogin'>> {
    const key = await keyRing.signingKey();
    const issued = await signToken(
      key,
      { userId: user._id, role: user.role, tests: user.tests, name: displayName(user) },
      clock(),
      config.tokenTtlS,
    );
    log.info({ user_id: user._id, role: user.role, kid: key.kid }, 'login');
    return { token: issued.token, expires_at: issued.expiresAt.toISOString(), user_id: user._id, role: user.role };
  }

  async function createUser(req: ParsedRequestOf<'authCreateUser'>): Promise<ResponseOf<'authCreateUser'>> {
    if (req.role === 'candidate') {
      throw new AppError('VALIDATION_FAILED', 'candidates are created by invitations, not with a password');
    }
    const existing = await userByEmail.find(req.email);
    if (existing !== null) return sameUser(existing, req.role);
    const user: UserDoc = {
      _id: randomUUID(),
      email: req.email,
      name: cleanDisplayName(req.name),
      role: req.role,
      password: await hashGate.run([], () => hashPassword(req.password)),
      created_at: clock(),
    };
    if (req.tests !== undefined) user.tests = req.tests;
    try {
      await userByEmail.insert(user);
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      // A concurrent request created the same email first; answer as if it had come before us.
      const winner = await userByEmail.settle(req.email);
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
    const existing = await userByEmail.find(email);
    if (existing !== null) return candidateOrConflict(existing);
    const candidate: UserDoc = { _id: randomUUID(), email, name, role: 'candidate', tests: [], created_at: clock() };
    try {
      await userByEmail.insert(candidate);
      return candidate;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const winner = await userByEmail.settle(email);
      if (winner === null) throw err;
      return candidateOrConflict(winner);
    }
  }

  function candidateOrConflict(user: UserDoc): UserDoc {
    if (user.role !== 'candidate') throw new AppError('CONFLICT', 'this email belongs to a staff account');
    return user;
  }

  type Identity = { candidateId: string; email: string; name: string; separate: boolean };

  /**
   * The candidate an invitation for `email` names. A candidate identity belongs to the tests its
   * inviters may see: the email's candidate user is reused only when the inviter may see every test
   * it was invited to; otherwise the invitation gets a separate identity (a new candidate id, reused
   * by later invitations of inviters who may see all of its tests), so that a token from it cannot
   * act as the candidate of another test (its rooms, its pushes, its assessments).
   */
  async function identityFor(caller: Caller, email: string, name: string, testId: string): Promise<Identity> {
    const user = await ensureCandidate(email, name);
    // Candidates created before the tests list was kept: their invitations say which tests they belong to.
    const tests = user.tests ?? (await testsOfCandidate(user._id));
    if (staffMaySeeAll(caller, tests)) {
      await users.updateOne({ _id: user._id }, { $addToSet: { tests: { $each: [...tests, testId] } } });
      return { candidateId: user._id, email, name: displayName(user), separate: false };
    }
    // Reads every invitation on FerretDB: only for an inviter restricted to some of the candidate's tests.
    const separate = await invitations
      .find({ candidate_email: email }, { projection: { candidate_id: 1, test_id: 1, candidate_name: 1 }, sort: { created_at: 1 } })
      .toArray();
    const byCandidate = new Map<string, { tests: string[]; name: string }>();
    for (const inv of separate) {
      if (inv.candidate_id === undefined) continue;
      const entry = byCandidate.get(inv.candidate_id) ?? { tests: [], name: inv.candidate_name ?? '' };
      entry.tests.push(inv.test_id);
      byCandidate.set(inv.candidate_id, entry);
    }
    for (const [candidateId, entry] of byCandidate) {
      if (staffMaySeeAll(caller, entry.tests)) return { candidateId, email, name: name.length > 0 ? name : entry.name, separate: true };
    }
    return { candidateId: randomUUID(), email, name, separate: true };
  }

  async function testsOfCandidate(candidateId: string): Promise<string[]> {
    const docs = await invitations.find({ candidate_id: candidateId }, { projection: { test_id: 1 } }).toArray();
    return [...new Set(docs.map((d) => d.test_id))];
  }

  /** The test must exist: the assessment service answers NOT_FOUND otherwise (or SERVICE_UNAVAILABLE when it is down). */
  async function requireTest(caller: Caller, testId: string): Promise<void> {
    await bus.request('testGet', { caller, test_id: testId }, { timeoutMs: TEST_LOOKUP_TIMEOUT_MS });
  }

  async function invite(req: ParsedRequestOf<'authInvite'>): Promise<ResponseOf<'authInvite'>> {
    const { caller } = req;
    if (!staffMaySee(caller, req.test_id)) {
      throw new AppError('FORBIDDEN', 'not allowed to invite candidates to this test');
    }
    if (req.candidate_email !== undefined && req.max_uses > 1) {
      throw new AppError(
        'VALIDATION_FAILED',
        'an invitation for one candidate (candidate_email) has one use; leave the email out for a code with several uses',
      );
    }
    const givenCode = req.code?.trim().toUpperCase();
    if (givenCode !== undefined && normaliseCode(givenCode).length < MIN_CODE_LENGTH) {
      throw new AppError('VALIDATION_FAILED', `an invitation code needs at least ${String(MIN_CODE_LENGTH)} letters or digits`, {
        details: { field: 'code', min_length: MIN_CODE_LENGTH },
      });
    }
    await requireTest(caller, req.test_id);
    const candidateName = cleanDisplayName(req.candidate_name);
    if (givenCode !== undefined) {
      const existing = await invitationByCode.find(hashCode(givenCode));
      if (existing !== null) return reissued(existing, givenCode, req);
    }
    const identity =
      req.candidate_email === undefined ? undefined : await identityFor(caller, req.candidate_email, candidateName, req.test_id);
    const now = clock();
    for (let attempt = 1; ; attempt++) {
      const code = givenCode ?? generateInvitationCode();
      const invitation: InvitationDoc = {
        _id: randomUUID(),
        code_hash: hashCode(code),
        test_id: req.test_id,
        ...(identity === undefined
          ? { candidate_name: candidateName, max_uses: req.max_uses, uses: 0 }
          : {
              candidate_id: identity.candidateId,
              application_id: randomUUID(),
              max_uses: 1,
              ...(identity.separate ? { candidate_email: identity.email, candidate_name: identity.name } : {}),
            }),
        expires_at: new Date(now.getTime() + req.expires_in_s * 1000),
        created_by: caller.user_id,
        created_at: now,
      };
      try {
        await invitationByCode.insert(invitation);
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        if (givenCode !== undefined) {
          const winner = await invitationByCode.settle(invitation.code_hash);
          if (winner === null) throw err;
          return reissued(winner, givenCode, req);
        }
        if (attempt < CODE_ATTEMPTS) continue;
        throw err;
      }
      log.info(
        {
          invitation_id: invitation._id,
          test_id: invitation.test_id,
          candidate_id: identity?.candidateId,
          separate_identity: identity?.separate,
          max_uses: invitation.max_uses,
          by: caller.user_id,
        },
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
    const email = existing.candidate_email ?? candidate?.email;
    const same =
      existing.test_id === req.test_id &&
      (req.candidate_email === undefined ? existing.candidate_id === undefined : email === req.candidate_email);
    if (!same) throw new AppError('CONFLICT', 'this invitation code is already in use');
    return invitationView(existing, code);
  }

  async function redeem(req: ParsedRequestOf<'authRedeem'>): Promise<ResponseOf<'authRedeem'>> {
    // Only unknown codes count against the address: guessing is what this stops, and a classroom
    // behind one address redeeming real codes is not.
    const attempt =
      req.ip === undefined
        ? { refund: () => undefined }
        : takeAttempts([[redeemPerAddress, `ip:${addressKey(req.ip)}`]], 'too many invalid invitation codes; try again later');
    return countFailure(attempt, 'AUTH_INVALID', () => redeemCode(req));
  }

  async function redeemCode(req: ParsedRequestOf<'authRedeem'>): Promise<ResponseOf<'authRedeem'>> {
    const invitation = await invitationByCode.find(hashCode(req.code));
    if (invitation === null) {
      log.info({ ip: req.ip }, 'unknown invitation code');
      throw new AppError('AUTH_INVALID', 'invalid invitation code');
    }
    const now = clock();
    if (invitation.expires_at.getTime() <= now.getTime()) {
      throw new AppError('INVITATION_EXPIRED', `this invitation expired at ${invitation.expires_at.toISOString()}`);
    }
    const holder =
      invitation.candidate_id === undefined ? await takeUse(invitation, req.name, now) : await namedHolder(invitation, now, req.ip);
    const key = await keyRing.signingKey();
    const issued = await signToken(
      key,
      {
        userId: holder.candidateId,
        role: 'candidate',
        tests: [invitation.test_id],
        applicationId: holder.applicationId,
        name: holder.name,
        reSignIn: holder.reSignIn,
      },
      now,
      config.candidateTokenTtlS,
    );
    log.info(
      {
        invitation_id: invitation._id,
        candidate_id: holder.candidateId,
        use: holder.use,
        re_sign_in: holder.reSignIn,
        ip: req.ip,
        kid: key.kid,
      },
      'invitation redeemed',
    );
    return {
      token: issued.token,
      expires_at: issued.expiresAt.toISOString(),
      user_id: holder.candidateId,
      role: 'candidate',
      test_id: invitation.test_id,
      application_id: holder.applicationId,
      ...(holder.reSignIn ? { re_sign_in: true } : {}),
    };
  }

  type Holder = { candidateId: string; applicationId: string; name: string; use: number; reSignIn: boolean };

  // An invitation that names its candidate signs that candidate in again until it expires, so that
  // a candidate whose token lapsed mid-test can come back; the assessment allows one attempt anyway.
  // Whoever holds the code can do the same, so every sign-in after the first is marked on the token,
  // recorded, and published for the assessment service and proctors.
  async function namedHolder(invitation: InvitationDoc, now: Date, ip: string | undefined): Promise<Holder> {
    const candidateId = invitation.candidate_id ?? '';
    const applicationId = invitation.application_id ?? invitation._id;
    let reSignIn = invitation.redeemed_at !== undefined;
    if (!reSignIn) {
      // The first redemption is claimed by a unique insert (a conditional update would be a scan on
      // FerretDB); a concurrent first redemption that lost is a sign-in again.
      reSignIn = !(await claimFirstUse(invitation, candidateId, applicationId, now, ip));
      if (!reSignIn) await invitations.updateOne({ _id: invitation._id }, { $set: { redeemed_at: now } });
    }
    if (reSignIn) await recordReSignIn(invitation, candidateId, applicationId, now, ip);
    const user = await users.findOne({ _id: candidateId });
    const name = user === null ? (invitation.candidate_name ?? invitation.candidate_email ?? '') : displayName(user);
    return { candidateId, applicationId, name, use: 1, reSignIn };
  }

  async function claimFirstUse(
    invitation: InvitationDoc,
    candidateId: string,
    applicationId: string,
    now: Date,
    ip: string | undefined,
  ): Promise<boolean> {
    const first: RedemptionDoc = {
      _id: `${invitation._id}:1`,
      invitation_id: invitation._id,
      candidate_id: candidateId,
      application_id: applicationId,
      redeemed_at: now,
      ...(ip === undefined ? {} : { ip }),
    };
    try {
      await redemptions.insertOne(first);
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  async function recordReSignIn(
    invitation: InvitationDoc,
    candidateId: string,
    applicationId: string,
    now: Date,
    ip: string | undefined,
  ): Promise<void> {
    const record: RedemptionDoc = {
      _id: `${invitation._id}:re:${randomUUID()}`,
      invitation_id: invitation._id,
      candidate_id: candidateId,
      application_id: applicationId,
      redeemed_at: now,
      kind: 're_sign_in',
      ...(ip === undefined ? {} : { ip }),
    };
    await redemptions.insertOne(record);
    bus.publish('reSignIn', undefined, {
      candidate_id: candidateId,
      test_id: invitation.test_id,
      application_id: applicationId,
      invitation_id: invitation._id,
      at: now.toISOString(),
      ...(ip === undefined ? {} : { ip }),
    });
    log.warn(
      { invitation_id: invitation._id, candidate_id: candidateId, test_id: invitation.test_id, ip },
      'candidate signed in again with a named code',
    );
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
      const invited = cleanDisplayName(invitation.candidate_name ?? '');
      const base = invited.length > 0 ? invited : 'Candidate';
      const given = cleanDisplayName(givenName ?? '');
      const name = given.length > 0 ? given : `${base} ${String(use)}`;
      return { candidateId: redemption.candidate_id, applicationId: redemption.application_id, name, use, reSignIn: false };
    }
    throw new AppError(
      'INVITATION_USED',
      maxUses === 1 ? 'this invitation code was already used' : `this invitation code was used ${String(maxUses)} times, its limit`,
    );
  }

  /** Removes invitations that expired more than `older_than_s` ago (the cleanup sweep calls this). */
  async function purgeInvitations(req: ParsedRequestOf<'authPurgeInvitations'>): Promise<ResponseOf<'authPurgeInvitations'>> {
    const cutoff = new Date(clock().getTime() - req.older_than_s * 1000);
    // A sweep, off every request path: the filters below read the whole collections on FerretDB.
    const expired = await invitations.find({ expires_at: { $lt: cutoff } }, { projection: { _id: 1, code_hash: 1 } }).toArray();
    if (expired.length === 0) return { removed: 0 };
    const ids = expired.map((i) => i._id);
    await redemptions.deleteMany({ invitation_id: { $in: ids } });
    await invitationByCode.remove(expired.map((i) => i.code_hash));
    const res = await invitations.deleteMany({ _id: { $in: ids } });
    if (res.deletedCount > 0) log.info({ removed: res.deletedCount }, 'expired invitations removed');
    return { removed: res.deletedCount };
  }

  function displayName(user: UserDoc): string {
    const name = cleanDisplayName(user.name);
    return name.length > 0 ? name : user.email;
  }

  async function jwks(): Promise<ResponseOf<'authJwks'>> {
    const keys = await keyRing.publicKeys();
    return { keys: keys.map((k) => ({ ...k })) };
  }

  /** The tests a candidate was invited to that the caller may see (support rooms ask); NOT_FOUND when no candidate has this id. */
  async function candidateTests(req: ParsedRequestOf<'authCandidateTests'>): Promise<ResponseOf<'authCandidateTests'>> {
    const { caller, candidate_id: candidateId } = req;
    // Named invitations and candidate users; open codes record their candidates in the redemptions.
    // Staff opening a support room ask this, never a candidate's frame: these filters read whole
    // collections on FerretDB.
    const [user, named, uses] = await Promise.all([
      users.findOne({ _id: candidateId }),
      invitations.find({ candidate_id: candidateId }, { projection: { test_id: 1 } }).toArray(),
      redemptions.find({ candidate_id: candidateId }, { projection: { invitation_id: 1 } }).toArray(),
    ]);
    const open =
      uses.length === 0
        ? []
        : await invitations.find({ _id: { $in: uses.map((u) => u.invitation_id) } }, { projection: { test_id: 1 } }).toArray();
    if (user === null ? named.length === 0 && uses.length === 0 : user.role !== 'candidate')
      throw new AppError('NOT_FOUND', `no candidate ${candidateId}`);
    const tests = new Set([...(user?.tests ?? []), ...named.map((i) => i.test_id), ...open.map((i) => i.test_id)]);
    const visible = [...tests].filter((t) => staffMaySee(caller, t));
    return { candidate_id: candidateId, tests: visible.sort() };
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
    bus.serve('authCandidateTests', QUEUE, tracked(candidateTests)),
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
