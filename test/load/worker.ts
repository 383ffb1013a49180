/**
 * A load-generating client process for bench.ts: many `ws` sockets in one Node process, driven by
 * commands over the IPC channel (see messages.ts). Several workers run side by side so that the
 * client is not the bottleneck. Every command is bounded in count and time; the worker exits when
 * its parent goes away or after MAX_LIFETIME_MS.
 */
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import type { RawData } from 'ws';
import { encodeHist, newHist, recordMs } from './hist.ts';
import type { Histogram } from './hist.ts';
import { commandSchema } from './messages.ts';
import { answerSchedule } from './schedule.ts';
import type {
  AnswersCommand,
  AnswersResult,
  Command,
  Counts,
  HeartbeatCommand,
  HeartbeatResult,
  IdleCommand,
  IdleCountResult,
  IdleReleaseResult,
  IdleResult,
  Target,
  WorkerMessage,
} from './messages.ts';

const MAX_LIFETIME_MS = 30 * 60_000;
const PROGRESS_EVERY_MS = 250;

function post(message: WorkerMessage): void {
  if (process.send !== undefined && process.connected) process.send(message);
}

function bump(counts: Counts, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}

function text(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Error code of a server `error` frame, if the text is one. */
function errorCode(frameText: string): string | undefined {
  if (!frameText.startsWith('{"type":"error"')) return undefined;
  const m = /"code":"([A-Z_]+)"/.exec(frameText);
  return m?.[1] ?? 'ERROR';
}

function socketErrorName(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  if (err instanceof Error) return err.message.slice(0, 60);
  return 'SOCKET_ERROR';
}

function throttle(fn: () => void): () => void {
  let last = 0;
  return () => {
    const now = performance.now();
    if (now - last < PROGRESS_EVERY_MS) return;
    last = now;
    fn();
  };
}

/** A FIFO queue of numbers with O(1) shift. */
class Queue {
  private items: number[] = [];
  private head = 0;
  get size(): number {
    return this.items.length - this.head;
  }
  push(v: number): void {
    this.items.push(v);
  }
  shift(): number | undefined {
    if (this.head >= this.items.length) return undefined;
    const v = this.items[this.head++];
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return v;
  }
}

type Local = { address: string; port: number } | undefined;

function openSocket(target: Target, token: string | undefined, local: Local, timeoutMs: number): WebSocket {
  const headers: Record<string, string> = target.kind === 'gateway' && token !== undefined ? { authorization: `Bearer ${token}` } : {};
  return new WebSocket(target.url, {
    headers,
    perMessageDeflate: false,
    handshakeTimeout: timeoutMs,
    maxPayload: 1024 * 1024,
    ...(local === undefined ? {} : { localAddress: local.address, localPort: local.port }),
  });
}

/**
 * Opens one socket and resolves once it can be used: for the gateway when `auth_success`
 * arrives (the token travels in the Authorization header), for the echo server when it is open.
 */
function connectReady(target: Target, token: string | undefined, local: Local, timeoutMs: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = openSocket(target, token, local, timeoutMs);
    let settled = false;
    const settle = (err: string | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.removeListener('message', onMessage);
      if (err === undefined) {
        resolve(ws);
      } else {
        ws.terminate();
        reject(new Error(err));
      }
    };
    const timer = setTimeout(() => settle('CONNECT_TIMEOUT'), timeoutMs);
    const onMessage = (data: RawData): void => {
      const t = text(data);
      settle(t.startsWith('{"type":"auth_success"') ? undefined : `AUTH_${errorCode(t) ?? 'UNEXPECTED_FRAME'}`);
    };
    if (target.kind === 'gateway') ws.on('message', onMessage);
    else ws.once('open', () => settle(undefined));
    ws.on('error', (err) => settle(socketErrorName(err)));
    ws.once('close', (code) => settle(`CLOSED_${code}`));
  });
}

// ---------------------------------------------------------------------------------------------
// idle: open many authenticated sockets at a given rate and hold them

const idleState = { sockets: new Set<WebSocket>(), lost: 0 };

