import { staffMaySee } from '@ap/protocol';
import type { ParsedRequestOf, ResponseOf } from '@ap/protocol';
import type { AuthContext, HandlerTable } from './context.ts';

/** How many invitations each test has, for the recruiter's tests list. */
export function invitationCountHandlers(ctx: AuthContext): HandlerTable {
  return { authInvitationCounts: (req) => invitationCounts(ctx, req) };
}

/**
 * Counts the invitations of the tests the caller may see among those asked (others are left out).
 * Filters on `test_id`, which FerretDB answers by reading the whole collection: the recruiter's
 * workspace asks this when it lists tests, never a candidate's path.
 */
async function invitationCounts(
  ctx: AuthContext,
  req: ParsedRequestOf<'authInvitationCounts'>,
): Promise<ResponseOf<'authInvitationCounts'>> {
  const tests = [...new Set(req.test_ids)].filter((t) => staffMaySee(req.caller, t));
  const counts = new Map(tests.map((t) => [t, { test_id: t, invitations: 0, uses: 0 }]));
  if (tests.length === 0) return { counts: [] };
  const cursor = ctx.col.invitations.find({ test_id: { $in: tests } }, { projection: { test_id: 1, uses: 1, redeemed_at: 1 } });
  for await (const inv of cursor) {
    const entry = counts.get(inv.test_id);
    if (entry === undefined) continue;
    entry.invitations += 1;
    entry.uses += inv.uses ?? (inv.redeemed_at === undefined ? 0 : 1);
  }
  return { counts: [...counts.values()] };
}
