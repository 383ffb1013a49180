/**
 * The candidate's session with the platform: one WebSocket at a time, reconnected with backoff,
 * the assessment resumed on every connection, and an answer kept until the server has
 * acknowledged it (answers are idempotent, so it is simply sent again after a drop).
 * No DOM here: the page renders what the session reports.
 */
import { connectClient } from '@ap/client';
import type { ConnectOptions, PlatformClient } from '@ap/client';
import type { AssessmentCompleted, ChatMessage, Progress, Question, ServerFrame, ServerFrameDataOf } from '@ap/protocol';

export type Started = ServerFrameDataOf<'assessment_started'>;
export type Feedback = ServerFrameDataOf<'answer_feedback'>;

/** What the connection is doing, for the always-visible status. */
export type ConnectionState =
  | { status: 'connecting'; attempt: number }
  | { status: 'open' }
  | { status: 'waiting'; attempt: number; retryAt: number; reason: string }
  | { status: 'closed'; reason: string };

/** An answer the candidate gave; `acknowledged` once the server has stored it. */
export type GivenAnswer = { question_id: string; index: number; selected_option: string; option_text: string; acknowledged: boolean };

/** Everything the session tells the page. */
export type SessionListener = {
  connection(state: ConnectionState): void;
  started(started: Started): void;
  question(question: Question): void;
  answer(answer: GivenAnswer, feedback: Feedback | undefined): void;
  progress(progress: Progress): void;
  /** The server's clock: seconds left, from any frame that carries it. */
  remaining(seconds: number): void;
  timeWarning(seconds: number): void;
  /** A proctor gave extra time. */
  timeExtended(extraSeconds: number, remainingSeconds: number): void;
  completed(completed: AssessmentCompleted & { trace?: unknown }): void;
  /** The assessment is over but this connection could not get its result (e.g. it ended while offline). */
  ended(status: string): void;
  replaced(): void;
  chat(message: ChatMessage): void;
  /** The token was refused or expired: sign in again. */
  signedOut(message: string): void;
  /** A problem worth showing that the session is handling (or that needs the candidate). */
  problem(message: string | undefined): void;
};

export type SessionOptions = {
  url: string;
  token: string;
  testId?: string | undefined;
  listener: SessionListener;
  connect?: (options: ConnectOptions) => Promise<PlatformClient>;
  random?: () => number;
  /** How often the progress (and the clock) is re-read from the server while connected (ms). */
  syncIntervalMs?: number;
  requestTimeoutMs?: number;
};

/** Reconnect delays: 0.5 s doubling to 15 s, with jitter so that many pages do not return at once. */
export function backoffMs(attempt: number, random: () => number): number {
  const base = Math.min(15_000, 500 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.5 + random() / 2));
}

/** Error codes after which sending the same answer again cannot succeed. */
const FINAL_ANSWER_ERRORS = new Set(['VALIDATION_FAILED', 'CONFLICT', 'FORBIDDEN', 'NOT_FOUND']);
/** Error codes that mean the assessment is over. */
const OVER_ERRORS = new Set(['TIME_EXPIRED', 'ASSESSMENT_NOT_ACTIVE']);
/** The gateway closes an older connection with this code when a newer one resumes the assessment. */
const CLOSE_SESSION_REPLACED = 4409;
/** Integrity events kept per minute (each is a frame the gateway may count as bad until it knows the type). */
const INTEGRITY_PER_MINUTE = 10;

type Untyped = { request(type: string, data: Record<string, unknown>): Promise<ServerFrame> };

export class Session {
  readonly answers: GivenAnswer[] = [];
  #options: SessionOptions;
  #listener: SessionListener;
  #connect: (options: ConnectOptions) => Promise<PlatformClient>;
  #random: () => number;
  #client: PlatformClient | undefined;
  #generation = 0;
  #attempt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #syncTimer: ReturnType<typeof setInterval> | undefined;
  #questionRetry: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #ready = false;
  #begun = false;
  #finished = false;
  #question: Question | undefined;
  #pending: GivenAnswer | undefined;
  #sending = false;
  #chatSeen = new Set<string>();
  #integritySent: number[] = [];
  #integrityLast = new Map<string, number>();

