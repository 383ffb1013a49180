import { randomBytes, randomUUID } from 'node:crypto';
import type { Bus, EventStream } from '@ap/bus';
import type { Db } from '@ap/db';
import { isDuplicateKey } from '@ap/db';
import type { Logger } from '@ap/logging';
import { parseBankFile, updateExposureFromUsage } from '@ap/cat';
import { AppError, events, itemSchema } from '@ap/protocol';
import type { AssessmentCompleted, Caller, CompletionReason, ParsedRequestOf, Progress, Question, ResponseOf, TestSummary } from '@ap/protocol';
import type { Subscription } from '@nats-io/transport-node';
import type { UpdateFilter } from 'mongodb';
import { computeResult, loadTest, planNext } from './selection.ts';
import type { LoadedTest } from './selection.ts';
import { openCollections } from './store.ts';
import { createOnlineTracker, helpContextView, liveView, resultRow, resultSummary } from './live.ts';
import type { AssessmentDoc, Collections, ItemDoc, ResponseDoc, ResultDoc, TestDoc } from './store.ts';

export type Clock = () => Date;

export type AssessmentService = { close(): Promise<void> };

const ACTIVE = ['in_progress', 'paused'] as const;
const MAX_RETRIES = 8;
/** A version claim older than this belongs to a writer that died; it may be broken. */
const CLAIM_TTL_MS = 5000;
/** Incidents kept per assessment; more are counted no further. */
const MAX_INCIDENTS = 200;
/** Presence rows not refreshed for this long are removed by the sweep. */
const PRESENCE_RETENTION_MS = 24 * 3600 * 1000;
/** Presence rows written per database command. */
const PRESENCE_CHUNK = 20;
const QUEUE = 'assessment';
const FINAL = ['completed', 'expired', 'abandoned', 'terminated'] as const;