async function runIdle(cmd: IdleCommand): Promise<IdleResult> {
  const t0 = performance.now();
  const hist = newHist();
  const failed: Counts = {};
  let started = 0;
  let ready = 0;
  let pending = 0;
  const progress = throttle(() =>
    post({ type: 'progress', seq: cmd.seq, done: ready, total: cmd.count, note: `${pending} handshaking, ${sum(failed)} failed` }),
  );

  const startOne = (i: number): void => {
    pending++;
    const t = performance.now();
    const n = cmd.sourceAddrs.length;
    const local = { address: cmd.sourceAddrs[i % n] as string, port: cmd.firstPort + Math.floor(i / n) };
    connectReady(cmd.target, cmd.tokens[i % cmd.tokens.length], local, cmd.connectTimeoutMs).then(
      (ws) => {
        pending--;
        ready++;
        recordMs(hist, performance.now() - t);
        idleState.sockets.add(ws);
        ws.on('error', () => undefined);
        ws.once('close', () => {
          if (idleState.sockets.delete(ws)) idleState.lost++;
        });
      },
      (err: unknown) => {
        pending--;
        bump(failed, err instanceof Error ? err.message : 'ERROR');
      },
    );
  };

  const hardDeadline = cmd.rampTimeoutMs + cmd.connectTimeoutMs + 5000;
  for (;;) {
    const elapsed = performance.now() - t0;
    const rampOver = elapsed > cmd.rampTimeoutMs;
    const due = Math.min(cmd.count, Math.floor((elapsed / 1000) * cmd.rate) + 1);
    while (!rampOver && started < due && pending < cmd.maxPending) startOne(started++);
    progress();
    if ((started >= cmd.count || rampOver) && pending === 0) {
      if (started < cmd.count) bump(failed, 'NOT_STARTED_BY_RAMP_DEADLINE', cmd.count - started);
      break;
    }
    if (elapsed > hardDeadline) {
      bump(failed, 'STILL_PENDING_AT_DEADLINE', pending);
      break;
    }
    await sleep(5);
  }
  return { started, ready, failed, lost: idleState.lost, rampMs: performance.now() - t0, connectHist: encodeHist(hist) };
}

function idleCount(): IdleCountResult {
  let open = 0;
  for (const ws of idleState.sockets) if (ws.readyState === WebSocket.OPEN) open++;
  return { open, lost: idleState.lost };
}

async function idleRelease(): Promise<IdleReleaseResult> {
  const sockets = [...idleState.sockets];
  idleState.sockets.clear();
  // Close in slices so the peer sees an orderly stream of FINs rather than one burst.
  for (let i = 0; i < sockets.length; i += 1000) {
    for (const ws of sockets.slice(i, i + 1000)) ws.terminate();
    await sleep(10);
  }
  idleState.lost = 0;
  return { closed: sockets.length };
}

function sum(c: Counts): number {
  return Object.values(c).reduce((a, b) => a + b, 0);
}

/** Opens `count` ready sockets with at most `parallel` handshakes at once. */
async function openMany(
  target: Target,
  tokens: readonly string[],
  count: number,
  parallel: number,
  timeoutMs: number,
  failed: Counts,
): Promise<WebSocket[]> {
  const out: WebSocket[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      try {
        out.push(await connectReady(target, tokens[i % tokens.length], undefined, timeoutMs));
      } catch (err) {
        bump(failed, err instanceof Error ? err.message : 'ERROR');
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, lane));
  return out;
}

// ---------------------------------------------------------------------------------------------
// heartbeat: closed loop, one heartbeat in flight per socket

async function runHeartbeat(cmd: HeartbeatCommand): Promise<HeartbeatResult> {
  const failed: Counts = {};
  const errors: Counts = {};
  const sockets = await openMany(cmd.target, cmd.tokens, cmd.connections, 50, cmd.connectTimeoutMs, failed);
  const hist = newHist();
  let frames = 0;
  let outstanding = 0;
  let stopping = false;
  const tStart = performance.now();
  const windowStart = tStart + cmd.warmupMs;
  const windowEnd = windowStart + cmd.durationMs;
  const progress = throttle(() => {
    const now = performance.now();
    post({
      type: 'progress',
      seq: cmd.seq,
      done: Math.min(now - tStart, cmd.warmupMs + cmd.durationMs),
      total: cmd.warmupMs + cmd.durationMs,
      note: `${frames} frames in window`,
    });
  });

  for (const ws of sockets) {
    let n = 0;
    let sentAt = 0;
    const sendNext = (): void => {
      if (stopping || ws.readyState !== WebSocket.OPEN) return;
      sentAt = performance.now();
      outstanding++;
      ws.send(`{"type":"heartbeat","data":{},"id":"h${n++}"}`);
    };
    ws.on('message', (data) => {
      const now = performance.now();
      outstanding--;
      const t = text(data);
      if (t.startsWith('{"type":"heartbeat')) {
        if (now >= windowStart && now <= windowEnd) frames++;
        if (sentAt >= windowStart && sentAt <= windowEnd) recordMs(hist, now - sentAt);
      } else {
        bump(errors, errorCode(t) ?? 'UNEXPECTED_FRAME');
      }
      progress();
      sendNext();
    });
    ws.on('error', (err) => bump(errors, socketErrorName(err)));
    ws.once('close', (code) => {
      if (!stopping) bump(errors, `CLOSED_${code}`);
    });
    sendNext();
  }
  while (performance.now() < windowEnd) {
    progress();
    await sleep(50);
  }
  stopping = true;
  const drainUntil = performance.now() + 3000;
  while (outstanding > 0 && performance.now() < drainUntil) await sleep(10);
  if (outstanding > 0) bump(errors, 'NO_REPLY_AT_END', outstanding);
  for (const ws of sockets) ws.terminate();
  return { connected: sockets.length, failed, frames, windowMs: cmd.durationMs, hist: encodeHist(hist), errors };
}

