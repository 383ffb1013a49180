import { MongoBulkWriteError } from 'mongodb';
import type { Collection, Document, OptionalUnlessRequiredId, WriteError } from 'mongodb';

/** One document's insert failed inside a batch: its own server error, with the server's code. */
export class InsertError extends Error {
  readonly code: number | undefined;
  constructor(message: string, code: number | undefined) {
    super(message);
    this.name = 'InsertError';
    this.code = code;
  }
}

/** Inserts into one collection, committed together when they arrive together. */
export type GroupInsert<T extends Document> = {
  /** Resolves once `doc` is stored; rejects with that document's own error (a duplicate key has code 11000). */
  insert(doc: OptionalUnlessRequiredId<T>): Promise<void>;
  /** Batches written and documents in them so far (for metrics and tests). */
  stats(): { batches: number; docs: number };
};

type Pending<T> = { doc: OptionalUnlessRequiredId<T>; resolve: () => void; reject: (err: unknown) => void };

/** Documents per `insertMany` at most (event documents are a few hundred bytes each). */
const DEFAULT_MAX_BATCH = 128;

/**
 * Group commit: while one `insertMany` is being written, the inserts that arrive wait and then go
 * together in the next one. With nothing in flight an insert leaves at once, so a quiet service
 * waits for nothing; under load many documents share one command, one transaction and (on
 * FerretDB's SQLite, which syncs every commit to disk) one fsync, which is where the time goes.
 *
 * Unordered, so one document's failure (a duplicate `_id` from a writer that came first) does not
 * stop the others: each caller gets its own document's outcome, as `insertOne` would give it.
 * An error of the whole command (connection lost, timeout) rejects every document of the batch;
 * as with `insertOne`, such a document may or may not be stored, and a retry finds out through
 * its unique `_id`. MongoDB and FerretDB answer with the same `writeErrors`; FerretDB writes a
 * batch in one SQLite transaction and, when one document fails, goes back to inserting them one
 * by one, which gives the same outcome per document.
 */
export function createGroupInsert<T extends Document>(col: Collection<T>, options: { maxBatch?: number } = {}): GroupInsert<T> {
  const maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
  let queue: Pending<T>[] = [];
  let writing = false;
  let batches = 0;
  let docs = 0;

  async function write(batch: Pending<T>[]): Promise<void> {
    batches += 1;
    docs += batch.length;
    let failed = new Map<number, InsertError>();
    try {
      await col.insertMany(
        batch.map((p) => p.doc),
        { ordered: false },
      );
    } catch (err) {
      const perDoc = err instanceof MongoBulkWriteError ? documentErrors(err) : undefined;
      if (perDoc === undefined) {
        const cause = driverError(err);
        for (const p of batch) p.reject(cause);
        return;
      }
      failed = perDoc;
    }
    batch.forEach((p, i) => {
      const e = failed.get(i);
      if (e === undefined) p.resolve();
      else p.reject(e);
    });
  }

  async function drain(): Promise<void> {
    writing = true;
    try {
      while (queue.length > 0) {
        const batch = queue.slice(0, maxBatch);
        queue = queue.slice(batch.length);
        await write(batch);
      }
    } finally {
      writing = false;
    }
  }

  return {
    insert(doc) {
      return new Promise<void>((resolve, reject) => {
        queue.push({ doc, resolve, reject });
        if (!writing) void drain();
      });
    },
    stats: () => ({ batches, docs }),
  };
}

/**
 * The failed documents of an unordered insert by their index in the batch, or undefined when the
 * error is not about single documents (a write concern error leaves every outcome unknown).
 */
function documentErrors(err: MongoBulkWriteError): Map<number, InsertError> | undefined {
  if (err.writeConcernError !== undefined) return undefined;
  const raw: WriteError | readonly WriteError[] = err.writeErrors;
  const list: readonly WriteError[] = isList(raw) ? raw : [raw];
  if (list.length === 0) return undefined;
  const out = new Map<number, InsertError>();
  for (const w of list) out.set(w.index, new InsertError(w.errmsg ?? 'insert failed', w.code));
  return out;
}

/**
 * The error as `insertOne` would have thrown it: a driver error (no server, connection lost)
 * reaches an `insertMany` caller wrapped in a MongoBulkWriteError, and callers tell an outage
 * from a bad request by the driver error's own class.
 */
function driverError(err: unknown): unknown {
  if (err instanceof MongoBulkWriteError) {
    const inner: unknown = err.errorResponse;
    if (inner instanceof Error) return inner;
  }
  return err;
}

function isList(x: WriteError | readonly WriteError[]): x is readonly WriteError[] {
  return Array.isArray(x);
}
