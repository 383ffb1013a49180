import { AppError, isPolytomousType } from '@ap/protocol';
import type { ParsedRequestOf, ResponseOf } from '@ap/protocol';
import type { Context, HandlerTable } from './context.ts';
import { resultSummary } from './live.ts';
import { FINAL, isFinal, staffMaySee } from './rules.ts';
import { polyParams } from './selection.ts';
import type { AssessmentDoc, ItemDoc, ResultDoc, TestDoc } from './store.ts';

/**
 * What the recruiter's workspace reads: the tests with their counts, a test's item statistics and
 * one assessment's report. Each of these scans assessments of a test (FerretDB filters anything
 * but `_id` by reading the collection), so they are page reads for staff, never on the path of a
 * candidate's answer.
 */
export function recruiterHandlers(ctx: Context): HandlerTable {
  return {
    testsList: (req) => testsList(ctx, req),
    itemStats: (req) => itemStats(ctx, req),
    assessmentReport: (req) => assessmentReport(ctx, req),
  };
}

/** The score a results row shows: the scaled score, else the percent correct. */
const scoreOf = (r: Pick<ResultDoc, 'scaled_score' | 'percent_correct'>): number => r.scaled_score ?? r.percent_correct;

async function testsList(ctx: Context, req: ParsedRequestOf<'testsList'>): Promise<ResponseOf<'testsList'>> {
  const { caller } = req;
  const filter = caller.role === 'admin' || caller.tests === undefined ? {} : { _id: { $in: caller.tests } };
  const docs = await ctx.col.tests
    .find(filter, { projection: { _id: 1, title: 1, strategy: 1, time_limit_s: 1, items: 1, created_at: 1 } })
    .sort({ created_at: -1, _id: 1 })
    .limit(req.limit)
    .toArray();
  const tests = docs.filter((t) => staffMaySee(caller, t._id));
  const counts = new Map(tests.map((t) => [t._id, { started: 0, finished: 0, scored: 0, total: 0 }]));
  if (tests.length > 0) {
    const cursor = ctx.col.assessments.find(
      { test_id: { $in: tests.map((t) => t._id) } },
      { projection: { test_id: 1, status: 1, 'result.scaled_score': 1, 'result.percent_correct': 1 } },
    );
    for await (const a of cursor) {
      const c = counts.get(a.test_id);
      if (c === undefined) continue;
      c.started += 1;
      if (!isFinal(a.status)) continue;
      c.finished += 1;
      if (a.result !== null) {
        c.scored += 1;
        c.total += scoreOf(a.result);
      }
    }
  }
  return {
    tests: tests.map((t: Pick<TestDoc, '_id' | 'title' | 'strategy' | 'time_limit_s' | 'items' | 'created_at'>) => {
      const c = counts.get(t._id) ?? { started: 0, finished: 0, scored: 0, total: 0 };
      return {
        test_id: t._id,
        title: t.title,
        strategy: t.strategy,
        time_limit_s: t.time_limit_s,
        items: t.items.length,
        created_at: t.created_at.toISOString(),
        started: c.started,
        finished: c.finished,
        average_score: c.scored === 0 ? null : Math.round((c.total / c.scored) * 10) / 10,
      };
    }),
  };
}

async function itemStats(ctx: Context, req: ParsedRequestOf<'itemStats'>): Promise<ResponseOf<'itemStats'>> {
  if (!staffMaySee(req.caller, req.test_id)) throw new AppError('FORBIDDEN', 'only recruiters and admins of this test read its statistics');
  const test = await ctx.getTest(req.test_id);
  // `categories`: the sum of the categories of likert and partial-credit answers.
  const usage = new Map<string, { given: number; correct: number; categories: number; seconds: number }>();
  let examinees = 0;
  const cursor = ctx.col.assessments.find(
    { test_id: req.test_id, status: { $in: [...FINAL] } },
    {
      projection: {
        'responses.item_id': 1,
        'responses.correct': 1,
        'responses.category': 1,
        'responses.asked_at': 1,
        'responses.answered_at': 1,
      },
    },
  );
  for await (const a of cursor) {
    examinees += 1;
    for (const r of a.responses) {
      const u = usage.get(r.item_id) ?? { given: 0, correct: 0, categories: 0, seconds: 0 };
      u.given += 1;
      if (r.correct) u.correct += 1;
      u.categories += r.category ?? 0;
      u.seconds += Math.max(0, (r.answered_at.getTime() - r.asked_at.getTime()) / 1000);
      usage.set(r.item_id, u);
    }
  }
  const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;
  return {
    test_id: req.test_id,
    examinees,
    items: test.doc.items.map((id) => {
      const item = test.items.get(id);
      const u = usage.get(id);
      const poly = item !== undefined && isPolytomousType(item.type);
      return {
        item_id: id,
        skill: item?.skill ?? '',
        stem: item?.stem ?? '',
        administered: u?.given ?? 0,
        exposure: examinees === 0 ? 0 : round((u?.given ?? 0) / examinees, 3),
        proportion_correct: u === undefined || poly ? null : round(u.correct / u.given, 3),
        ...(item === undefined ? {} : { type: item.type }),
        ...(poly ? { mean_category: u === undefined ? null : round(u.categories / u.given, 3) } : {}),
        mean_time_s: u === undefined ? null : round(u.seconds / u.given, 1),
        irt: irtOf(item),
      };
    }),
  };
}

