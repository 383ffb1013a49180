import { createGroupInsert, isDuplicateKey } from '@ap/db';
import type { Db, Filter } from 'mongodb';
import { AppError } from '@ap/protocol';
import { isFinal, isOpen } from './rules.ts';
import type { AssessmentDoc, AssessmentFields, Collections, EventDoc, Incident, LogEntry, ResponseDoc } from './store.ts';

/** One change to write: fields to set, and at most one entry for each list. */
export type Change = { set: AssessmentFields; response?: ResponseDoc; log?: LogEntry; incident?: Incident };

/**
 * The assessments of one replica: reads by `_id` only, one insert per change, and a cache that is
 * checked rather than trusted.
 *
 * Database commands per frame (the hot path, warm cache):
 * - `fresh` (get_question, get_progress): one `findOne` by `_id` of the next event, which is
 *   normally absent and proves that the cached version is the latest;
 * - `append` (submit_answer): one insert of the next event; a duplicate key means another replica
 *   or request wrote that version first: `fresh` reads it and the caller decides again. Inserts
 *   that arrive while one is being written go together in the next `insertMany`, so under load
 *   many answers share one command and one commit.
 * The snapshot in `assessments` and the sweep row in `assessments_active` are written only when
 * the status or the deadline changes, never for an answer.
 *
 * MongoDB and FerretDB differ only in what the server does with the same commands: both make a
 * unique insert atomic, which is the one primitive this needs; neither is asked for a conditional
 * update or a transaction.
 */
export type AssessmentRepository = {
  /** Writes a new assessment's head document (version 0). Throws a duplicate key error when it exists. */
  create(a: AssessmentDoc): Promise<void>;
  /** The assessment as the cache holds it, read from the database when it is not cached. */
  cached(id: string): Promise<AssessmentDoc | null>;
  /** The latest version: the cached one checked against the database (one read when nothing changed). */
  fresh(id: string): Promise<AssessmentDoc | null>;
  /** `a` brought up to date with the events written after its version. */
  refresh(a: AssessmentDoc): Promise<AssessmentDoc>;
  /** Writes the next version of `a`; null when another writer wrote that version first. */
  append(a: AssessmentDoc, change: Change): Promise<AssessmentDoc | null>;
  /**
   * Whether this replica has seen the assessment in a final status (written or read here, among
   * the last {@link DEFAULT_CACHE_SIZE}). A final status never changes, so a caller that only
   * acts on open assessments can skip reading it.
   */
  knownFinal(id: string): boolean;
  /** Cached assessments (for metrics and tests). */
  size(): number;
};

/** Unfinished assessments kept in memory per replica (a few KB each); the least recently used go first. */
const DEFAULT_CACHE_SIZE = 10_000;
/** Events read at once while catching up (each a lookup by `_id`). */
const CATCH_UP_BATCH = 8;

export function eventId(assessmentId: string, seq: number): string {
  return `${assessmentId}:${seq}`;
}

/** Applies one event to an assessment: the pure fold that every reader shares. */
export function applyEvent(a: AssessmentDoc, e: EventDoc): AssessmentDoc {
  return {
    ...a,
    ...e.set,
    version: e.seq,
    responses: e.response === undefined ? a.responses : [...a.responses, e.response],
    log: e.log === undefined ? a.log : [...a.log, e.log],
    ...(e.incident === undefined ? {} : { incidents: [...(a.incidents ?? []), e.incident] }),
  };
}

/** Reads the events after `a.version` and folds them in (lookups by `_id`, a few at a time). */
async function catchUp(col: Collections, a: AssessmentDoc): Promise<AssessmentDoc> {
  let current = a;
  let batch = 1;
  for (;;) {
    const ids = Array.from({ length: batch }, (_, i) => eventId(current._id, current.version + 1 + i));
    const found = await Promise.all(ids.map((_id) => col.events.findOne({ _id })));
    for (const e of found) {
      if (e === null) return current;
      current = applyEvent(current, e);
    }
    // Behind by more than one: read ahead in parallel from now on.
    batch = CATCH_UP_BATCH;
  }
}

/**
 * Reads assessments as stored, without a cache: the documents that match `filter` in
 * `assessments` (head or snapshot), each with every event after it folded in. For tools and
 * tests that check what the database holds; the filter applies to the stored snapshot.
 */
export async function findAssessments(db: Db, filter: Filter<AssessmentDoc>): Promise<AssessmentDoc[]> {
  const col = {
    assessments: db.collection<AssessmentDoc>('assessments'),
    events: db.collection<EventDoc>('assessment_events'),
  } as Collections;
  const heads = await col.assessments.find(filter).toArray();
  return Promise.all(heads.map((head) => catchUp(col, head)));
}

