import { randomBytes, randomUUID } from 'node:crypto';
import { isDuplicateKey } from '@ap/db';
import { AppError, isPolytomousType } from '@ap/protocol';
import type { ItemType, ParsedRequestOf, ResponseOf } from '@ap/protocol';
import type { Context, HandlerTable } from './context.ts';
import { MAX_RETRIES } from './context.ts';
import { afterFinish, finalize, finishing, scoreOf, settleDeadline } from './finish.ts';
import { helpContextView } from './live.ts';
import { found } from './repository.ts';
import { accommodatedLimitS, checkAccess, isActive, isOpen, notActive, overdueError, secondsLeft } from './rules.ts';
import { planNext } from './selection.ts';
import { startGate } from './start-approval.ts';
import { MAX_INCIDENTS } from './system.ts';
import type { LoadedTest } from './selection.ts';
import type { AssessmentDoc, ResponseDoc } from './store.ts';
import { completedView, feedbackView, progressView, questionView, summary } from './views.ts';

/** What a candidate does: start, questions, answers, progress, the end, incidents, help. */
export function candidateHandlers(ctx: Context): HandlerTable {
  const { repo, clock } = ctx;

  return {
    assessmentStart: (req) => startAssessment(ctx, req),

    async assessmentQuestion(req) {
      let a = checkAccess(req.caller, found(await repo.fresh(req.assessment_id), req.assessment_id));
      const test = await ctx.getTest(a.test_id);
      for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
        const now = clock();
        a = await settleDeadline(ctx, a, test, now);
        if (a.status !== 'in_progress') {
          if (a.status === 'paused') throw notActive(a, 'the assessment is paused');
          if (a.status === 'overdue') throw overdueError(a, test.doc.grace_s, now);
          return { question: null, completed: completedView(a, test) };
        }
        if (a.current !== null) return { question: questionView(a, test, a.current.item_id, a.current.index, now) };
        // The first question, or one after a change that left none chosen: choose it now.
        const plan = planNext(test, a, secondsLeft(a, now));
        const next = plan.done
          ? await finalize(ctx, a, test, plan.reason === 'time_limit' ? 'expired' : 'completed', plan.reason, now)
          : await repo.append(a, { set: { current: { item_id: plan.itemId, index: a.responses.length, asked_at: now }, updated_at: now } });
        if (next === null) {
          a = await repo.refresh(a);
          continue;
        }
        a = next;
      }
      throw new AppError('CONFLICT', 'the assessment changed concurrently; try again');
    },

    assessmentAnswer: (req) => answerQuestion(ctx, req),

    async assessmentProgress(req) {
      const now = clock();
      const loaded = checkAccess(req.caller, found(await repo.fresh(req.assessment_id), req.assessment_id));
      const test = await ctx.getTest(loaded.test_id);
      return progressView(await settleDeadline(ctx, loaded, test, now), test, now);
    },

    async assessmentEnd(req) {
      let a = checkAccess(req.caller, found(await repo.fresh(req.assessment_id), req.assessment_id));
      const test = await ctx.getTest(a.test_id);
      for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
        const now = clock();
        a = await settleDeadline(ctx, a, test, now);
        // In the grace period (overdue) the candidate may still submit what was answered.
        if (!isOpen(a.status)) return completedView(a, test);
        const finished = await finalize(ctx, a, test, 'completed', 'candidate_ended', now);
        if (finished !== null) return completedView(finished, test);
        a = await repo.refresh(a);
      }
      throw new AppError('CONFLICT', 'the assessment changed concurrently; try again');
    },

    async assessmentDescribe(req) {
      const a = checkAccess(req.caller, found(await repo.cached(req.assessment_id), req.assessment_id));
      return { assessment_id: a._id, candidate_id: a.candidate_id, test_id: a.test_id, status: a.status };
    },

    /** Records an integrity incident reported by the candidate's own client. */
    async assessmentIntegrity(req) {
      let a = checkAccess(req.caller, found(await repo.fresh(req.assessment_id), req.assessment_id));
      for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
        const incidents = a.incidents ?? [];
        if (!isOpen(a.status) || incidents.length >= MAX_INCIDENTS)
          return { assessment_id: a._id, kind: req.kind, incidents: incidents.length };
        const now = clock();
        const next = await repo.append(a, { set: { updated_at: now }, incident: { kind: req.kind, at: req.at, received_at: now } });
        if (next !== null) return { assessment_id: a._id, kind: req.kind, incidents: incidents.length + 1 };
        a = await repo.refresh(a);
      }
      throw new AppError('CONFLICT', 'the assessment changed concurrently; try again');
    },

    async assessmentHelpContext(req) {
      const a = checkAccess(req.caller, found(await repo.fresh(req.assessment_id), req.assessment_id));
      return helpContextView(a, await ctx.getTest(a.test_id), clock());
    },
  };
}

