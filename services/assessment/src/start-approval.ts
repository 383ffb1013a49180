import { isDuplicateKey } from '@ap/db';
import { AppError, staffMaySee } from '@ap/protocol';
import type { Caller, ParsedRequestOf, ResponseOf, StartApproval } from '@ap/protocol';
import type { Context, HandlerTable } from './context.ts';
import type { LoadedTest } from './selection.ts';
import type { StartRequestDoc } from './store.ts';

/** Staff approve a candidate's start on a test that requires it. */
export function startApprovalHandlers(ctx: Context): HandlerTable {
  return { assessmentApproveStart: (req) => approveStart(ctx, req) };
}

/** The `_id` of a candidate's start request for a test: one per candidate and test. */
export function startRequestId(candidateId: string, testId: string): string {
  return `${candidateId}:${testId}`;
}

/** A start request as proctors and the candidate see it. */
export function startRequestView(r: StartRequestDoc): StartApproval {
  return {
    test_id: r.test_id,
    candidate_id: r.candidate_id,
    candidate_name: r.candidate_name,
    status: r.status,
    requested_at: r.requested_at.toISOString(),
    approved_at: r.approved_at?.toISOString() ?? null,
    approved_by: r.approved_by,
  };
}

/**
 * Before a candidate's first start of a test: null when the start may go on (the test needs no
 * approval, or a proctor gave it), else the request that waits, recorded now if it is new (one
 * unique insert) and sent to the proctors watching the test. Nothing of the assessment is written
 * while it waits, so the clock cannot start before approval.
 */
export async function startGate(ctx: Context, caller: Caller, test: LoadedTest): Promise<StartApproval | null> {
  if (test.doc.start_requires_approval !== true) return null;
  const id = startRequestId(caller.user_id, test.doc._id);
  const known = await ctx.col.startRequests.findOne({ _id: id });
  if (known !== null) return known.status === 'approved' ? null : startRequestView(known);
  const doc: StartRequestDoc = {
    _id: id,
    test_id: test.doc._id,
    candidate_id: caller.user_id,
    candidate_name: caller.name ?? '',
    status: 'waiting',
    requested_at: ctx.clock(),
    approved_at: null,
    approved_by: null,
  };
  try {
    await ctx.col.startRequests.insertOne(doc);
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    // A concurrent start made it first: answer with what it wrote.
    const first = await ctx.col.startRequests.findOne({ _id: id });
    if (first === null) throw new AppError('CONFLICT', 'could not record the start request; try again');
    return first.status === 'approved' ? null : startRequestView(first);
  }
  ctx.log.info({ test_id: doc.test_id, candidate_id: doc.candidate_id }, 'start request waits for approval');
  const view = startRequestView(doc);
  publishRequest(ctx, view);
  return view;
}

/** The waiting start requests of the tests a filter selects (the proctor's snapshot), oldest first. */
export async function waitingRequests(
  ctx: Context,
  filter: { test_id?: string | { $in: string[] } },
  limit: number,
): Promise<StartApproval[]> {
  const rows = await ctx.col.startRequests
    .find({ ...filter, status: 'waiting' })
    .limit(limit)
    .toArray();
  return rows.sort((x, y) => x.requested_at.getTime() - y.requested_at.getTime()).map(startRequestView);
}

/** The caller's start request for a test, for `test_info` (null for staff and before one is made). */
export async function startRequestOf(ctx: Context, caller: Caller, testId: string): Promise<StartApproval | null> {
  if (caller.role !== 'candidate') return null;
  const r = await ctx.col.startRequests.findOne({ _id: startRequestId(caller.user_id, testId) });
  return r === null ? null : startRequestView(r);
}

/**
 * Marks a waiting request approved (one conditional update; approving twice changes nothing) and
 * tells the candidate's sockets and the watching proctors. The clock starts only when the
 * candidate's page sends `start_assessment` again.
 */
async function approveStart(ctx: Context, req: ParsedRequestOf<'assessmentApproveStart'>): Promise<ResponseOf<'assessmentApproveStart'>> {
  const { caller, candidate_id: candidateId, test_id: testId } = req;
  if (!staffMaySee(caller, testId)) throw new AppError('FORBIDDEN', 'not allowed to approve starts of this test');
  const id = startRequestId(candidateId, testId);
  const changed = await ctx.col.startRequests.updateOne(
    { _id: id, status: 'waiting' },
    { $set: { status: 'approved', approved_at: ctx.clock(), approved_by: caller.user_id } },
  );
  const doc = await ctx.col.startRequests.findOne({ _id: id });
  if (doc === null) throw new AppError('NOT_FOUND', 'this candidate has not asked to start this test');
  const view = startRequestView(doc);
  if (changed.modifiedCount === 1) {
    ctx.log.info({ test_id: testId, candidate_id: candidateId, by: caller.user_id }, 'start approved');
    publishRequest(ctx, view);
    try {
      ctx.bus.publish('pushToUser', candidateId, { type: 'start_approval', data: view });
    } catch (err) {
      // The approval is stored: the candidate's page reads it with get_test_info on its next connection.
      ctx.log.warn({ err, candidate_id: candidateId }, 'start approval not pushed');
    }
  }
  return view;
}

function publishRequest(ctx: Context, view: StartApproval): void {
  try {
    ctx.bus.publish('startRequest', view.test_id, view);
  } catch (err) {
    // Best effort, as the live feed: the proctor's next snapshot lists the request.
    ctx.log.warn({ err, test_id: view.test_id }, 'start request not published');
  }
}
