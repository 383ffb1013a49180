import type { Collection } from 'mongodb';
import type { ScoreDoc } from './store.ts';

/** Percentile ranks of θ among the finished assessments of a test. */
export type Percentiles = {
  /** The rank of `theta` among the stored scores with it added (0–100, one decimal). */
  rank(testId: string, theta: number): Promise<number>;
  /** Stores a finished assessment's θ and counts it from now on. */
  add(testId: string, assessmentId: string, theta: number): Promise<void>;
};

/** How long a replica counts with the scores it has before it reads the others' again. */
const REFRESH_MS = 60_000;

/**
 * Scores in memory per test, sorted, read from `assessment_scores` once a minute at most: a
 * filter on `test_id` reads the whole collection on FerretDB, which three counts per finished
 * assessment did. Between reads a replica counts its own new scores at once and the other
 * replicas' at the next read.
 */
export function createPercentiles(scores: Collection<ScoreDoc>, nowMs: () => number, refreshMs = REFRESH_MS): Percentiles {
  const byTest = new Map<string, { thetas: number[]; ids: Set<string>; readAt: number; reading?: Promise<void> }>();

  async function sorted(testId: string): Promise<number[]> {
    let entry = byTest.get(testId);
    if (entry === undefined || nowMs() - entry.readAt > refreshMs) {
      const e = entry ?? { thetas: [], ids: new Set<string>(), readAt: 0 };
      byTest.set(testId, e);
      e.reading ??= (async () => {
        const docs = await scores.find({ test_id: testId }, { projection: { theta: 1 } }).toArray();
        e.thetas = docs.map((d) => d.theta).sort((x, y) => x - y);
        e.ids = new Set(docs.map((d) => d._id));
        e.readAt = nowMs();
      })().finally(() => {
        delete e.reading;
      });
      await e.reading;
      entry = e;
    }
    return entry.thetas;
  }

  return {
    async rank(testId, theta) {
      const thetas = await sorted(testId);
      const below = lowerBound(thetas, theta);
      const equal = lowerBound(thetas, theta, true) - below;
      // The assessment being ranked is not among the stored ones yet: count it.
      return Math.round((1000 * (below + (equal + 1) / 2)) / (thetas.length + 1)) / 10;
    },
    async add(testId, assessmentId, theta) {
      await scores.updateOne({ _id: assessmentId }, { $set: { test_id: testId, theta } }, { upsert: true });
      const entry = byTest.get(testId);
      if (entry !== undefined && !entry.ids.has(assessmentId)) {
        entry.ids.add(assessmentId);
        entry.thetas.splice(lowerBound(entry.thetas, theta), 0, theta);
      }
    },
  };
}

/** The first index whose value is >= x (or > x with `after`). */
function lowerBound(xs: readonly number[], x: number, after = false): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const v = xs[mid] as number;
    if (v < x || (after && v === x)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