/**
 * Starts the candidate's assessment of a test, or resumes the one they have: one attempt per
 * candidate and test. On a test that requires approval, a first start before it is given answers
 * with the waiting request instead.
 */
async function startAssessment(ctx: Context, req: ParsedRequestOf<'assessmentStart'>): Promise<ResponseOf<'assessmentStart'>> {
  const { repo, clock, col } = ctx;
  const { caller, test_id: testId } = req;
  if (caller.tests !== undefined && !caller.tests.includes(testId)) throw new AppError('FORBIDDEN', 'this invitation is for another test');
  const test = await ctx.getTest(testId);
  const attemptKey = `${caller.user_id}:${testId}:1`;
  for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
    const now = clock();
    const attemptDoc = await col.attempts.findOne({ _id: attemptKey });
    const existing = attemptDoc === null ? null : await repo.fresh(attemptDoc.assessment_id);
    if (existing !== null) {
      const current = await settleDeadline(ctx, existing, test, now);
      if (!isOpen(current.status)) {
        throw new AppError('ASSESSMENT_NOT_ACTIVE', `this test was already taken (status ${current.status})`, {
          details: { assessment_id: current._id, status: current.status, completed: completedView(current, test) },
        });
      }
      return started(current, test, now, true);
    }
    if (attemptDoc === null) {
      // A test that requires a proctor's approval: the first start waits for it, and nothing runs.
      const waiting = await startGate(ctx, caller, test);
      if (waiting !== null) return { start_approval: waiting };
    }
    const id = attemptDoc?.assessment_id ?? randomUUID();
    const seed = randomBytes(12).toString('base64url');
    const accommodations = caller.role === 'candidate' ? caller.accommodations : undefined;
    const deadline = new Date(now.getTime() + accommodatedLimitS(test.doc.time_limit_s, accommodations) * 1000);
    const doc: AssessmentDoc = {
      // An attempt whose assessment was never written (a crash in between) gets it now.
      _id: id,
      attempt_key: attemptKey,
      test_id: testId,
      candidate_id: caller.user_id,
      candidate_name: caller.name ?? '',
      test_title: test.doc.title,
      application_id: caller.application_id ?? null,
      status: 'in_progress',
      strategy: test.doc.strategy,
      seed,
      planned: test.planned,
      started_at: now,
      deadline,
      ...(accommodations === undefined ? {} : { accommodations }),
      finished_at: null,
      reason: null,
      // The first question is chosen by the first get_question (one write per assessment);
      // every later one is chosen with the answer before it.
      current: null,
      responses: [],
      result: null,
      log: [],
      version: 0,
      created_at: now,
      updated_at: now,
    };
    try {
      if (attemptDoc === null) await col.attempts.insertOne({ _id: attemptKey, assessment_id: doc._id });
      await repo.create(doc);
    } catch (err) {
      if (isDuplicateKey(err)) continue; // a concurrent start won: resume that one
      throw err;
    }
    // The sweep row and the application are independent: written together. (No presence row: the
    // idleness sweep only considers assessments started longer ago than the test allows, and by
    // then the gateway's presence reports have written one for any assessment that has a connection.)
    await Promise.all([
      col.active.updateOne(
        { _id: doc._id },
        { $set: { test_id: testId, status: doc.status, deadline: doc.deadline, started_at: now } },
        { upsert: true },
      ),
      doc.application_id === null
        ? undefined
        : col.applications.updateOne(
            { _id: doc.application_id },
            { $set: { candidate_id: caller.user_id, test_id: testId, assessment_id: doc._id, status: 'in_progress', updated_at: now } },
            { upsert: true },
          ),
    ]);
    ctx.log.info({ assessment_id: doc._id, test_id: testId, candidate_id: caller.user_id, accommodations }, 'assessment started');
    ctx.publishLive(doc, true);
    ctx.emit('started', `${doc._id}:started`, {
      assessment_id: doc._id,
      test_id: testId,
      candidate_id: caller.user_id,
      deadline: deadline.toISOString(),
    });
    return started(doc, test, now, false);
  }
  throw new AppError('CONFLICT', 'could not start the assessment; try again');
}