/** Creates the assessment service: tests, assessment instances, answers and results, served on the bus. */
export async function createAssessmentService(deps: {
  bus: Bus;
  db: Db;
  log: Logger;
  clock?: Clock;
  /** JetStream stream for assessment.v1.events.*; events are de-duplicated by message id. */
  eventStream: EventStream;
  /** Counts assessments that reach a final status (see @ap/metrics). */
  metrics?: { assessmentFinished(status: string): void };
}): Promise<AssessmentService> {
  const { bus } = deps;
  const log = deps.log.child({ module: 'assessment' });
  const clock = deps.clock ?? (() => new Date());
  const col = await openCollections(deps.db);
  const tests = new Map<string, Promise<LoadedTest>>();
  const online = createOnlineTracker();

  function getTest(testId: string): Promise<LoadedTest> {
    let loaded = tests.get(testId);
    if (loaded === undefined) {
      loaded = (async () => {
        const doc = await col.tests.findOne({ _id: testId });
        if (doc === null) throw new AppError('NOT_FOUND', `test ${testId} not found`);
        const items = await col.items.find({ _id: { $in: doc.items } }).toArray();
        // Never cache a test read without all its items (the pool was checked when it was
        // created): a replica would keep failing on an item another replica had asked.
        const found = new Set(items.map((i) => i._id));
        if (doc.items.some((id) => !found.has(id))) throw new AppError('SERVICE_UNAVAILABLE', `test ${testId} was read incompletely; try again`);
        return loadTest(doc, items);
      })();
      tests.set(testId, loaded);
      loaded.catch(() => tests.delete(testId));
    }
    return loaded;
  }

  const subs: Subscription[] = [
    bus.serve('testCreate', QUEUE, (req) => createTest(col, req, clock, tests)),
    bus.serve('itemsImport', QUEUE, (req) => importItems(col, req, tests)),
    bus.serve('exposureUpdate', QUEUE, (req) => updateExposure(req)),
    bus.serve('testGet', QUEUE, async (req) => summary(await getTest(req.test_id))),
    bus.serve('assessmentStart', QUEUE, (req) => start(req)),
    bus.serve('assessmentQuestion', QUEUE, (req) => question(req)),
    bus.serve('assessmentAnswer', QUEUE, (req) => answer(req)),
    bus.serve('assessmentProgress', QUEUE, (req) => progress(req)),
    bus.serve('assessmentEnd', QUEUE, (req) => end(req)),
    bus.serve('assessmentDescribe', QUEUE, (req) => describe(req)),
    bus.serve('assessmentExpireDue', QUEUE, (req) => expireDue(req)),
    bus.serve('assessmentExtraTime', QUEUE, (req) => extraTime(req)),
    bus.serve('assessmentAbandonIdle', QUEUE, (req) => abandonIdle(req)),
    bus.serve('assessmentCommand', QUEUE, (req) => command(req)),
    bus.serve('assessmentIntegrity', QUEUE, (req) => integrity(req)),
    bus.serve('assessmentLive', QUEUE, (req) => live(req)),
    bus.serve('assessmentResults', QUEUE, (req) => results(req)),
    bus.serve('assessmentHelpContext', QUEUE, (req) => helpContext(req)),
    // Presence from every gateway; one replica records each batch.
    bus.subscribe(events.presence.wildcard, events.presence.schema, (p) => recordPresence(p.assessment_ids), { queue: QUEUE }),
    // Every replica keeps who is online in memory, for the live feed.
    bus.subscribe(events.presence.wildcard, events.presence.schema, (p) => online.batch(p.gateway_id, p.assessment_ids, clock().getTime())),
    bus.subscribe(events.connection.wildcard, events.connection.schema, (e) => online.connection(e, clock().getTime())),
    // One replica tells proctors when a candidate comes or goes.
    bus.subscribe(events.connection.wildcard, events.connection.schema, (e) => connectionChanged(e), { queue: QUEUE }),
  ];

  /** Publishes an event to the stream; the database is the record, so a failed publish is logged, not fatal. */
  function emit(kind: 'started' | 'answered' | 'completed' | 'expired', msgId: string, payload: Record<string, unknown>): void {
    deps.eventStream.publish(`assessment.v1.events.${kind}`, { ...payload, at: clock().toISOString() }, msgId).catch((err: unknown) => {
      log.warn({ err, kind, msg_id: msgId }, 'event not published');
    });
  }

  /** Tells proctors watching the test how an assessment stands now (core NATS: a missed one is repaired by the next). */
  function publishLive(a: AssessmentDoc, isOnline?: boolean): void {
    const now = clock();
    const up = isOnline ?? online.isOnline(a._id, now.getTime());
    if (FINAL.includes(a.status as (typeof FINAL)[number])) online.forget(a._id);
    try {
      bus.publish(events.liveAssessment.subject(a.test_id), liveView(a, up, now));
    } catch (err) {
      // The write is done; the feed is best effort and the next change repairs it.
      log.warn({ err, assessment_id: a._id }, 'live row not published');
    }
  }

  async function connectionChanged(e: { assessment_id: string; online: boolean }): Promise<void> {
    const a = await col.assessments.findOne({ _id: e.assessment_id });
    if (a === null || FINAL.includes(a.status as (typeof FINAL)[number])) return;
    publishLive(a, e.online);
  }

  async function live(req: ParsedRequestOf<'assessmentLive'>): Promise<ResponseOf<'assessmentLive'>> {
    const { caller } = req;
    if (caller.role === 'candidate') throw new AppError('FORBIDDEN', 'only staff watch assessments');
    if (req.test_id !== undefined && !staffMaySee(caller, req.test_id)) throw new AppError('FORBIDDEN', 'not allowed to watch this test');
    const filter =
      req.test_id !== undefined
        ? { test_id: req.test_id }
        : caller.role === 'admin' || caller.tests === undefined
          ? {}
          : { test_id: { $in: caller.tests } };
    const rows = await col.active.find(filter, { projection: { _id: 1 } }).limit(req.limit).toArray();
    const docs = await col.assessments.find({ _id: { $in: rows.map((r) => r._id) } }).toArray();
    const now = clock();
    const assessments = docs
      .filter((a) => !FINAL.includes(a.status as (typeof FINAL)[number]))
      .sort((x, y) => x.started_at.getTime() - y.started_at.getTime())
      .map((a) => liveView(a, online.isOnline(a._id, now.getTime()), now));
    return { assessments };
  }

  async function results(req: ParsedRequestOf<'assessmentResults'>): Promise<ResponseOf<'assessmentResults'>> {
    const { caller } = req;
    if (caller.role === 'candidate' || caller.role === 'proctor' || !staffMaySee(caller, req.test_id)) {
      throw new AppError('FORBIDDEN', 'only recruiters and admins of this test read its results');
    }
    const filter = {
      test_id: req.test_id,
      ...(req.include_unfinished ? {} : { status: { $in: [...FINAL] } }),
      ...(req.after === undefined ? {} : { _id: { $gt: req.after } }),
    };
    const docs = await col.assessments
      .find(filter, { projection: req.include_unfinished ? { log: 0, seed: 0 } : { responses: 0, log: 0, seed: 0 } })
      .sort({ _id: 1 })
      .limit(req.limit + 1)
      .toArray();
    // Without the responses in the projection, the stored result holds the count.
    const page = docs.slice(0, req.limit).map((a) => resultRow({ ...a, responses: (a.responses as AssessmentDoc['responses'] | undefined) ?? [], log: [] }));
    return { results: page, next_cursor: docs.length > req.limit ? (page.at(-1)?.assessment_id ?? null) : null };
  }

  async function helpContext(req: ParsedRequestOf<'assessmentHelpContext'>): Promise<ResponseOf<'assessmentHelpContext'>> {
    const a = await load(req.caller, req.assessment_id);
    const test = await getTest(a.test_id);
    return helpContextView(a, test, clock());
  }

  async function recordPresence(ids: string[]): Promise<void> {
    const now = clock();
    // Small commands one after another: FerretDB 1.24 on SQLite holds a connection of its own
    // pool (100) for every update of a command until the command ends, and a bulk write of a
    // hundred updates exhausts it for good.
    for (let i = 0; i < ids.length; i += PRESENCE_CHUNK) {
      await col.presence.bulkWrite(
        ids.slice(i, i + PRESENCE_CHUNK).map((id) => ({ updateOne: { filter: { _id: id }, update: { $set: { last_seen_at: now } }, upsert: true } })),
        { ordered: false },
      );
    }
  }

  /**
   * Writes the next version of an assessment, or returns null when another writer moved it first.
   * The version claim serializes writers even where the server's conditional update is not atomic.
   */
  async function versioned(a: AssessmentDoc, changes: Partial<Omit<AssessmentDoc, '_id' | 'version'>>): Promise<AssessmentDoc | null> {
    // Only absolute values ($set, with the next version number): a write that the driver retries
    // after a dropped connection lands the same document again instead of pushing twice.
    const update: UpdateFilter<AssessmentDoc> = { $set: { ...changes, version: a.version + 1 } };
    const claimId = `${a._id}:${a.version}`;
    const now = clock();
    try {
      await col.claims.insertOne({ _id: claimId, at: now });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      // A writer that died while holding a claim would block the assessment: claims expire.
      await col.claims.deleteOne({ _id: claimId, at: { $lt: new Date(now.getTime() - CLAIM_TTL_MS) } });
      // Give the holder a moment to finish before the caller reloads and tries again.
      await new Promise((r) => setTimeout(r, 10 + Math.random() * 30));
      return null;
    }
    try {
      // Holding the claim, check that nobody moved past this version before we claimed it; the
      // write then filters on _id alone, which FerretDB answers without reading the whole collection.
      const current = await col.assessments.findOne({ _id: a._id }, { projection: { version: 1 } });
      if (current?.version !== a.version) return null;
      // updateOne, not findOneAndUpdate: FerretDB 1.24 answers findAndModify by reading the whole
      // collection (measured: 127 ms against 12 ms for updateOne with 2,000 assessments). The new
      // document is known without reading it back: the claim makes this the only writer of it.
      const written = await col.assessments.updateOne({ _id: a._id }, update);
      if (written.matchedCount === 0) return null;
      const next: AssessmentDoc = { ...a, ...changes, version: a.version + 1 };
      publishLive(next);
      if (next.status !== a.status || next.deadline.getTime() !== a.deadline.getTime()) {
        if (ACTIVE.includes(next.status as (typeof ACTIVE)[number]) || next.status === 'overdue') {
          await col.active.updateOne({ _id: next._id }, { $set: { status: next.status, deadline: next.deadline } });
        } else {
          await col.active.deleteOne({ _id: next._id });
        }
      }
      return next;
    } finally {
      await col.claims.deleteOne({ _id: claimId });
    }
  }

  function remainingS(a: Pick<AssessmentDoc, 'deadline'> & Partial<Pick<AssessmentDoc, 'status' | 'paused_at'>>, now: Date): number {
    // While paused the clock stands still at the moment of the pause.
    const at = a.status === 'paused' && a.paused_at ? a.paused_at : now;
    return Math.max(0, Math.floor((a.deadline.getTime() - at.getTime()) / 1000));
  }

  async function load(caller: Caller, assessmentId: string): Promise<AssessmentDoc> {
    const a = await col.assessments.findOne({ _id: assessmentId });
    if (a === null) throw new AppError('NOT_FOUND', `assessment ${assessmentId} not found`);
    if (caller.role === 'candidate' ? a.candidate_id !== caller.user_id : !staffMaySee(caller, a.test_id)) {
      throw new AppError('FORBIDDEN', 'this assessment belongs to someone else');
    }
    return a;
  }

  async function start(req: ParsedRequestOf<'assessmentStart'>): Promise<ResponseOf<'assessmentStart'>> {
    const { caller, test_id: testId } = req;
    if (caller.role !== 'candidate') throw new AppError('FORBIDDEN', 'only candidates take assessments');
    if (caller.tests !== undefined && !caller.tests.includes(testId)) throw new AppError('FORBIDDEN', 'this invitation is for another test');
    const test = await getTest(testId);
    const attemptKey = `${caller.user_id}:${testId}:1`;
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const now = clock();
      const attemptDoc = await col.attempts.findOne({ _id: attemptKey });
      const existing = attemptDoc === null ? null : await col.assessments.findOne({ _id: attemptDoc.assessment_id });
      if (existing !== null) {
        const current = await settleDeadline(existing, test, now);
        if (!ACTIVE.includes(current.status as (typeof ACTIVE)[number]) && current.status !== 'overdue') {
          throw new AppError('ASSESSMENT_NOT_ACTIVE', `this test was already taken (status ${current.status})`, {
            details: { assessment_id: current._id, status: current.status, completed: completedView(current, test) },
          });
        }
        return started(current, test, now, true);
      }
      const doc: AssessmentDoc = {
        // An attempt whose assessment was never written (a crash in between) gets it now.
        _id: attemptDoc?.assessment_id ?? randomUUID(),
        attempt_key: attemptKey,
        test_id: testId,
        candidate_id: caller.user_id,
        candidate_name: caller.name ?? '',
        test_title: test.doc.title,
        application_id: caller.application_id ?? null,
        status: 'in_progress',
        strategy: test.doc.strategy,
        seed: randomBytes(12).toString('base64url'),
        planned: test.planned,
        started_at: now,
        deadline: new Date(now.getTime() + test.doc.time_limit_s * 1000),
        finished_at: null,
        reason: null,
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
        await col.assessments.insertOne(doc);
      } catch (err) {
        if (isDuplicateKey(err)) continue; // a concurrent start won: resume that one
        throw err;
      }
      await col.active.updateOne(
        { _id: doc._id },
        { $set: { test_id: testId, status: doc.status, deadline: doc.deadline, started_at: now } },
        { upsert: true },
      );
      await col.presence.updateOne({ _id: doc._id }, { $set: { last_seen_at: now } }, { upsert: true });
      if (doc.application_id !== null) {
        await col.applications.updateOne(
          { _id: doc.application_id },
          { $set: { candidate_id: caller.user_id, test_id: testId, assessment_id: doc._id, status: 'in_progress', updated_at: now } },
          { upsert: true },
        );
      }
      log.info({ assessment_id: doc._id, test_id: testId, candidate_id: caller.user_id }, 'assessment started');
      publishLive(doc, true);
      emit('started', `${doc._id}:started`, { assessment_id: doc._id, test_id: testId, candidate_id: caller.user_id, deadline: doc.deadline.toISOString() });
      return started(doc, test, now, false);
    }
    throw new AppError('CONFLICT', 'could not start the assessment; try again');
  }

  function started(a: AssessmentDoc, test: LoadedTest, now: Date, resumed: boolean): ResponseOf<'assessmentStart'> {
    return {
      assessment_id: a._id,
      test: summary(test),
      started_at: a.started_at.toISOString(),
      deadline: a.deadline.toISOString(),
      resumed,
      answered: a.responses.length,
      time_remaining_s: remainingS(a, now),
      status: a.status,
      current_question_id: a.current?.item_id ?? null,
      current_question: a.current === null ? null : questionView(a, test, a.current.item_id, a.current.index, now),
      answered_question_ids: a.responses.map((r) => r.item_id),
    };
  }

  async function question(req: ParsedRequestOf<'assessmentQuestion'>): Promise<ResponseOf<'assessmentQuestion'>> {
    let a = await load(req.caller, req.assessment_id);
    const test = await getTest(a.test_id);
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const now = clock();
      a = await settleDeadline(a, test, now);
      if (a.status !== 'in_progress') {
        if (a.status === 'paused') throw notActive(a, 'the assessment is paused');
        if (a.status === 'overdue') throw overdueError(a, test);
        return { question: null, completed: completedView(a, test) };
      }
      if (a.current !== null) return { question: questionView(a, test, a.current.item_id, a.current.index, now) };
      const plan = planNext(test, a, remainingS(a, now));
      if (plan.done) {
        const finished = await finalize(a, test, plan.reason === 'time_limit' ? 'expired' : 'completed', plan.reason, now);
        if (finished === null) {
          a = await reload(a._id);
          continue;
        }
        return { question: null, completed: completedView(finished, test) };
      }
      const current = { item_id: plan.itemId, index: a.responses.length, asked_at: now };
      const res = await versioned(a, { current, updated_at: now });
      if (res === null) {
        a = await reload(a._id);
        continue;
      }
      return { question: questionView(res, test, plan.itemId, current.index, now) };
    }
    throw new AppError('CONFLICT', 'the assessment changed concurrently; try again');
  }

  async function answer(req: ParsedRequestOf<'assessmentAnswer'>): Promise<ResponseOf<'assessmentAnswer'>> {
    let a = await load(req.caller, req.assessment_id);
    const test = await getTest(a.test_id);
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const now = clock();
      const previous = a.responses.find((r) => r.item_id === req.question_id);
      if (previous !== undefined) {
        if (previous.selected_option !== req.selected_option) {
          throw new AppError('CONFLICT', 'this question was already answered with another option', {
            details: { question_id: req.question_id },
          });
        }
        // The same answer again (a retry after a lost acknowledgement): the stored feedback, nothing changes.
        const done = a.status !== 'in_progress' && a.status !== 'paused';
        return {
          feedback: feedbackView(a, test, previous, done),
          ...(done && a.status !== 'in_progress' ? { completed: completedView(a, test) } : {}),
        };
      }
      if ((a.status === 'in_progress' && now.getTime() > a.deadline.getTime()) || a.status === 'overdue') {
        const settled = await settleDeadline(a, test, now);
        if (settled.status === 'overdue') throw overdueError(settled, test);
        throw new AppError('TIME_EXPIRED', 'the time for this assessment is over; the answer was not stored');
      }
      if (a.status !== 'in_progress') throw notActive(a, `the assessment is ${a.status}`);
      if (a.current === null || a.current.item_id !== req.question_id) {
        throw new AppError('CONFLICT', 'this question was not asked; request the current question first', {
          details: { question_id: req.question_id, current_question_id: a.current?.item_id ?? null },
        });
      }
      const item = test.items.get(req.question_id);
      if (item === undefined) throw new AppError('INTERNAL', 'item missing from test');
      if (!item.options.some((o) => o.id === req.selected_option)) {
        throw new AppError('VALIDATION_FAILED', `"${req.selected_option}" is not an option of this question`, {
          details: { options: item.options.map((o) => o.id) },
        });
      }
      const response: ResponseDoc = {
        item_id: item._id,
        index: a.current.index,
        skill: item.skill,
        selected_option: req.selected_option,
        correct: req.selected_option === item.key,
        asked_at: a.current.asked_at,
        answered_at: now,
      };
      const responses = [...a.responses, response];
      const plan = planNext(test, { seed: a.seed, responses }, remainingS(a, now));
      if (plan.theta !== undefined) response.theta = plan.theta;
      if (plan.se !== undefined) response.se = plan.se;
      // The next question is chosen now and stored with the answer: the candidate's next
      // get_question is then a read, not a second write (half the writes per question).
      const set: Partial<AssessmentDoc> = {
        current: plan.done ? null : { item_id: plan.itemId, index: responses.length, asked_at: now },
        updated_at: now,
      };
      let finishedDoc: AssessmentDoc | null = null;
      if (plan.done) {
        finishedDoc = {
          ...a,
          responses,
          current: null,
          status: plan.reason === 'time_limit' ? 'expired' : 'completed',
          reason: plan.reason,
          finished_at: now,
          result: await withPercentile(a.test_id, { ...computeResult(test, responses), incidents: a.incidents?.length ?? 0 }),
        };
        Object.assign(set, { status: finishedDoc.status, reason: finishedDoc.reason, finished_at: now, result: finishedDoc.result });
      }
      const res = await versioned(a, { ...set, responses });
      if (res === null) {
        a = await reload(a._id);
        continue;
      }
      emit('answered', `${a._id}:answered:${response.item_id}`, {
        assessment_id: a._id,
        candidate_id: a.candidate_id,
        test_id: a.test_id,
        question_id: response.item_id,
        index: response.index,
        correct: response.correct,
      });
      if (finishedDoc !== null) await afterFinish(res, test, false);
      return {
        feedback: feedbackView(res, test, response, plan.done),
        ...(plan.done ? { completed: completedView(res, test) } : {}),
      };
    }
    throw new AppError('CONFLICT', 'the assessment changed concurrently; try again');
  }

  async function progress(req: ParsedRequestOf<'assessmentProgress'>): Promise<Progress> {
    const now = clock();
    const loaded = await load(req.caller, req.assessment_id);
    const test = await getTest(loaded.test_id);
    const a = await settleDeadline(loaded, test, now);
    return progressView(a, test, now);
  }

  async function end(req: ParsedRequestOf<'assessmentEnd'>): Promise<AssessmentCompleted> {
    let a = await load(req.caller, req.assessment_id);
    const test = await getTest(a.test_id);
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const now = clock();
      a = await settleDeadline(a, test, now);
      // In the grace period (overdue) the candidate may still submit what was answered.
      if (!ACTIVE.includes(a.status as (typeof ACTIVE)[number]) && a.status !== 'overdue') return completedView(a, test);
      const finished = await finalize(a, test, 'completed', 'candidate_ended', now);
      if (finished !== null) return completedView(finished, test);
      a = await reload(a._id);
    }
    throw new AppError('CONFLICT', 'the assessment changed concurrently; try again');
  }

  async function describe(req: ParsedRequestOf<'assessmentDescribe'>): Promise<ResponseOf<'assessmentDescribe'>> {
    const a = await load(req.caller, req.assessment_id);
    return { assessment_id: a._id, candidate_id: a.candidate_id, test_id: a.test_id, status: a.status };
  }

  async function expireDue(req: ParsedRequestOf<'assessmentExpireDue'>): Promise<ResponseOf<'assessmentExpireDue'>> {
    if (req.caller.role !== 'admin') throw new AppError('FORBIDDEN', 'only the platform may expire assessments');
    const now = clock();
    const dueIds = await col.active
      .find({ status: { $in: ['in_progress', 'overdue'] }, deadline: { $lt: now } }, { projection: { _id: 1 } })
      .sort({ deadline: 1 })
      .limit(req.limit)
      .toArray();
    const due = await col.assessments.find({ _id: { $in: dueIds.map((d) => d._id) } }).toArray();
    const expired: { assessment_id: string; candidate_id: string }[] = [];
    for (const a of due) {
      const test = await getTest(a.test_id);
      const after = await settleDeadline(a, test, now);
      if (after.status !== a.status) expired.push({ assessment_id: a._id, candidate_id: a.candidate_id });
    }
    if (expired.length > 0) log.info({ count: expired.length }, 'expired assessments past their deadline');
    return { expired };
  }

  /**
   * Applies the test's policy once the deadline has passed: `autosubmit` finalizes with what was
   * answered (status `expired`, finish time = the deadline even if the candidate was away);
   * `grace` moves to `overdue` (the candidate may still submit) and, after the grace period, to
   * `abandoned`. The candidate is told by a push.
   */
  async function settleDeadline(a: AssessmentDoc, test: LoadedTest, now: Date): Promise<AssessmentDoc> {
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const pastDeadline = now.getTime() > a.deadline.getTime();
      const pastGrace = now.getTime() > a.deadline.getTime() + test.doc.grace_s * 1000;
      let next: AssessmentDoc | null;
      if (a.status === 'in_progress' && pastDeadline && test.doc.on_expiry === 'autosubmit') {
        next = await finalize(a, test, 'expired', 'time_limit', a.deadline, true);
      } else if ((a.status === 'in_progress' || a.status === 'overdue') && pastGrace && test.doc.on_expiry === 'grace') {
        next = await finalize(a, test, 'abandoned', 'time_limit', a.deadline, true);
      } else if (a.status === 'in_progress' && pastDeadline && test.doc.on_expiry === 'grace') {
        next = await versioned(a, { status: 'overdue', current: null, updated_at: now });
        if (next !== null) {
          bus.publish(events.pushToUser.subject(a.candidate_id), {
            type: 'time_warning',
            data: { assessment_id: a._id, time_remaining_s: 0 },
            assessment_id: a._id,
          });
        }
      } else {
        return a;
      }
      if (next !== null) return next;
      a = await reload(a._id);
    }
    return a;
  }

  function overdueError(a: AssessmentDoc, test: LoadedTest): AppError {
    const left = Math.max(0, Math.floor((a.deadline.getTime() + test.doc.grace_s * 1000 - clock().getTime()) / 1000));
    return new AppError('TIME_EXPIRED', `the time is up; send end_assessment within ${left} s to submit what you answered`, {
      details: { status: 'overdue', grace_remaining_s: left },
    });
  }

  /** Adds time to one candidate's deadline (a proctor, recruiter or admin command); recorded with who and when. */
  async function extraTime(req: ParsedRequestOf<'assessmentExtraTime'>): Promise<ResponseOf<'assessmentExtraTime'>> {
    if (req.caller.role === 'candidate') throw new AppError('FORBIDDEN', 'only staff can give extra time');
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const a = await load(req.caller, req.assessment_id);
      if (!['in_progress', 'paused', 'overdue'].includes(a.status)) {
        throw notActive(a, `the assessment is ${a.status}`);
      }
      const now = clock();
      // A retried command (same key) adds nothing the second time.
      if (req.key !== undefined && a.log.some((e) => e.type === 'extra_time' && e['key'] === req.key)) {
        return { assessment_id: a._id, deadline: a.deadline.toISOString(), time_remaining_s: remainingS(a, now), status: a.status };
      }
      const deadline = new Date(a.deadline.getTime() + req.seconds * 1000);
      const status = a.status === 'overdue' && deadline.getTime() > now.getTime() ? 'in_progress' : a.status;
      const entry = {
        type: 'extra_time',
        by: req.caller.user_id,
        role: req.caller.role,
        at: now,
        seconds: req.seconds,
        reason: req.reason,
        ...(req.key === undefined ? {} : { key: req.key }),
      };
      const res = await versioned(a, { deadline, status, updated_at: now, log: [...a.log, entry] });
      if (res === null) continue;
      const timeRemaining = remainingS(res, now);
      bus.publish(events.pushToUser.subject(a.candidate_id), {
        type: 'time_extended',
        data: { assessment_id: a._id, deadline: deadline.toISOString(), time_remaining_s: timeRemaining, extra_s: req.seconds },
        assessment_id: a._id,
      });
      log.info({ assessment_id: a._id, seconds: req.seconds, by: req.caller.user_id }, 'extra time given');
      return { assessment_id: a._id, deadline: deadline.toISOString(), time_remaining_s: timeRemaining, status: res.status };
    }
    throw new AppError('CONFLICT', 'the assessment changed concurrently; try again');
  }

  /** Pause, resume or terminate (staff commands, recorded with who and when); the candidate is told by a push. */
  async function command(req: ParsedRequestOf<'assessmentCommand'>): Promise<ResponseOf<'assessmentCommand'>> {
    if (req.caller.role === 'candidate') throw new AppError('FORBIDDEN', 'only staff can pause, resume or terminate');
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const a = await load(req.caller, req.assessment_id);
      const test = await getTest(a.test_id);
      const now = clock();
      const entry = { type: req.command, by: req.caller.user_id, role: req.caller.role, at: now, reason: req.reason };
      let next: AssessmentDoc | null;
      if (req.command === 'pause') {
        if (a.status !== 'in_progress') throw notActive(a, `cannot pause: the assessment is ${a.status}`);
        next = await versioned(a, { status: 'paused', paused_at: now, updated_at: now, log: [...a.log, entry] });
        if (next !== null) push(a, 'assessment_paused', { assessment_id: a._id, reason: req.reason });
      } else if (req.command === 'resume') {
        if (a.status !== 'paused') throw notActive(a, `cannot resume: the assessment is ${a.status}`);
        // The clock stopped while paused: the deadline moves by the paused time.
        const pausedMs = now.getTime() - (a.paused_at ?? now).getTime();
        const deadline = new Date(a.deadline.getTime() + pausedMs);
        next = await versioned(a, { status: 'in_progress', paused_at: null, deadline, updated_at: now, log: [...a.log, entry] });
        if (next !== null) {
          push(a, 'assessment_resumed', { assessment_id: a._id, deadline: deadline.toISOString(), time_remaining_s: remainingS(next, now) });
        }
      } else {
        if (!['in_progress', 'paused', 'overdue'].includes(a.status)) throw notActive(a, `the assessment is ${a.status}`);
        next = await finalize({ ...a, log: [...a.log, entry] }, test, 'terminated', 'terminated', now, true);
      }
      if (next === null) continue;
      log.info({ assessment_id: a._id, command: req.command, by: req.caller.user_id }, 'staff command applied');
      return { assessment_id: a._id, status: next.status, deadline: next.deadline.toISOString(), time_remaining_s: remainingS(next, now) };
    }
    throw new AppError('CONFLICT', 'the assessment changed concurrently; try again');
  }

  /** Records an integrity incident reported by the candidate's own client. */
  async function integrity(req: ParsedRequestOf<'assessmentIntegrity'>): Promise<ResponseOf<'assessmentIntegrity'>> {
    if (req.caller.role !== 'candidate') throw new AppError('FORBIDDEN', 'incidents come from the candidate’s client');
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const a = await load(req.caller, req.assessment_id);
      const incidents = a.incidents ?? [];
      if (!['in_progress', 'paused', 'overdue'].includes(a.status) || incidents.length >= MAX_INCIDENTS) {
        return { assessment_id: a._id, kind: req.kind, incidents: incidents.length };
      }
      const now = clock();
      const next = await versioned(a, { incidents: [...incidents, { kind: req.kind, at: req.at, received_at: now }], updated_at: now });
      if (next !== null) return { assessment_id: a._id, kind: req.kind, incidents: incidents.length + 1 };
    }
    throw new AppError('CONFLICT', 'the assessment changed concurrently; try again');
  }

  function push(a: AssessmentDoc, type: string, data: Record<string, unknown>): void {
    bus.publish(events.pushToUser.subject(a.candidate_id), { type, data, assessment_id: a._id });
  }

  /** Abandons in-progress assessments of tests that set `abandon_after_s` whose candidate has had no live connection for that long. */
  async function abandonIdle(req: ParsedRequestOf<'assessmentAbandonIdle'>): Promise<ResponseOf<'assessmentAbandonIdle'>> {
    if (req.caller.role !== 'admin') throw new AppError('FORBIDDEN', 'only the platform may abandon assessments');
    const now = clock();
    const strict = await col.tests.find({ abandon_after_s: { $exists: true } }, { projection: { _id: 1, abandon_after_s: 1 } }).toArray();
    const abandoned: { assessment_id: string; candidate_id: string }[] = [];
    for (const t of strict) {
      if (t.abandon_after_s === undefined) continue;
      const cutoff = new Date(now.getTime() - t.abandon_after_s * 1000);
      const running = await col.active
        .find({ test_id: t._id, status: 'in_progress', started_at: { $lt: cutoff } }, { projection: { _id: 1 } })
        .toArray();
      const seen = await col.presence
        .find({ _id: { $in: running.map((r) => r._id) }, last_seen_at: { $gte: cutoff } }, { projection: { _id: 1 } })
        .toArray();
      const live = new Set(seen.map((p) => p._id));
      const idleIds = running.map((r) => r._id).filter((id) => !live.has(id)).slice(0, req.limit - abandoned.length);
      const idle = await col.assessments.find({ _id: { $in: idleIds } }).toArray();
      const test = await getTest(t._id);
      for (const a of idle) {
        const done = await finalize(a, test, 'abandoned', 'abandoned', now, true);
        if (done !== null) abandoned.push({ assessment_id: a._id, candidate_id: a.candidate_id });
      }
      if (abandoned.length >= req.limit) break;
    }
    if (abandoned.length > 0) log.info({ count: abandoned.length }, 'abandoned idle assessments');
    // Old presence rows go: a live connection refreshes its row every few seconds.
    const dropped = await col.presence.deleteMany({ last_seen_at: { $lt: new Date(now.getTime() - PRESENCE_RETENTION_MS) } });
    if (dropped.deletedCount > 0) log.info({ count: dropped.deletedCount }, 'old presence entries dropped');
    return { abandoned };
  }

  /** Conditionally moves an assessment to a final status; null when its version changed meanwhile. */
  async function finalize(
    a: AssessmentDoc,
    test: LoadedTest,
    status: 'completed' | 'expired' | 'abandoned' | 'terminated',
    reason: CompletionReason,
    finishedAt: Date,
    pushToCandidate = false,
  ): Promise<AssessmentDoc | null> {
    const computed = { ...computeResult(test, a.responses), incidents: a.incidents?.length ?? 0 };
    const result = status === 'terminated' ? computed : await withPercentile(a.test_id, computed);
    const res = await versioned(a, { status, reason, finished_at: finishedAt, current: null, result, log: a.log, updated_at: clock() });
    if (res !== null) await afterFinish(res, test, pushToCandidate);
    return res;
  }

  async function afterFinish(a: AssessmentDoc, test: LoadedTest, pushToCandidate: boolean): Promise<void> {
    if ((a.status === 'completed' || a.status === 'expired') && a.result?.theta !== undefined && a.result.answered > 0) {
      await col.scores.updateOne({ _id: a._id }, { $set: { test_id: a.test_id, theta: a.result.theta } }, { upsert: true });
    }
    if (a.application_id !== null) {
      await col.applications.updateOne({ _id: a.application_id }, { $set: { status: a.status, updated_at: clock() } });
    }
    const view = completedView(a, test);
    emit(a.status === 'completed' ? 'completed' : 'expired', `${a._id}:finished`, { ...view, candidate_id: a.candidate_id, test_id: a.test_id });
    if (pushToCandidate) {
      bus.publish(events.pushToUser.subject(a.candidate_id), { type: 'assessment_completed', data: view, assessment_id: a._id });
    }
    deps.metrics?.assessmentFinished(a.status);
    log.info({ assessment_id: a._id, status: a.status, reason: a.reason, answered: a.responses.length }, 'assessment finished');
  }

  /** Adds the percentile rank of this θ among the finished assessments of the same test, itself included. */
  async function withPercentile(testId: string, result: ResultDoc): Promise<ResultDoc> {
    if (result.theta === undefined || result.answered === 0) return result;
    const [below, equal, total] = await Promise.all([
      col.scores.countDocuments({ test_id: testId, theta: { $lt: result.theta } }),
      col.scores.countDocuments({ test_id: testId, theta: result.theta }),
      col.scores.countDocuments({ test_id: testId }),
    ]);
    // This assessment is not counted yet (it is still in progress when this runs): add it.
    return { ...result, percentile: Math.round((1000 * (below + (equal + 1) / 2)) / (total + 1)) / 10 };
  }

  /** Recomputes the Sympson–Hetter exposure parameters of a test's items from how often they were given. */
  async function updateExposure(req: ParsedRequestOf<'exposureUpdate'>): Promise<ResponseOf<'exposureUpdate'>> {
    if (req.caller.role !== 'admin') throw new AppError('FORBIDDEN', 'only admins update exposure parameters');
    const test = await getTest(req.test_id);
    const finished = await col.assessments
      .find({ test_id: req.test_id, status: { $in: ['completed', 'expired'] } }, { projection: { 'responses.item_id': 1 } })
      .toArray();
    const usage = new Map<string, { administered: number }>();
    for (const a of finished) {
      for (const r of a.responses) usage.set(r.item_id, { administered: (usage.get(r.item_id)?.administered ?? 0) + 1 });
    }
    const updates = updateExposureFromUsage({
      items: test.bank.map((b) => ({ id: b.id, exposureK: b.exposureK })),
      usage,
      examinees: finished.length,
      rMax: req.r_max,
      minExaminees: req.min_examinees,
    });
    let updated = 0;
    for (const u of updates) {
      if (u.exposureK === u.previousK) continue;
      await col.items.updateOne({ _id: u.id }, { $set: { [`exposure_k.${req.test_id}`]: u.exposureK } });
      updated += 1;
    }
    tests.delete(req.test_id);
    log.info({ test_id: req.test_id, examinees: finished.length, updated }, 'exposure parameters updated');
    return {
      examinees: finished.length,
      updated,
      max_exposure_rate: Math.max(0, ...updates.map((u) => u.exposureRate)),
      items: updates.map((u) => ({ id: u.id, exposure_k: u.exposureK, exposure_rate: u.exposureRate })),
    };
  }

  async function reload(id: string): Promise<AssessmentDoc> {
    const a = await col.assessments.findOne({ _id: id });
    if (a === null) throw new AppError('NOT_FOUND', `assessment ${id} not found`);
    return a;
  }

  return {
    async close() {
      await Promise.all(subs.map((s) => s.drain()));
    },
  };
}