async function assessmentReport(ctx: Context, req: ParsedRequestOf<'assessmentReport'>): Promise<ResponseOf<'assessmentReport'>> {
  if (!staffMaySee(req.caller, req.test_id)) throw new AppError('FORBIDDEN', 'only recruiters and admins of this test read its reports');
  const a = await ctx.repo.fresh(req.assessment_id);
  // An assessment of another test is as unknown here as a missing one.
  if (a === null || a.test_id !== req.test_id) throw new AppError('NOT_FOUND', `assessment ${req.assessment_id} not found in this test`);
  const test = await ctx.getTest(a.test_id);
  const adaptive = a.strategy === 'adaptive';
  const r = a.result;
  return {
    assessment_id: a._id,
    test_id: a.test_id,
    test_title: a.test_title ?? test.doc.title,
    adaptive,
    candidate_id: a.candidate_id,
    candidate_name: a.candidate_name ?? '',
    status: a.status,
    reason: a.reason,
    started_at: a.started_at.toISOString(),
    finished_at: a.finished_at?.toISOString() ?? null,
    score: r === null ? null : scoreOf(r),
    result: r === null ? null : { ...resultSummary(r), ...(adaptive ? { trace: traceOf(a, r) } : {}) },
    answers: a.responses.map((resp) => ({
      index: resp.index,
      item_id: resp.item_id,
      skill: resp.skill,
      stem: test.items.get(resp.item_id)?.stem ?? '',
      selected_option: resp.selected_option,
      correct: resp.correct,
      ...(resp.category === undefined ? {} : { category: resp.category }),
      answered_at: resp.answered_at.toISOString(),
      time_s: Math.max(0, Math.round((resp.answered_at.getTime() - resp.asked_at.getTime()) / 100) / 10),
    })),
    timeline: timelineOf(a),
  };
}

/** θ and SE after each answer: the stored trace of the result, else the answers' own estimates. */
function traceOf(a: AssessmentDoc, r: ResultDoc): { theta: number; se: number }[] {
  const source = r.trace.length > 0 ? r.trace : a.responses;
  return source.flatMap((p) => (p.theta === undefined || p.se === undefined ? [] : [{ theta: p.theta, se: p.se }]));
}

/** Incidents and staff actions in time order, each with a line of detail. */
function timelineOf(a: AssessmentDoc): ResponseOf<'assessmentReport'>['timeline'] {
  const incidents = (a.incidents ?? []).map((i) => ({ at: i.received_at.toISOString(), kind: `incident: ${i.kind}`, detail: '' }));
  const actions = a.log.map((e) => {
    const reason = typeof e['reason'] === 'string' ? e['reason'] : '';
    const seconds = typeof e['seconds'] === 'number' ? `${e['seconds']} s` : '';
    return { at: e.at.toISOString(), kind: e.type, detail: [seconds, reason].filter((s) => s !== '').join(', ') };
  });
  return [...incidents, ...actions].sort((x, y) => x.at.localeCompare(y.at));
}

/** The parameters the item view draws: a likert or partial-credit item's model (defaults filled in, as scored), a single choice's 3PL. */
function irtOf(item: ItemDoc | undefined): ResponseOf<'itemStats'>['items'][number]['irt'] {
  if (item === undefined) return null;
  if (isPolytomousType(item.type)) {
    const p = polyParams(item);
    return { model: p.model, a: p.a, thresholds: [...p.b] };
  }
  return item.a !== undefined && item.b !== undefined ? { a: item.a, b: item.b, c: item.c ?? 0 } : null;
}