/** The answer to a start: the assessment as it stands, with the current question if one was chosen. */
function started(a: AssessmentDoc, test: LoadedTest, now: Date, resumed: boolean): ResponseOf<'assessmentStart'> {
  return {
    assessment_id: a._id,
    test: summary(test),
    started_at: a.started_at.toISOString(),
    deadline: a.deadline.toISOString(),
    resumed,
    answered: a.responses.length,
    time_remaining_s: secondsLeft(a, now),
    status: a.status,
    current_question_id: a.current?.item_id ?? null,
    current_question: a.current === null ? null : questionView(a, test, a.current.item_id, a.current.index, now),
    answered_question_ids: a.responses.map((r) => r.item_id),
  };
}

/**
 * Stores an answer to the current question and chooses the next one in the same write; the same
 * answer again is a retry and changes nothing.
 */
async function answerQuestion(ctx: Context, req: ParsedRequestOf<'assessmentAnswer'>): Promise<ResponseOf<'assessmentAnswer'>> {
  const { repo, clock } = ctx;
  // The cached version, unchecked: the insert of the next version is the check. Whatever the
  // cache would refuse is looked at again with the latest version before it is refused.
  let a = checkAccess(req.caller, found(await repo.cached(req.assessment_id), req.assessment_id));
  const test = await ctx.getTest(a.test_id);
  const selected = canonicalOption(test.items.get(req.question_id), req.selected_option);
  let checked = false;
  for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
    const now = clock();
    const previous = a.responses.find((r) => r.item_id === req.question_id);
    if (previous !== undefined) {
      if (previous.selected_option !== selected) {
        throw new AppError('CONFLICT', 'this question was already answered with another option', {
          details: { question_id: req.question_id },
        });
      }
      // The same answer again (a retry after a lost acknowledgement): the stored feedback, nothing
      // changes. A retry soon after the answer publishes its event again under the same message
      // id, well inside the stream's duplicate window (which keeps one copy): an event lost with a
      // replica that stopped after the write is recovered.
      if (!checked) a = await repo.refresh(a);
      if (now.getTime() - previous.answered_at.getTime() < REPUBLISH_WITHIN_MS) emitAnswered(ctx, a, previous);
      const done = !isActive(a.status);
      return {
        feedback: feedbackView(a, test, previous, done, now),
        ...(done && a.status !== 'in_progress' ? { completed: completedView(a, test) } : {}),
      };
    }
    const refusal = answerRefusal(a, test, req.question_id, selected, now);
    if (refusal !== undefined) {
      if (!checked) {
        a = await repo.refresh(a);
        checked = true;
        continue;
      }
      if (refusal === 'deadline') {
        const settled = await settleDeadline(ctx, a, test, now);
        if (settled.status === 'overdue') throw overdueError(settled, test.doc.grace_s, now);
        throw new AppError('TIME_EXPIRED', 'the time for this assessment is over; the answer was not stored');
      }
      throw refusal;
    }
    const current = a.current as NonNullable<AssessmentDoc['current']>;
    const item = test.items.get(req.question_id);
    if (item === undefined) throw new AppError('INTERNAL', 'item missing from test');
    const category = isPolytomousType(item.type) ? item.options.findIndex((o) => o.id === selected) : undefined;
    const response: ResponseDoc = {
      item_id: item._id,
      index: current.index,
      skill: item.skill,
      selected_option: selected,
      // A likert or partial-credit answer is never "correct": it is scored by its category.
      correct: category === undefined && selected === item.key,
      ...(category === undefined ? {} : { category }),
      asked_at: current.asked_at,
      answered_at: now,
    };
    const responses = [...a.responses, response];
    const plan = planNext(test, { seed: a.seed, responses }, secondsLeft(a, now));
    if (plan.theta !== undefined) response.theta = plan.theta;
    if (plan.se !== undefined) response.se = plan.se;
    // The next question is chosen now and written with the answer: one write per answer, and
    // the next get_question is a read.
    const set = plan.done
      ? finishing(
          plan.reason === 'time_limit' ? 'expired' : 'completed',
          plan.reason,
          now,
          await scoreOf(ctx, a, test, responses, 'completed'),
          now,
        )
      : { current: { item_id: plan.itemId, index: responses.length, asked_at: now }, updated_at: now };
    const next = await repo.append(a, { set, response });
    if (next === null) {
      a = await repo.refresh(a);
      checked = true;
      continue;
    }
    emitAnswered(ctx, a, response);
    if (plan.done) await afterFinish(ctx, next, test, false);
    return {
      feedback: feedbackView(next, test, response, plan.done, now),
      ...(plan.done ? { completed: completedView(next, test) } : {}),
    };
  }
  throw new AppError('CONFLICT', 'the assessment changed concurrently; try again');
}