/** The first assessment {@link findAssessments} finds, or null. */
export async function findAssessment(db: Db, filter: Filter<AssessmentDoc>): Promise<AssessmentDoc | null> {
  return (await findAssessments(db, filter))[0] ?? null;
}

export function createRepository(deps: {
  col: Collections;
  /** Called after every write with the new and the previous version (live rows, sweep rows). */
  afterWrite?: (next: AssessmentDoc, previous: AssessmentDoc) => Promise<void> | void;
  cacheSize?: number;
}): AssessmentRepository {
  const { col } = deps;
  const cacheSize = deps.cacheSize ?? DEFAULT_CACHE_SIZE;
  const cache = new Map<string, AssessmentDoc>();
  /** Ids of assessments seen in a final status, oldest first (insertion order), at most cacheSize. */
  const finals = new Set<string>();
  // Events of many assessments that arrive together are inserted by one command (group commit).
  const events = createGroupInsert(col.events);

  function remember(a: AssessmentDoc): AssessmentDoc {
    const known = cache.get(a._id);
    // Never go back to an older version (two requests of one assessment can finish out of order).
    if (known !== undefined && known.version > a.version) return known;
    cache.delete(a._id);
    // A finished assessment changes no more and is rarely read again: it leaves the cache, and
    // only its id is kept.
    if (isFinal(a.status)) {
      finals.delete(a._id);
      finals.add(a._id);
      if (finals.size > cacheSize) {
        const oldest = finals.values().next();
        if (oldest.done !== true) finals.delete(oldest.value);
      }
      return a;
    }
    cache.set(a._id, a);
    if (cache.size > cacheSize) {
      const oldest = cache.keys().next();
      if (oldest.done !== true) cache.delete(oldest.value);
    }
    return a;
  }

  async function cold(id: string): Promise<AssessmentDoc | null> {
    const head = await col.assessments.findOne({ _id: id });
    return head === null ? null : remember(await catchUp(col, head));
  }

  /**
   * Writes the snapshot, then makes sure no later version was written meanwhile: a snapshot that
   * lost a race to an older one is written again, so the stored one ends at the latest.
   */
  async function saveSnapshot(a: AssessmentDoc): Promise<void> {
    let current = a;
    for (let i = 0; i < 4; i++) {
      await col.assessments.replaceOne({ _id: current._id }, current);
      const later = await catchUp(col, current);
      if (later.version === current.version) return;
      current = remember(later);
    }
  }

  return {
    async create(a) {
      await col.assessments.insertOne(a);
      remember(a);
    },
    async cached(id) {
      const a = cache.get(id);
      return a ?? cold(id);
    },
    async fresh(id) {
      const a = cache.get(id);
      return a === undefined ? cold(id) : remember(await catchUp(col, a));
    },
    async refresh(a) {
      return remember(await catchUp(col, cache.get(a._id) ?? a));
    },
    async append(a, change) {
      const seq = a.version + 1;
      const event: EventDoc = {
        _id: eventId(a._id, seq),
        seq,
        set: change.set,
        ...(change.response === undefined ? {} : { response: change.response }),
        ...(change.log === undefined ? {} : { log: change.log }),
        ...(change.incident === undefined ? {} : { incident: change.incident }),
      };
      try {
        await events.insert(event);
      } catch (err) {
        if (isDuplicateKey(err)) return null;
        throw err;
      }
      const next = remember(applyEvent(a, event));
      const s = change.set;
      // The snapshot and the sweep row follow the status and the deadline, not the answers.
      if (s.status !== undefined || s.deadline !== undefined || s.paused_at !== undefined) {
        // Independent writes, sent together: the sweep row does not depend on the snapshot.
        const sweepRow = async () => {
          if (s.status === a.status && s.deadline === undefined) return;
          if (isOpen(next.status)) {
            await col.active.updateOne({ _id: next._id }, { $set: { status: next.status, deadline: next.deadline } });
          } else {
            await col.active.deleteOne({ _id: next._id });
          }
        };
        await Promise.all([saveSnapshot(next), sweepRow()]);
      }
      await deps.afterWrite?.(next, a);
      return next;
    },
    knownFinal: (id) => finals.has(id),
    size: () => cache.size,
  };
}

/** The assessment, or NOT_FOUND. */
export function found(a: AssessmentDoc | null, id: string): AssessmentDoc {
  if (a === null) throw new AppError('NOT_FOUND', `assessment ${id} not found`);
  return a;
}