  constructor(options: SessionOptions) {
    this.#options = options;
    this.#listener = options.listener;
    this.#connect = options.connect ?? connectClient;
    this.#random = options.random ?? Math.random;
  }

  /** Whether the assessment is started and bound on an open connection. */
  get ready(): boolean {
    return this.#ready && this.#client?.isOpen === true;
  }

  /** The answer waiting for the server's acknowledgement, if any. */
  get pending(): GivenAnswer | undefined {
    return this.#pending;
  }

  /** Opens the first connection: authenticates and starts (or resumes) the assessment. */
  open(): void {
    void this.#run();
  }

  /** The candidate pressed Start: ask for the first (or current) question. */
  begin(): void {
    this.#begun = true;
    if (this.ready) void this.#nextQuestion();
  }

  /** Records the candidate's answer and sends it now or as soon as a connection is back. */
  answer(question: Question, optionId: string): void {
    if (this.#pending !== undefined || this.#finished) return;
    const option = question.options.find((o) => o.id === optionId);
    this.#pending = {
      question_id: question.question_id,
      index: question.index,
      selected_option: optionId,
      option_text: option?.text ?? optionId,
      acknowledged: false,
    };
    this.#listener.answer(this.#pending, undefined);
    void this.#sendPending();
  }

  /** Sends a chat message; rejects when there is no connection or the server refused it. */
  async chat(text: string): Promise<void> {
    const client = this.#client;
    if (client === undefined || !this.ready) throw new Error('Not connected: the message was not sent.');
    const reply = await client.chat(text);
    if (reply.type === 'chat_message') this.#onChat(reply.data);
    else if (reply.type === 'error') throw new Error(reply.data.message);
  }