/** ASSESSMENT_NOT_ACTIVE with the status, so that a client can tell a pause from the end. */
function notActive(a: AssessmentDoc, message: string): AppError {
  return new AppError('ASSESSMENT_NOT_ACTIVE', message, { details: { assessment_id: a._id, status: a.status } });
}

function staffMaySee(caller: Caller, testId: string): boolean {
  if (caller.role === 'candidate') return false;
  return caller.role === 'admin' || caller.tests === undefined || caller.tests.includes(testId);
}

function summary(test: LoadedTest): TestSummary {
  const d = test.doc;
  return {
    test_id: d._id,
    title: d.title,
    strategy: d.strategy,
    time_limit_s: d.time_limit_s,
    planned_items: test.planned,
    skills: [...new Set(test.bank.map((b) => b.skill))],
    show_feedback: d.feedback.show_correctness,
    time_warnings_s: d.time_warnings_s,
    on_expiry: d.on_expiry,
    grace_s: d.grace_s,
  };
}

function questionView(a: AssessmentDoc, test: LoadedTest, itemId: string, index: number, now: Date): Question {
  const item = test.items.get(itemId);
  if (item === undefined) throw new AppError('INTERNAL', 'item missing from test');
  return {
    assessment_id: a._id,
    question_id: item._id,
    index,
    type: 'single_choice',
    stem: item.stem,
    options: item.options.map((o) => ({ id: o.id, text: o.text })),
    skill: item.skill,
    time_remaining_s: Math.max(0, Math.floor((a.deadline.getTime() - now.getTime()) / 1000)),
  };
}

