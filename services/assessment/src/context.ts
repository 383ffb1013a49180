import type { Bus, Handler } from '@ap/bus';
import type { Logger } from '@ap/logging';
import type { EndpointName } from '@ap/protocol';
import type { OnlineTracker } from './live.ts';
import type { Percentiles } from './percentiles.ts';
import type { AssessmentRepository } from './repository.ts';
import type { LoadedTest } from './selection.ts';
import type { AssessmentDoc, Collections } from './store.ts';

export type Clock = () => Date;

/** Events that go to the JetStream stream (de-duplicated by message id). */
export type StreamEvent = 'started' | 'answered' | 'completed' | 'expired';

/** What every handler group is built from: wired once in service.ts. */
export type Context = {
  bus: Bus;
  col: Collections;
  repo: AssessmentRepository;
  log: Logger;
  clock: Clock;
  online: OnlineTracker;
  percentiles: Percentiles;
  /** A test with its items, loaded once per replica. */
  getTest(testId: string): Promise<LoadedTest>;
  /** Drops cached tests (one, or all when no id is given) after they changed. */
  forgetTests(testId?: string): void;
  /** Publishes to the event stream; the database is the record, so a failed publish is logged, not fatal. */
  emit(kind: StreamEvent, msgId: string, payload: Record<string, unknown>): void;
  /** Tells proctors watching the test how an assessment stands now (core NATS, best effort). */
  publishLive(a: AssessmentDoc, isOnline?: boolean): void;
  /** Pushes a frame to the candidate's sockets. */
  push(a: AssessmentDoc, type: string, data: Record<string, unknown>): void;
  metrics?: { assessmentFinished(status: string): void } | undefined;
};

/** Request handlers by endpoint name, as each group gives them to service.ts. */
export type HandlerTable = { [E in EndpointName]?: Handler<E> };

/** How many times a handler reads again and decides again after another writer went first. */
export const MAX_RETRIES = 8;
