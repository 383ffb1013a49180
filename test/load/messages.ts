/**
 * Messages between the load orchestrator (bench.ts) and its client workers (worker.ts), over the
 * child_process IPC channel. Commands are validated with zod in the worker; results carry
 * HdrHistograms as compressed base64 so the orchestrator can merge them.
 */
import { z } from 'zod';

/** Where a worker's sockets go: the platform gateway or the bare echo server baseline. */
export const targetSchema = z.object({
  kind: z.enum(['gateway', 'echo']),
  /** ws://127.0.0.1:port/path */
  url: z.string().startsWith('ws://127.0.0.1:'),
});
export type Target = z.infer<typeof targetSchema>;

const common = {
  /** Correlates the result with the command. */
  seq: z.number().int().nonnegative(),
  target: targetSchema,
};

export const idleCommandSchema = z.object({
  ...common,
  cmd: z.literal('idle'),
  /** Candidate tokens, shared round-robin by the sockets (ignored by the echo server). */
  tokens: z.array(z.string()).min(1),
  count: z.number().int().nonnegative().max(100_000),
  /** New sockets per second for this worker. */
  rate: z.number().positive().max(100_000),
  /**
   * Local addresses to bind, round-robin (127.0.0.x), so no single address runs out of ports; each
   * worker gets its own, fresh for every run (ports of closed sockets stay in TIME_WAIT for a minute).
   */
  sourceAddrs: z.array(z.string()).min(1),
  /**
   * First local port: socket i binds sourceAddrs[i % n] and port firstPort + floor(i / n). An explicit
   * port avoids the kernel's search for a free one, which makes bind() slow with thousands of sockets.
   */
  firstPort: z.number().int().min(1024).max(65535),
  /** Handshakes in flight at once. */
  maxPending: z.number().int().positive(),
  /** Ramp-up deadline: no new socket is started after it (ms from the command). */
  rampTimeoutMs: z.number().int().positive(),
  connectTimeoutMs: z.number().int().positive(),
});

/** Asks how many idle sockets are still open (and authenticated). */
export const idleCountCommandSchema = z.object({ seq: z.number().int().nonnegative(), cmd: z.literal('idle-count') });

/** Closes every idle socket. */
export const idleReleaseCommandSchema = z.object({ seq: z.number().int().nonnegative(), cmd: z.literal('idle-release') });

export const heartbeatCommandSchema = z.object({
  ...common,
  cmd: z.literal('heartbeat'),
  tokens: z.array(z.string()).min(1),
  /** Sockets, each with exactly one heartbeat in flight (closed loop). */
  connections: z.number().int().positive().max(10_000),
  warmupMs: z.number().int().nonnegative(),
  durationMs: z.number().int().positive(),
  connectTimeoutMs: z.number().int().positive(),
});

export const answersCommandSchema = z.object({
  ...common,
  cmd: z.literal('answers'),
  testId: z.string(),
  /** One fresh candidate token per session; a finished candidate is replaced by the next token. */
  tokens: z.array(z.string()),
  /** Items per assessment (the echo baseline reconnects after this many answers, like a candidate). */
  itemsPerSession: z.number().int().positive(),
  /** Offered answers per second for this worker (open loop). */
  rate: z.number().positive().max(100_000),
  /** Concurrent candidate sessions for this worker. */
  sessions: z.number().int().positive().max(10_000),
  /** The sessions start evenly over this time, and the offered rate rises with them (0: all at once, at the full rate). */
  spreadMs: z.number().int().nonnegative(),
  /** Unmeasured time after the spread. */
  warmupMs: z.number().int().nonnegative(),
  durationMs: z.number().int().positive(),
  /** Time after the last scheduled answer to wait for replies still in flight. */
  drainMs: z.number().int().nonnegative(),
  /** A frame not answered within this time counts as CLIENT_TIMEOUT and its session is replaced. */
  replyTimeoutMs: z.number().int().positive(),
  connectTimeoutMs: z.number().int().positive(),
});

export const commandSchema = z.discriminatedUnion('cmd', [
  idleCommandSchema,
  idleCountCommandSchema,
  idleReleaseCommandSchema,
  heartbeatCommandSchema,
  answersCommandSchema,
]);
export type Command = z.infer<typeof commandSchema>;
export type IdleCommand = z.infer<typeof idleCommandSchema>;
export type HeartbeatCommand = z.infer<typeof heartbeatCommandSchema>;
export type AnswersCommand = z.infer<typeof answersCommandSchema>;

/** Counts by reason, e.g. error codes. */
export type Counts = Record<string, number>;

export type IdleResult = {
  started: number;
  ready: number;
  failed: Counts;
  /** Ready sockets that closed afterwards. */
  lost: number;
  rampMs: number;
  /** Handshake-to-ready time, µs. */
  connectHist: string;
};
export type IdleCountResult = { open: number; lost: number };
export type IdleReleaseResult = { closed: number };

export type HeartbeatResult = {
  connected: number;
  failed: Counts;
  /** Replies received inside the measurement window. */
  frames: number;
  windowMs: number;
  /** Round-trip latency of the frames sent inside the window, µs. */
  hist: string;
  errors: Counts;
};

export type AnswersResult = {
  /** Answers scheduled inside the measurement window. */
  scheduled: number;
  /** answer_feedback frames received inside the measurement window (throughput). */
  completedInWindow: number;
  /** Every answer acknowledged in the run, spread and warm-up included (what the CPU and database counters cover). */
  answeredAll: number;
  /** Answers scheduled in the window that got answer_feedback (whenever it came). */
  completed: number;
  windowMs: number;
  /**
   * From the scheduled send time to answer_feedback, µs (queueing in the client included); answers
   * that never completed are recorded with their age at the end of the run.
   */
  hist: string;
  /**
   * The same latency by the second of its scheduled time, from the start of the step (spread and
   * warm-up included): one encoded histogram per second, µs.
   */
  timeline: string[];
  /** get_question round trip, µs. */
  questionHist: string;
  /** Connect + auth + start_assessment + first question, µs. */
  setupHist: string;
  sessionsStarted: number;
  sessionsFinished: number;
  /** Scheduled answers still waiting for a free session when the run ended (never sent). */
  backlogAtEnd: number;
  /** Answers sent but not answered when the run ended. */
  noReplyAtEnd: number;
  /** Answers scheduled in the window that never completed; they are in `hist` with their age at the end (a lower bound). */
  censored: number;
  maxBacklog: number;
  errors: Counts;
};

/** What a worker sends to the orchestrator. */
export type WorkerMessage =
  | { type: 'ready'; pid: number }
  | { type: 'progress'; seq: number; done: number; total: number; note: string }
  | { type: 'result'; seq: number; result: IdleResult | IdleCountResult | IdleReleaseResult | HeartbeatResult | AnswersResult }
  | { type: 'failed'; seq: number; message: string };

/** Histogram settings shared by every side (values in µs, up to 10 minutes). */
export const HIST = { lowest: 1, highest: 600_000_000, digits: 3 } as const;