function feedbackView(a: AssessmentDoc, test: LoadedTest, r: ResponseDoc, finished: boolean): ResponseOf<'assessmentAnswer'>['feedback'] {
  return {
    assessment_id: a._id,
    question_id: r.item_id,
    accepted: true,
    selected_option: r.selected_option,
    ...(test.doc.feedback.show_correctness ? { correct: r.correct } : {}),
    answered: a.responses.length,
    finished,
  };
}

function progressView(a: AssessmentDoc, test: LoadedTest, now: Date): Progress {
  const answered = a.responses.length;
  const finished = !ACTIVE.includes(a.status as (typeof ACTIVE)[number]);
  const planned = finished ? answered : Math.max(answered, a.planned.max);
  const counts = new Map<string, number>();
  for (const r of a.responses) counts.set(r.skill, (counts.get(r.skill) ?? 0) + 1);
  const skills = [...new Set([...test.doc.skills.map((s) => s.name), ...test.bank.map((b) => b.skill)])];
  return {
    assessment_id: a._id,
    status: a.status,
    answered,
    planned,
    planned_range: a.planned,
    percent: planned === 0 ? 100 : Math.min(100, Math.round((1000 * answered) / planned) / 10),
    time_remaining_s: finished ? 0 : Math.max(0, Math.floor((a.deadline.getTime() - now.getTime()) / 1000)),
    skills: skills.map((skill) => {
      const target = test.doc.skills.find((s) => s.name === skill);
      const share = target?.share;
      return {
        skill,
        answered: counts.get(skill) ?? 0,
        ...(share === undefined ? {} : { target: Math.round(share * a.planned.max) }),
      };
    }),
  };
}

