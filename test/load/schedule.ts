/**
 * When the answer scenario sends what: sessions start evenly over `spreadMs`, and the offered rate
 * rises with them from 0 to `rate`, so that each session answers at the same pace from its start
 * and, by the end of the spread, the sessions stand at every stage of a test, as the candidates of
 * a real sitting do, instead of all starting and finishing together. Times are in ms from the
 * step's start.
 */
export type Schedule = {
  /** When the n-th answer (from 0) is due. */
  answerAt(n: number): number;
  /** When the i-th session (from 0) starts. */
  sessionAt(i: number): number;
};

export function answerSchedule(opts: { rate: number; sessions: number; spreadMs: number }): Schedule {
  const perMs = opts.rate / 1000;
  const spreadMs = opts.spreadMs;
  // During the spread the rate is rate × t / spread, so by time t ≤ spread rate × t² / (2 × spread)
  // answers were due; after it, rate × (t − spread / 2).
  const rampAnswers = (perMs * spreadMs) / 2;
  return {
    answerAt: (n) => (n < rampAnswers ? Math.sqrt((2 * spreadMs * n) / perMs) : spreadMs / 2 + n / perMs),
    sessionAt: (i) => (spreadMs * i) / opts.sessions,
  };
}