// ---------------------------------------------------------------------------------------------
// answers: open loop at a fixed rate over candidate sessions playing the test

type Session = {
  ws: WebSocket;
  state: 'auth' | 'start' | 'question' | 'ready' | 'answer' | 'closed';
  questionId: string;
  options: string[];
  answered: number;
  reqId: string;
  sentAt: number;
  scheduledAt: number;
  setupStart: number;
  setupDone: boolean;
  timer: NodeJS.Timeout | undefined;
};

type Frame = { type?: unknown; data?: unknown; reply_to?: unknown; id?: unknown };

/** Codes after which the session cannot continue and a new candidate takes over. */
const FATAL = new Set(['ASSESSMENT_NOT_ACTIVE', 'TIME_EXPIRED', 'AUTH_INVALID', 'AUTH_REQUIRED', 'FORBIDDEN', 'NOT_FOUND']);

async function runAnswers(cmd: AnswersCommand): Promise<AnswersResult> {
  const echo = cmd.target.kind === 'echo';
  const hist = newHist();
  const timeline: Histogram[] = [];
  const questionHist = newHist();
  const setupHist = newHist();
  const errors: Counts = {};
  const idle: Session[] = [];
  const live = new Set<Session>();
  const backlog = new Queue();
  let nextToken = 0;
  let reqCounter = 0;
  let stopping = false;
  let scheduled = 0;
  let completed = 0;
  let completedInWindow = 0;
  let answeredAll = 0;
  let sessionsStarted = 0;
  let sessionsFinished = 0;
  let maxBacklog = 0;
  let inFlightAnswers = 0;
  let outOfCandidates = false;

  const t0 = performance.now() + 20;
  const spreadMs = cmd.spreadMs;
  const windowStart = t0 + spreadMs + cmd.warmupMs;
  const windowEnd = windowStart + cmd.durationMs;
  const schedule = answerSchedule({ rate: cmd.rate, sessions: cmd.sessions, spreadMs });
  const scheduledAt = (n: number): number => t0 + schedule.answerAt(n);
  const sessionStartAt = (i: number): number => t0 + schedule.sessionAt(i);

  const progress = throttle(() => {
    const now = performance.now();
    post({
      type: 'progress',
      seq: cmd.seq,
      done: Math.max(0, Math.min(now - t0, spreadMs + cmd.warmupMs + cmd.durationMs)),
      total: spreadMs + cmd.warmupMs + cmd.durationMs,
      note: `${completedInWindow} answered, backlog ${backlog.size}, ${live.size} sessions, ${sum(errors)} errors`,
    });
  });

  const request = (s: Session, kind: string, frame: string): void => {
    s.reqId = `${kind}${reqCounter++}`;
    s.sentAt = performance.now();
    clearTimeout(s.timer);
    s.timer = setTimeout(() => fail(s, 'CLIENT_TIMEOUT'), cmd.replyTimeoutMs);
    s.ws.send(frame.replace('@ID@', s.reqId));
  };

  const close = (s: Session): void => {
    if (s.state === 'closed') return;
    if (s.state === 'answer') inFlightAnswers--;
    s.state = 'closed';
    clearTimeout(s.timer);
    live.delete(s);
    s.ws.terminate();
  };

  const fail = (s: Session, reason: string): void => {
    if (s.state === 'closed') return;
    bump(errors, reason);
    close(s);
    startSession();
  };

  const finish = (s: Session): void => {
    sessionsFinished++;
    close(s);
    startSession();
  };

  const askQuestion = (s: Session): void => {
    s.state = 'question';
    request(s, 'q', '{"type":"get_question","data":{},"id":"@ID@"}');
  };

  const submit = (s: Session, scheduledAt: number): void => {
    s.state = 'answer';
    s.scheduledAt = scheduledAt;
    inFlightAnswers++;
    const option = s.options[Math.floor(Math.random() * s.options.length)] ?? 'a';
    request(
      s,
      'a',
      `{"type":"submit_answer","data":{"question_id":${JSON.stringify(s.questionId)},"selected_option":${JSON.stringify(option)}},"id":"@ID@"}`,
    );
  };

  const becomeReady = (s: Session): void => {
    s.state = 'ready';
    const at = backlog.shift();
    if (at === undefined) idle.push(s);
    else submit(s, at);
  };

  const dispatch = (at: number): void => {
    let s = idle.shift();
    while (s !== undefined && s.state !== 'ready') s = idle.shift();
    if (s === undefined) {
      backlog.push(at);
      if (backlog.size > maxBacklog) maxBacklog = backlog.size;
    } else {
      submit(s, at);
    }
  };

  const onFrame = (s: Session, f: Frame): void => {
    const now = performance.now();
    if (s.state === 'auth') {
      if (f.type === 'auth_success') {
        s.state = 'start';
        request(s, 's', `{"type":"start_assessment","data":{"test_id":${JSON.stringify(cmd.testId)}},"id":"@ID@"}`);
      } else {
        fail(s, `AUTH_${codeOf(f) ?? 'UNEXPECTED_FRAME'}`);
      }
      return;
    }
    const rid = f.reply_to ?? f.id;
    if (rid !== s.reqId) return; // a push, or a frame for an earlier request
    clearTimeout(s.timer);
    if (f.type === 'error') {
      const code = codeOf(f) ?? 'ERROR';
      if (s.state === 'answer') {
        inFlightAnswers--;
        s.state = 'question';
        bump(errors, code);
        if (FATAL.has(code)) {
          close(s);
          startSession();
        } else {
          askQuestion(s);
        }
      } else {
        fail(s, `${s.state}:${code}`);
      }
      return;
    }
    switch (s.state) {
      case 'start':
        askQuestion(s);
        return;
      case 'question': {
        recordMs(questionHist, now - s.sentAt);
        if (!echo && f.type === 'assessment_completed') {
          finish(s);
          return;
        }
        if (!echo) {
          const q = f.data as { question_id?: unknown; options?: { id?: unknown }[] } | undefined;
          if (f.type !== 'question' || typeof q?.question_id !== 'string') {
            fail(s, 'UNEXPECTED_FRAME');
            return;
          }
          s.questionId = q.question_id;
          s.options = (q.options ?? []).map((o) => String(o.id));
        }
        if (!s.setupDone) {
          s.setupDone = true;
          recordMs(setupHist, now - s.setupStart);
        }
        becomeReady(s);
        return;
      }
      case 'answer': {
        if (!echo && f.type !== 'answer_feedback') return;
        inFlightAnswers--;
        s.state = 'question';
        s.answered++;
        const second = Math.max(0, Math.floor((s.scheduledAt - t0) / 1000));
        recordMs((timeline[second] ??= newHist()), now - s.scheduledAt);
        if (s.scheduledAt >= windowStart && s.scheduledAt < windowEnd) {
          completed++;
          recordMs(hist, now - s.scheduledAt);
        }
        if (now >= windowStart && now <= windowEnd) completedInWindow++;
        answeredAll++;
        const feedback = f.data as
          { finished?: unknown; next_question?: { question_id?: unknown; options?: { id?: unknown }[] } } | undefined;
        const finished = echo ? s.answered >= cmd.itemsPerSession : feedback?.finished === true;
        const next = echo ? undefined : feedback?.next_question;
        if (finished) finish(s);
        else if (next !== undefined && typeof next.question_id === 'string') {
          // The feedback names the next question, as clients use it: no get_question round trip.
          s.questionId = next.question_id;
          s.options = (next.options ?? []).map((o) => String(o.id));
          becomeReady(s);
        } else askQuestion(s);
        return;
      }
      default:
        return;
    }
  };

  function startSession(): void {
    if (stopping) return;
    let token: string | undefined;
    if (!echo) {
      token = cmd.tokens[nextToken++];
      if (token === undefined) {
        if (!outOfCandidates) bump(errors, 'NO_CANDIDATE_LEFT');
        outOfCandidates = true;
        return;
      }
    }
    sessionsStarted++;
    const ws = openSocket(cmd.target, token, undefined, cmd.connectTimeoutMs);
    const s: Session = {
      ws,
      state: 'auth',
      questionId: 'q-echo',
      options: ['a', 'b', 'c', 'd'],
      answered: 0,
      reqId: '',
      sentAt: 0,
      scheduledAt: 0,
      setupStart: performance.now(),
      setupDone: false,
      timer: setTimeout(() => fail(s, 'CONNECT_TIMEOUT'), cmd.connectTimeoutMs),
    };
    live.add(s);
    ws.on('message', (data) => {
      let f: Frame;
      try {
        f = JSON.parse(text(data)) as Frame;
      } catch {
        fail(s, 'BAD_JSON_FROM_SERVER');
        return;
      }
      onFrame(s, f);
    });
    ws.once('open', () => {
      if (echo && s.state === 'auth') {
        s.state = 'start';
        request(s, 's', `{"type":"start_assessment","data":{"test_id":${JSON.stringify(cmd.testId)}},"id":"@ID@"}`);
      }
    });
    ws.on('error', (err) => fail(s, socketErrorName(err)));
    ws.once('close', (code) => fail(s, `CLOSED_${code}`));
  }

  let launched = 0;
  let n = 0;
  while (performance.now() < windowEnd) {
    const now = performance.now();
    for (; launched < cmd.sessions && sessionStartAt(launched) <= now; launched++) startSession();
    for (;;) {
      const at = scheduledAt(n);
      if (at > now || at >= windowEnd) break;
      n++;
      if (at >= windowStart) scheduled++;
      dispatch(at);
    }
    progress();
    await sleep(1);
  }
  const drainUntil = performance.now() + cmd.drainMs;
  while ((inFlightAnswers > 0 || backlog.size > 0) && performance.now() < drainUntil && live.size > 0) {
    progress();
    await sleep(5);
  }
  stopping = true;
  // Answers that never completed are not dropped from the latency figures: each is recorded with
  // its age now (a lower bound of its latency), so an overloaded run cannot look fast.
  const end = performance.now();
  const inWindow = (at: number): boolean => at >= windowStart && at < windowEnd;
  const backlogAtEnd = backlog.size;
  let censored = 0;
  for (let at = backlog.shift(); at !== undefined; at = backlog.shift()) {
    if (!inWindow(at)) continue;
    censored++;
    recordMs(hist, end - at);
    recordMs((timeline[Math.max(0, Math.floor((at - t0) / 1000))] ??= newHist()), end - at);
  }
  let noReplyAtEnd = 0;
  for (const s of live) {
    if (s.state !== 'answer') continue;
    noReplyAtEnd++;
    if (!inWindow(s.scheduledAt)) continue;
    censored++;
    recordMs(hist, end - s.scheduledAt);
    recordMs((timeline[Math.max(0, Math.floor((s.scheduledAt - t0) / 1000))] ??= newHist()), end - s.scheduledAt);
  }
  for (const s of [...live]) close(s);
  return {
    scheduled,
    completedInWindow,
    answeredAll,
    completed,
    windowMs: cmd.durationMs,
    hist: encodeHist(hist),
    timeline: Array.from({ length: timeline.length }, (_, i) => encodeHist(timeline[i] ?? newHist())),
    questionHist: encodeHist(questionHist),
    setupHist: encodeHist(setupHist),
    sessionsStarted,
    sessionsFinished,
    backlogAtEnd,
    noReplyAtEnd,
    censored,
    maxBacklog,
    errors,
  };
}

