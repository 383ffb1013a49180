import type { Bus, Handler } from '@ap/bus';
import type { Logger } from '@ap/logging';
import type { EndpointName, ServerFrameDataOf, ServerFrameType, StreamEventName, StreamEventOf } from '@ap/protocol';
import type { OnlineTracker } from './live.ts';
import type { Percentiles } from './percentiles.ts';
import type { AssessmentRepository } from './repository.ts';
import type { LoadedTest } from './selection.ts';
import type { AssessmentDoc, Collections } from './store.ts';

export type { Clock } from '@ap/protocol';
import type { Clock } from '@ap/protocol';

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
  emit<E extends StreamEventName>(kind: E, msgId: string, payload: Omit<StreamEventOf<E>, 'at'>): void;
  /** Tells proctors watching the test how an assessment stands now (core NATS, best effort). */
  publishLive(a: AssessmentDoc, isOnline?: boolean): void;
  /** Pushes a frame to the candidate's sockets. */
  push<T extends ServerFrameType>(a: AssessmentDoc, type: T, data: ServerFrameDataOf<T>): void;
  metrics?: { assessmentFinished(status: string): void } | undefined;
};

/** Request handlers by endpoint name, as each group gives them to service.ts. */
export type HandlerTable = { [E in EndpointName]?: Handler<E> };

/** How many times a handler reads again and decides again after another writer went first. */
export const MAX_RETRIES = 8;
