import { AppError, staffMaySee } from '@ap/protocol';
import type { Caller, ParsedRequestOf, ResponseOf } from '@ap/protocol';
import type { Context, HandlerTable } from './context.ts';
import { accommodatedLimitS, secondsLeft } from './rules.ts';
import { startRequestOf } from './start-approval.ts';
import { summary } from './views.ts';

/** What anyone allowed to take or see a test may read before it starts: reads only, nothing is created. */
export function testInfoHandlers(ctx: Context): HandlerTable {
  return { testInfo: (req) => testInfo(ctx, req) };
}

/**
 * The test's public facts from its definition and, for a candidate who already started it, where
 * that attempt stands. Two lookups by `_id` (the attempt key, then the assessment); no write, so
 * that reading the rules never starts the clock (a third lookup by `_id` reads the caller's start
 * request on a test that requires approval).
 */
async function testInfo(ctx: Context, req: ParsedRequestOf<'testInfo'>): Promise<ResponseOf<'testInfo'>> {
  const { caller, test_id: testId } = req;
  if (!mayRead(caller, testId)) throw new AppError('FORBIDDEN', 'this token is not for this test');
  const test = await ctx.getTest(testId);
  return {
    test: summary(test),
    description: test.doc.description,
    proctored: test.doc.proctored ?? false,
    start_requires_approval: test.doc.start_requires_approval ?? false,
    start_approval: test.doc.start_requires_approval === true ? await startRequestOf(ctx, caller, testId) : null,
    // Not secret: the practice question is never scored, so its answer comes with it.
    practice:
      test.doc.practice === undefined
        ? null
        : { stem: test.doc.practice.stem, options: test.doc.practice.options, answer: test.doc.practice.answer },
    ...(caller.role === 'candidate' && caller.accommodations !== undefined
      ? { accommodations: caller.accommodations, time_allowed_s: accommodatedLimitS(test.doc.time_limit_s, caller.accommodations) }
      : {}),
    attempt: caller.role === 'candidate' ? await attemptOf(ctx, caller.user_id, testId) : null,
  };
}

function mayRead(caller: Caller, testId: string): boolean {
  if (caller.role !== 'candidate') return staffMaySee(caller, testId);
  return caller.tests === undefined || caller.tests.includes(testId);
}

async function attemptOf(ctx: Context, candidateId: string, testId: string): Promise<ResponseOf<'testInfo'>['attempt']> {
  const attempt = await ctx.col.attempts.findOne({ _id: `${candidateId}:${testId}:1` });
  if (attempt === null) return null;
  const a = await ctx.repo.fresh(attempt.assessment_id);
  if (a === null) return null;
  return { assessment_id: a._id, status: a.status, answered: a.responses.length, time_remaining_s: secondsLeft(a, ctx.clock()) };
}