/** How long after an answer a retry of it publishes its event again (half the stream's default duplicate window). */
const REPUBLISH_WITHIN_MS = 60_000;

/** The stream event of a stored answer; its message id makes a repeat a no-op in the stream. */
function emitAnswered(ctx: Context, a: AssessmentDoc, response: ResponseDoc): void {
  ctx.emit('answered', `${a._id}:answered:${response.item_id}`, {
    assessment_id: a._id,
    candidate_id: a.candidate_id,
    test_id: a.test_id,
    question_id: response.item_id,
    index: response.index,
    correct: response.correct,
    ...(response.category === undefined ? {} : { category: response.category }),
  });
}

/**
 * The option id as the item spells it. Single-letter option ids compare case-insensitively, so
 * that `"A"` answers option `a` (and is stored and reported as `a`); other ids must match exactly.
 * On a likert or partial-credit item a category number (`"0"` for the first option) that is not
 * itself an option id names the option of that category.
 */
export function canonicalOption(item: { type?: ItemType; options: readonly { id: string }[] } | undefined, given: string): string {
  if (item === undefined || item.options.some((o) => o.id === given)) return given;
  if (item.type !== undefined && isPolytomousType(item.type) && /^\d$/.test(given)) return item.options[Number(given)]?.id ?? given;
  if (!/^[A-Za-z]$/.test(given)) return given;
  const lower = given.toLowerCase();
  return item.options.find((o) => /^[A-Za-z]$/.test(o.id) && o.id.toLowerCase() === lower)?.id ?? given;
}

/**
 * Why an answer cannot be taken as the assessment stands, or undefined when it can: 'deadline'
 * when the time is up (the caller applies the deadline policy), else the error to send.
 */
function answerRefusal(
  a: AssessmentDoc,
  test: LoadedTest,
  questionId: string,
  option: string,
  now: Date,
): AppError | 'deadline' | undefined {
  if ((a.status === 'in_progress' && now.getTime() > a.deadline.getTime()) || a.status === 'overdue') return 'deadline';
  if (a.status !== 'in_progress') return notActive(a, `the assessment is ${a.status}`);
  if (a.current === null || a.current.item_id !== questionId) {
    return new AppError('CONFLICT', 'this question was not asked; request the current question first', {
      details: { question_id: questionId, current_question_id: a.current?.item_id ?? null },
    });
  }
  const item = test.items.get(questionId);
  if (item === undefined) return new AppError('INTERNAL', 'item missing from test');
  if (!item.options.some((o) => o.id === option)) {
    return new AppError('VALIDATION_FAILED', `"${option}" is not an option of this question`, {
      details: { options: item.options.map((o) => o.id) },
    });
  }
  return undefined;
}