function codeOf(f: Frame): string | undefined {
  const d = f.data as { code?: unknown } | undefined;
  return typeof d?.code === 'string' ? d.code : undefined;
}

// ---------------------------------------------------------------------------------------------

async function run(cmd: Command): Promise<void> {
  try {
    switch (cmd.cmd) {
      case 'idle':
        post({ type: 'result', seq: cmd.seq, result: await runIdle(cmd) });
        return;
      case 'idle-count':
        post({ type: 'result', seq: cmd.seq, result: idleCount() });
        return;
      case 'idle-release':
        post({ type: 'result', seq: cmd.seq, result: await idleRelease() });
        return;
      case 'heartbeat':
        post({ type: 'result', seq: cmd.seq, result: await runHeartbeat(cmd) });
        return;
      case 'answers':
        post({ type: 'result', seq: cmd.seq, result: await runAnswers(cmd) });
        return;
    }
  } catch (err) {
    post({ type: 'failed', seq: cmd.seq, message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
}

process.on('message', (raw: unknown) => {
  const parsed = commandSchema.safeParse(raw);
  if (!parsed.success) {
    const seq = typeof raw === 'object' && raw !== null && 'seq' in raw && typeof raw.seq === 'number' ? raw.seq : -1;
    post({ type: 'failed', seq, message: `bad command: ${parsed.error.message}` });
    return;
  }
  void run(parsed.data);
});
process.once('disconnect', () => process.exit(0));
setTimeout(() => process.exit(3), MAX_LIFETIME_MS).unref();
post({ type: 'ready', pid: process.pid });
