import type { Bus, EventStream, Handler } from '@ap/bus';
import type { Db } from '@ap/db';
import type { Logger } from '@ap/logging';
import { AppError, streamEvents } from '@ap/protocol';
import type { EndpointName, UserPush } from '@ap/protocol';
import type { Subscription } from '@nats-io/transport-node';
import { authoringHandlers } from './authoring.ts';
import { candidateHandlers } from './candidate.ts';
import type { Clock, Context, HandlerTable } from './context.ts';
import { createOnlineTracker, liveView } from './live.ts';
import { createPercentiles } from './percentiles.ts';
import { recruiterHandlers } from './recruiter.ts';
import { createRepository } from './repository.ts';
import { isFinal } from './rules.ts';
import { loadTest } from './selection.ts';
import type { LoadedTest } from './selection.ts';
import { staffHandlers } from './staff.ts';
import { openCollections } from './store.ts';
import { connectionChanged, createPresenceWriter, signedInAgain, systemHandlers } from './system.ts';
import { startApprovalHandlers } from './start-approval.ts';
import { testInfoHandlers } from './test-info.ts';
import { createWarnings } from './warnings.ts';

export type { Clock } from './context.ts';

export type AssessmentService = { close(): Promise<void> };

const QUEUE = 'assessment';

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
        // One lookup by _id per item: a `$in` filter reads the whole collection on FerretDB.
        const ids = [...doc.items, ...(doc.pretest?.items ?? [])];
        const items = (await Promise.all(ids.map((_id) => col.items.findOne({ _id })))).filter((i) => i !== null);
        // Never cache a test read without all its items (the pool was checked when it was
        // created): a replica would keep failing on an item another replica had asked.
        if (items.length !== ids.length) throw new AppError('SERVICE_UNAVAILABLE', `test ${testId} was read incompletely; try again`);
        return loadTest(doc, items);
      })();
      tests.set(testId, loaded);
      loaded.catch(() => tests.delete(testId));
    }
    return loaded;
  }

  function publishLive(a: Parameters<Context['publishLive']>[0], isOnline?: boolean): void {
    const now = clock();
    const up = isOnline ?? online.isOnline(a._id, now.getTime());
    if (isFinal(a.status)) online.forget(a._id);
    try {
      bus.publish('liveAssessment', a.test_id, liveView(a, up, now));
    } catch (err) {
      // The write is done; the feed is best effort and the next change repairs it.
      log.warn({ err, assessment_id: a._id }, 'live row not published');
    }
  }

  const ctx: Context = {
    bus,
    col,
    log,
    clock,
    online,
    getTest,
    forgetTests(testId) {
      if (testId === undefined) tests.clear();
      else tests.delete(testId);
    },
    percentiles: createPercentiles(col.scores, () => clock().getTime()),
    repo: createRepository({
      col,
      afterWrite: (next) => {
        publishLive(next);
        warnings.ensure(next).catch((err: unknown) => log.warn({ err, assessment_id: next._id }, 'time warnings not scheduled'));
      },
    }),
    publishLive,
    emit(kind, msgId, payload) {
      const event = streamEvents[kind];
      deps.eventStream.publish(event.subject, { ...payload, at: clock().toISOString() }, msgId).catch((err: unknown) => {
        log.warn({ err, kind, msg_id: msgId }, 'event not published');
      });
    },
    push(a, type, data) {
      bus.publish('pushToUser', a.candidate_id, { type, data, assessment_id: a._id } as UserPush);
    },
    metrics: deps.metrics,
  };

  const presence = createPresenceWriter(ctx);
  const warnings = createWarnings(ctx);
  const table: HandlerTable = { ...candidateHandlers(ctx), ...staffHandlers(ctx), ...systemHandlers(ctx), ...authoringHandlers(ctx), ...testInfoHandlers(ctx), ...startApprovalHandlers(ctx), ...recruiterHandlers(ctx) };
  const subs: Subscription[] = (Object.keys(table) as EndpointName[]).map((name) =>
    bus.serve(name, QUEUE, table[name] as Handler<typeof name>),
  );
  subs.push(
    // Presence from every gateway; one replica records each batch, one write at a time.
    bus.subscribe(
      'presence',
      undefined,
      async (p) => {
        // Online candidates get their time warnings from this replica if none holds them.
        await Promise.all([presence.record(p.gateway_id, p.assessment_ids), warnings.ensureIds(p.assessment_ids)]);
      },
      { queue: QUEUE },
    ),
    // Every replica keeps who is online in memory, for the live feed.
    bus.subscribe('presence', undefined, (p) => online.batch(p.gateway_id, p.assessment_ids, clock().getTime())),
    bus.subscribe('connection', undefined, (e) => online.connection(e, clock().getTime())),
    // One replica tells proctors when a candidate comes or goes.
    bus.subscribe('connection', undefined, (e) => connectionChanged(ctx, e), { queue: QUEUE }),
    // A repeated sign-in during the test becomes an incident that proctors see.
    bus.subscribe('reSignIn', undefined, (e) => signedInAgain(ctx, e), { queue: QUEUE }),
  );

  return {
    async close() {
      await Promise.all(subs.map((s) => s.drain()));
      warnings.close();
    },
  };
}