function completedView(a: AssessmentDoc, test: LoadedTest): AssessmentCompleted {
  const showScore = test.doc.feedback.show_score && a.result !== null;
  const result = a.result;
  return {
    assessment_id: a._id,
    status: a.status,
    reason: a.reason ?? 'candidate_ended',
    finished_at: (a.finished_at ?? a.updated_at).toISOString(),
    ...(showScore && result !== null
      ? {
          score: result.scaled_score ?? result.percent_correct,
          result: {
            ...resultSummary(result),
            trace: result.trace.map((t) => ({ theta: t.theta, se: t.se })),
          },
        }
      : {}),
  };
}

/** Imports a bank file (JSON or YAML): every item is checked first, so a bad file imports nothing. */
async function importItems(
  col: Collections,
  req: ParsedRequestOf<'itemsImport'>,
  cache: Map<string, Promise<LoadedTest>>,
): Promise<ResponseOf<'itemsImport'>> {
  if (req.caller.role !== 'admin' && req.caller.role !== 'recruiter') throw new AppError('FORBIDDEN', 'only recruiters and admins import items');
  const parsed = parseBankFile(req.text, req.format);
  if (!parsed.ok) {
    throw new AppError('VALIDATION_FAILED', `the bank has ${parsed.errors.length} error(s); nothing was imported`, {
      details: { errors: parsed.errors.slice(0, 100) },
    });
  }
  const ids: string[] = [];
  for (const item of parsed.items) {
    const checked = itemSchema.safeParse({ ...item, type: 'single_choice' });
    if (!checked.success) {
      throw new AppError('VALIDATION_FAILED', `item ${item.id}: ${checked.error.issues[0]?.message ?? 'invalid'}; nothing was imported`, {
        details: { errors: checked.error.issues.map((i) => ({ item: item.id, field: i.path.join('.'), message: i.message })) },
      });
    }
    ids.push(checked.data.id);
  }
  for (const item of parsed.items) {
    const { id, ...rest } = item;
    const doc: ItemDoc = { _id: id, ...rest, type: 'single_choice' };
    await col.items.replaceOne({ _id: id }, doc, { upsert: true });
  }
  // Tests that use these items see the new version on their next load.
  cache.clear();
  return { imported: ids.length, item_ids: ids };
}