  /**
   * Reports that the page lost the candidate's attention (tab hidden, focus lost, paste). The
   * server does not know `integrity_event` yet and answers `error UNKNOWN_TYPE`, which is
   * ignored; sends are rate-limited because the gateway closes sockets that send many bad frames.
   */
  integrity(kind: string): void {
    const client = this.#client;
    if (client === undefined || !this.ready || this.#finished) return;
    const now = Date.now();
    if (now - (this.#integrityLast.get(kind) ?? 0) < 5000) return;
    this.#integritySent = this.#integritySent.filter((t) => now - t < 60_000);
    if (this.#integritySent.length >= INTEGRITY_PER_MINUTE) return;
    this.#integrityLast.set(kind, now);
    this.#integritySent.push(now);
    (client as unknown as Untyped).request('integrity_event', { kind, at: new Date(now).toISOString() }).then(
      () => undefined, // an UNKNOWN_TYPE error is expected until the server handles the frame
      () => undefined,
    );
  }

  /** Asks the server for the progress and the clock now (e.g. when the local countdown reaches zero). */
  sync(): void {
    if (this.ready) void this.#progress();
  }

  /** Skips the wait of a scheduled reconnect (e.g. the browser is online again). */
  retryNow(): void {
    if (this.#retryTimer === undefined || this.#stopped) return;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    void this.#run();
  }

  /** Stops for good: no reconnect. */
  stop(reason: string): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#ready = false;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#questionRetry);
    clearInterval(this.#syncTimer);
    this.#client?.close(1000, reason);
    this.#listener.connection({ status: 'closed', reason });
  }

  async #run(): Promise<void> {
    if (this.#stopped) return;
    const generation = ++this.#generation;
    this.#attempt += 1;
    this.#ready = false;
    this.#listener.connection({ status: 'connecting', attempt: this.#attempt });
    let client: PlatformClient;
    try {
      client = await this.#connect({ url: this.#options.url, timeoutMs: this.#options.requestTimeoutMs ?? 10_000 });
    } catch {
      this.#retry(generation, 'the server cannot be reached');
      return;
    }
    if (!this.#isCurrent(generation)) {
      client.close();
      return;
    }
    this.#client = client;
    client.on('*', (frame) => {
      if (generation === this.#generation) this.#onPush(frame);
    });
    void client.closed.then((info) => {
      if (generation !== this.#generation || this.#stopped) return;
      this.#ready = false;
      clearInterval(this.#syncTimer);
      if (info.code === CLOSE_SESSION_REPLACED) {
        this.#replaced();
        return;
      }
      if (info.code === 4402 || info.code === 4401) {
        this.#signOut(
          info.code === 4402 ? 'Your sign-in has expired. Please sign in again.' : 'Signing in took too long. Please sign in again.',
        );
        return;
      }
      this.#retry(generation, info.code === 1001 ? 'the server is restarting' : 'the connection was lost');
    });
    try {
      await this.#handshake(client);
    } catch {
      // A request failed or timed out: start over on a fresh connection.
      if (this.#isCurrent(generation)) client.close(4000, 'retrying');
    }
  }

  async #handshake(client: PlatformClient): Promise<void> {
    const auth = await client.auth(this.#options.token);
    if (auth.type === 'error') {
      if (auth.data.code === 'AUTH_INVALID' || auth.data.code === 'FORBIDDEN')
        this.#signOut('This sign-in is no longer valid. Please sign in again.');
      else throw new Error(auth.data.message);
      return;
    }
    const started = await client.startAssessment(this.#options.testId);
    if (started.type === 'error') {
      if (started.data.code === 'ASSESSMENT_NOT_ACTIVE') {
        const status = started.data.details?.['status'];
        this.#end(typeof status === 'string' ? status : 'completed');
        return;
      }
      if (started.data.code === 'FORBIDDEN' || started.data.code === 'NOT_FOUND') {
        this.#signOut(started.data.message);
        return;
      }
      throw new Error(started.data.message);
    }
    if (started.type === 'assessment_completed') {
      this.#onCompleted(started.data);
      return;
    }
    if (started.type !== 'assessment_started') throw new Error(`unexpected ${started.type}`);
    this.#attempt = 0;
    this.#ready = true;
    this.#listener.connection({ status: 'open' });
    this.#listener.problem(undefined);
    if (started.data.answered > 0 || started.data.current_question_id !== null) this.#begun = true;
    this.#listener.started(started.data);
    this.#listener.remaining(started.data.time_remaining_s);
    this.#syncTimer = setInterval(() => this.sync(), this.#options.syncIntervalMs ?? 20_000);
    if (this.#pending !== undefined) await this.#sendPending();
    else if (this.#begun) await this.#nextQuestion();
    if (this.ready) await this.#progress();
  }

  /** Whether `generation` is still the live connection (read through a method: it changes across awaits). */
  #isCurrent(generation: number): boolean {
    return generation === this.#generation && !this.#stopped;
  }

  async #sendPending(): Promise<void> {
    const client = this.#client;
    const answer = this.#pending;
    if (answer === undefined || client === undefined || !this.ready || this.#sending) return;
    this.#sending = true;
    let reply: ServerFrame;
    try {
      reply = await client.submitAnswer(answer.question_id, answer.selected_option);
    } catch {
      // Closed or timed out: the answer stays pending and is sent again on the next connection.
      this.#sending = false;
      if (client.isOpen) client.close(4000, 'no acknowledgement');
      return;
    }
    this.#sending = false;
    if (reply.type === 'answer_feedback') {
      this.#acknowledge(answer, reply.data);
      if (!reply.data.finished) await this.#nextQuestion();
      await this.#progress();
      return;
    }
    if (reply.type === 'assessment_completed') {
      this.#onCompleted(reply.data);
      return;
    }
    if (reply.type !== 'error') return;
    if (OVER_ERRORS.has(reply.data.code)) {
      // Not stored: the time was up. The completion arrives as a push, or with the next question.
      this.#pending = undefined;
      this.#listener.problem('The time was up before this answer arrived, so it was not saved.');
      await this.#nextQuestion();
    } else if (FINAL_ANSWER_ERRORS.has(reply.data.code)) {
      this.#pending = undefined;
      this.#listener.problem(`The answer was not accepted: ${reply.data.message}`);
      await this.#nextQuestion();
    } else {
      // TIMEOUT, SERVICE_UNAVAILABLE, RATE_LIMITED, INTERNAL: the same answer again is safe.
      this.#listener.problem('Saving your answer is taking longer than usual; trying again…');
      setTimeout(() => void this.#sendPending(), 1000);
    }
  }

  #acknowledge(answer: GivenAnswer, feedback: Feedback): void {
    if (this.#pending === answer) this.#pending = undefined;
    const done: GivenAnswer = { ...answer, acknowledged: true };
    if (!this.answers.some((a) => a.question_id === done.question_id)) this.answers.push(done);
    this.#listener.problem(undefined);
    this.#listener.answer(done, feedback);
  }

  async #nextQuestion(): Promise<void> {
    const client = this.#client;
    if (client === undefined || !this.ready || this.#finished) return;
    let reply: ServerFrame;
    try {
      reply = await client.getQuestion();
    } catch {
      if (client.isOpen) client.close(4000, 'no question');
      return;
    }
    clearTimeout(this.#questionRetry);
    if (reply.type === 'question' && this.answers.some((a) => a.question_id === reply.data.question_id)) {
      // A question this page already saw acknowledged (a stale read on the server): ask again.
      this.#questionRetry = setTimeout(() => void this.#nextQuestion(), 1000);
      return;
    }
    if (reply.type === 'question') {
      this.#listener.problem(undefined);
      this.#question = reply.data;
      this.#listener.remaining(reply.data.time_remaining_s);
      this.#listener.question(reply.data);
    } else if (reply.type === 'assessment_completed') {
      this.#onCompleted(reply.data);
    } else if (reply.type === 'error') {
      // Paused, a timeout or a concurrent change: show it and ask again shortly.
      this.#listener.problem(`The next question could not be loaded: ${reply.data.message}. Trying again…`);
      clearTimeout(this.#questionRetry);
      this.#questionRetry = setTimeout(() => void this.#nextQuestion(), reply.data.code === 'ASSESSMENT_NOT_ACTIVE' ? 5000 : 1500);
    }
  }

  async #progress(): Promise<void> {
    const client = this.#client;
    if (client === undefined || !this.ready || this.#finished) return;
    let reply: ServerFrame;
    try {
      reply = await client.getProgress();
    } catch {
      // No answer within the timeout: the connection is probably dead without having closed.
      if (client.isOpen) client.close(4000, 'no progress');
      return;
    }
    if (reply.type === 'progress_update') this.#onProgress(reply.data);
    else if (reply.type === 'error' && OVER_ERRORS.has(reply.data.code)) await this.#nextQuestion();
  }

  #onProgress(progress: Progress): void {
    this.#listener.remaining(progress.time_remaining_s);
    this.#listener.progress(progress);
    // The clock ran out on the server: the next question request returns the completion.
    if (progress.status !== 'in_progress' || progress.time_remaining_s === 0) void this.#nextQuestion();
  }

  #onPush(frame: ServerFrame): void {
    switch (frame.type) {
      case 'assessment_completed':
        this.#onCompleted(frame.data);
        return;
      case 'time_warning':
        this.#listener.remaining(frame.data.time_remaining_s);
        this.#listener.timeWarning(frame.data.time_remaining_s);
        return;
      case 'session_replaced':
        this.#replaced();
        return;
      case 'time_extended':
        this.#listener.remaining(frame.data.time_remaining_s);
        this.#listener.timeExtended(frame.data.extra_s, frame.data.time_remaining_s);
        return;
      case 'chat_message':
        this.#onChat(frame.data);
        return;
      case 'progress_update':
        if (frame.reply_to === undefined) this.#onProgress(frame.data);
        return;
      default:
        return;
    }
  }

  #onChat(message: ChatMessage): void {
    if (this.#chatSeen.has(message.message_id)) return;
    this.#chatSeen.add(message.message_id);
    this.#listener.chat(message);
  }

  #onCompleted(completed: AssessmentCompleted): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#pending = undefined;
    this.#listener.completed(completed);
    this.stop('the assessment is over');
  }

  #replaced(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.stop('continues in another window');
    this.#listener.replaced();
  }

  #end(status: string): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#listener.ended(status);
    this.stop('the assessment is over');
  }

  #signOut(message: string): void {
    this.stop('signed out');
    this.#listener.signedOut(message);
  }

  #retry(generation: number, reason: string): void {
    if (generation !== this.#generation || this.#stopped) return;
    const delay = backoffMs(this.#attempt, this.#random);
    this.#listener.connection({ status: 'waiting', attempt: this.#attempt, retryAt: Date.now() + delay, reason });
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      void this.#run();
    }, delay);
  }

  /** The question on screen (for the page's keyboard handling). */
  get question(): Question | undefined {
    return this.#question;
  }
}
