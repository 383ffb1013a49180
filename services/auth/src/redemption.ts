import { randomUUID } from 'node:crypto';
import { AppError, cleanDisplayName } from '@ap/protocol';
import type { ParsedRequestOf, ResponseOf } from '@ap/protocol';
import { isDuplicateKey } from '@ap/db';
import { hashCode } from './codes.ts';
import type { AuthContext, HandlerTable } from './context.ts';
import { countFailure, displayName } from './context.ts';
import type { InvitationDoc, RedemptionDoc } from './store.ts';
import { addressKey, takeAttempts } from './throttle.ts';
import { signToken } from './tokens.ts';

/** What candidates do: redeem an invitation code for a token (a named code signs its candidate in again). */
export function redemptionHandlers(ctx: AuthContext): HandlerTable {
  return { authRedeem: (req) => redeem(ctx, req) };
}

async function redeem(ctx: AuthContext, req: ParsedRequestOf<'authRedeem'>): Promise<ResponseOf<'authRedeem'>> {
  const { redeemPerAddress } = ctx.throttles;
  // Only unknown codes count against the address: guessing is what this stops, and a classroom
  // behind one address redeeming real codes is not.
  const attempt =
    req.ip === undefined
      ? { refund: () => undefined }
      : takeAttempts([[redeemPerAddress, `ip:${addressKey(req.ip)}`]], 'too many invalid invitation codes; try again later');
  return countFailure(attempt, 'AUTH_INVALID', () => redeemCode(ctx, req));
}

async function redeemCode(ctx: AuthContext, req: ParsedRequestOf<'authRedeem'>): Promise<ResponseOf<'authRedeem'>> {
  const { log } = ctx;
  const invitation = await ctx.col.invitationByCode.find(hashCode(req.code));
  if (invitation === null) {
    log.info({ ip: req.ip }, 'unknown invitation code');
    throw new AppError('AUTH_INVALID', 'invalid invitation code');
  }
  const now = ctx.clock();
  if (invitation.expires_at.getTime() <= now.getTime()) {
    throw new AppError('INVITATION_EXPIRED', `this invitation expired at ${invitation.expires_at.toISOString()}`);
  }
  const holder =
    invitation.candidate_id === undefined ? await takeUse(ctx, invitation, req.name, now) : await namedHolder(ctx, invitation, now, req.ip);
  const key = await ctx.keyRing.signingKey();
  const issued = await signToken(
    key,
    {
      userId: holder.candidateId,
      role: 'candidate',
      tests: [invitation.test_id],
      applicationId: holder.applicationId,
      name: holder.name,
      reSignIn: holder.reSignIn,
      accommodations: invitation.accommodations,
    },
    now,
    ctx.config.candidateTokenTtlS,
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
async function namedHolder(ctx: AuthContext, invitation: InvitationDoc, now: Date, ip: string | undefined): Promise<Holder> {
  const { users, invitations } = ctx.col;
  const candidateId = invitation.candidate_id ?? '';
  const applicationId = invitation.application_id ?? invitation._id;
  const signIn: NamedSignIn = { invitation, candidateId, applicationId, now, ip };
  let reSignIn = invitation.redeemed_at !== undefined;
  if (!reSignIn) {
    // The first redemption is claimed by a unique insert (a conditional update would be a scan on
    // FerretDB); a concurrent first redemption that lost is a sign-in again.
    reSignIn = !(await claimFirstUse(ctx, signIn));
    if (!reSignIn) await invitations.updateOne({ _id: invitation._id }, { $set: { redeemed_at: now } });
  }
  if (reSignIn) await recordReSignIn(ctx, signIn);
  const user = await users.findOne({ _id: candidateId });
  const name = user === null ? (invitation.candidate_name ?? invitation.candidate_email ?? '') : displayName(user);
  return { candidateId, applicationId, name, use: 1, reSignIn };
}

/** A sign-in with a named code: `${invitation}:1` for the first, `${invitation}:re:<uuid>` for each one after. */
type NamedSignIn = { invitation: InvitationDoc; candidateId: string; applicationId: string; now: Date; ip: string | undefined };

function signInRecord(s: NamedSignIn, again: boolean): RedemptionDoc {
  return {
    _id: again ? `${s.invitation._id}:re:${randomUUID()}` : `${s.invitation._id}:1`,
    invitation_id: s.invitation._id,
    candidate_id: s.candidateId,
    application_id: s.applicationId,
    redeemed_at: s.now,
    ...(again ? { kind: 're_sign_in' as const } : {}),
    ...(s.ip === undefined ? {} : { ip: s.ip }),
  };
}

/** Claims the first sign-in by a unique insert; false when another sign-in claimed it first. */
async function claimFirstUse(ctx: AuthContext, s: NamedSignIn): Promise<boolean> {
  try {
    await ctx.col.redemptions.insertOne(signInRecord(s, false));
    return true;
  } catch (err) {
    if (isDuplicateKey(err)) return false;
    throw err;
  }
}

/** Records a sign-in after the first and tells the assessment service and proctors. */
async function recordReSignIn(ctx: AuthContext, s: NamedSignIn): Promise<void> {
  const { invitation, candidateId, ip } = s;
  await ctx.col.redemptions.insertOne(signInRecord(s, true));
  ctx.bus.publish('reSignIn', undefined, {
    candidate_id: candidateId,
    test_id: invitation.test_id,
    application_id: s.applicationId,
    invitation_id: invitation._id,
    at: s.now.toISOString(),
    ...(ip === undefined ? {} : { ip }),
  });
  ctx.log.warn(
    { invitation_id: invitation._id, candidate_id: candidateId, test_id: invitation.test_id, ip },
    'candidate signed in again with a named code',
  );
}

// An open code: each redemption claims the next free use by a unique insert, so concurrent
// redeemers never share one and never exceed max_uses; then it makes a new candidate.
async function takeUse(ctx: AuthContext, invitation: InvitationDoc, givenName: string | undefined, now: Date): Promise<Holder> {
  const { invitations, redemptions } = ctx.col;
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