async function createTest(
  col: Collections,
  req: ParsedRequestOf<'testCreate'>,
  clock: Clock,
  cache: Map<string, Promise<LoadedTest>>,
): Promise<ResponseOf<'testCreate'>> {
  if (req.caller.role !== 'admin' && req.caller.role !== 'recruiter') throw new AppError('FORBIDDEN', 'only recruiters and admins create tests');
  const { definition, items } = req;
  const given = new Set(items.map((i) => i.id));
  if (given.size !== items.length) throw new AppError('VALIDATION_FAILED', 'item ids must be unique');
  const missing = definition.items.filter((id) => !given.has(id));
  if (missing.length > 0) {
    const found = await col.items.find({ _id: { $in: missing } }, { projection: { _id: 1 } }).toArray();
    const foundIds = new Set(found.map((f) => f._id));
    const unknown = missing.filter((id) => !foundIds.has(id));
    if (unknown.length > 0) {
      throw new AppError('VALIDATION_FAILED', `unknown items in the pool: ${unknown.slice(0, 5).join(', ')}`, { details: { unknown: unknown.slice(0, 50) } });
    }
  }
  const now = clock();
  for (const item of items) {
    const { id, ...rest } = item;
    const doc: ItemDoc = { _id: id, ...rest };
    await col.items.replaceOne({ _id: id }, doc, { upsert: true });
  }
  const testId = definition.id ?? randomUUID();
  const { id: _ignored, ...body } = definition;
  const doc: TestDoc = { ...body, _id: testId, created_by: req.caller.user_id, created_at: now, updated_at: now };
  await col.tests.replaceOne({ _id: testId }, doc, { upsert: true });
  cache.delete(testId);
  return { test_id: testId, items: definition.items.length };
}
