import { randomUUID } from 'node:crypto';
import { AppError, cleanDisplayName, staffMaySee, staffMaySeeAll } from '@ap/protocol';
import type { Accommodations, Caller, ParsedRequestOf, ResponseOf } from '@ap/protocol';
import { isDuplicateKey } from '@ap/db';
import { MIN_CODE_LENGTH, generateInvitationCode, hashCode, normaliseCode } from './codes.ts';
import type { AuthContext, HandlerTable } from './context.ts';
import { displayName } from './context.ts';
import type { InvitationDoc, UserDoc } from './store.ts';

// A random invitation code colliding with a stored one is astronomically unlikely; retry a few times anyway.
const CODE_ATTEMPTS = 3;
// How long an invitation waits for the assessment service to confirm its test (below the handler timeout).
const TEST_LOOKUP_TIMEOUT_MS = 3000;

/** What recruiters and the platform do with invitations: create them, purge expired ones, and look up a candidate's tests. */
export function invitationHandlers(ctx: AuthContext): HandlerTable {
  return {
    authInvite: (req) => invite(ctx, req),
    authPurgeInvitations: (req) => purgeInvitations(ctx, req),
    authCandidateTests: (req) => candidateTests(ctx, req),
  };
}

async function ensureCandidate(ctx: AuthContext, email: string, name: string): Promise<UserDoc> {
  const { userByEmail } = ctx.col;
  const existing = await userByEmail.find(email);
  if (existing !== null) return candidateOrConflict(existing);
  const candidate: UserDoc = { _id: randomUUID(), email, name, role: 'candidate', tests: [], created_at: ctx.clock() };
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
async function identityFor(ctx: AuthContext, caller: Caller, email: string, name: string, testId: string): Promise<Identity> {
  const { users, invitations } = ctx.col;
  const user = await ensureCandidate(ctx, email, name);
  // Candidates created before the tests list was kept: their invitations say which tests they belong to.
  const tests = user.tests ?? (await testsOfCandidate(ctx, user._id));
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

async function testsOfCandidate(ctx: AuthContext, candidateId: string): Promise<string[]> {
  const docs = await ctx.col.invitations.find({ candidate_id: candidateId }, { projection: { test_id: 1 } }).toArray();
  return [...new Set(docs.map((d) => d.test_id))];
}

/** The test must exist: the assessment service answers NOT_FOUND otherwise (or SERVICE_UNAVAILABLE when it is down). */
async function requireTest(ctx: AuthContext, caller: Caller, testId: string): Promise<void> {
  await ctx.bus.request('testGet', { caller, test_id: testId }, { timeoutMs: TEST_LOOKUP_TIMEOUT_MS });
}

async function invite(ctx: AuthContext, req: ParsedRequestOf<'authInvite'>): Promise<ResponseOf<'authInvite'>> {
  const { caller } = req;
  const { invitationByCode } = ctx.col;
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
  await requireTest(ctx, caller, req.test_id);
  const candidateName = cleanDisplayName(req.candidate_name);
  if (givenCode !== undefined) {
    const existing = await invitationByCode.find(hashCode(givenCode));
    if (existing !== null) return reissued(ctx, existing, givenCode, req);
  }
  const identity =
    req.candidate_email === undefined ? undefined : await identityFor(ctx, caller, req.candidate_email, candidateName, req.test_id);
  const now = ctx.clock();
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
      ...(req.accommodations === undefined ? {} : { accommodations: req.accommodations }),
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
        return reissued(ctx, winner, givenCode, req);
      }
      if (attempt < CODE_ATTEMPTS) continue;
      throw err;
    }
    ctx.log.info(
      {
        invitation_id: invitation._id,
        test_id: invitation.test_id,
        candidate_id: identity?.candidateId,
        separate_identity: identity?.separate,
        max_uses: invitation.max_uses,
        accommodations: invitation.accommodations,
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
    ...(invitation.accommodations === undefined ? {} : { accommodations: invitation.accommodations }),
  };
}

// A given code that already exists is the same invitation only for the same candidate and test.
async function reissued(
  ctx: AuthContext,
  existing: InvitationDoc,
  code: string,
  req: ParsedRequestOf<'authInvite'>,
): Promise<ResponseOf<'authInvite'>> {
  const candidate = existing.candidate_id === undefined ? null : await ctx.col.users.findOne({ _id: existing.candidate_id });
  const email = existing.candidate_email ?? candidate?.email;
  const same =
    existing.test_id === req.test_id &&
    (req.candidate_email === undefined ? existing.candidate_id === undefined : email === req.candidate_email);
  if (!same) throw new AppError('CONFLICT', 'this invitation code is already in use');
  if (!sameAccommodations(existing.accommodations, req.accommodations)) {
    throw new AppError('CONFLICT', 'this invitation code exists with other accommodations', {
      details: { field: 'accommodations' },
    });
  }
  return invitationView(existing, code);
}

function sameAccommodations(a: Accommodations | undefined, b: Accommodations | undefined): boolean {
  return (a?.time_multiplier ?? 1) === (b?.time_multiplier ?? 1) && (a?.extra_seconds ?? 0) === (b?.extra_seconds ?? 0);
}

/** Removes invitations that expired more than `older_than_s` ago (the cleanup sweep calls this). */
async function purgeInvitations(
  ctx: AuthContext,
  req: ParsedRequestOf<'authPurgeInvitations'>,
): Promise<ResponseOf<'authPurgeInvitations'>> {
  const { invitations, redemptions, invitationByCode } = ctx.col;
  const cutoff = new Date(ctx.clock().getTime() - req.older_than_s * 1000);
  // A sweep, off every request path: the filters below read the whole collections on FerretDB.
  const expired = await invitations.find({ expires_at: { $lt: cutoff } }, { projection: { _id: 1, code_hash: 1 } }).toArray();
  if (expired.length === 0) return { removed: 0 };
  const ids = expired.map((i) => i._id);
  await redemptions.deleteMany({ invitation_id: { $in: ids } });
  await invitationByCode.remove(expired.map((i) => i.code_hash));
  const res = await invitations.deleteMany({ _id: { $in: ids } });
  if (res.deletedCount > 0) ctx.log.info({ removed: res.deletedCount }, 'expired invitations removed');
  return { removed: res.deletedCount };
}

/** The tests a candidate was invited to that the caller may see (support rooms ask); NOT_FOUND when no candidate has this id. */
async function candidateTests(ctx: AuthContext, req: ParsedRequestOf<'authCandidateTests'>): Promise<ResponseOf<'authCandidateTests'>> {
  const { caller, candidate_id: candidateId } = req;
  const { users, invitations, redemptions } = ctx.col;
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
