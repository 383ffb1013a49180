/**
 * The candidate's session with the platform: the test's facts read without starting anything,
 * then, once the candidate pressed Start (or when they had started before), the assessment
 * started (or resumed) on every connection of a `Link`, an answer kept until the server has acknowledged it (answers are
 * idempotent, so it is simply sent again after a drop), pauses by a proctor, and the help chat.
 * No DOM here: the page renders what the session reports.
 */
import { retryAfterOf, retryDelayMs } from '@ap/client';
import type { ConnectOptions, PlatformClient } from '@ap/client';
import type {
  AssessmentCompleted,
  ChatMessage,
  Progress,
  Question,
  Room,
  ServerFrame,
  ServerFrameDataOf,
  StartApproval,
  TestInfo,
} from '@ap/protocol';
import { Link } from './link.ts';
import type { ConnectionState } from './link.ts';

export type Started = ServerFrameDataOf<'assessment_started'>;
export type Feedback = ServerFrameDataOf<'answer_feedback'>;

/** An answer the candidate gave; `acknowledged` once the server has stored it. */
export type GivenAnswer = {
  question_id: string;
  index: number;
  selected_option: string;
  option_text: string;
  acknowledged: boolean;
  /** The question's type: a likert or partial_credit answer has a category, never a right or wrong. */
  type?: Question['type'];
  /** The question's skill. */
  skill?: string;
};

/** Everything the session tells the page. */
export type SessionListener = {
  connection(state: ConnectionState): void;
  /** The test's facts, before it is started: the page shows the rules and waits for Start. */
  info(info: TestInfo): void;
  /** The test requires a proctor's approval: the start waits for it (no clock runs); it goes on by itself when given. */
  waiting(approval: StartApproval): void;
  started(started: Started): void;
  question(question: Question): void;
  answer(answer: GivenAnswer, feedback: Feedback | undefined): void;
  progress(progress: Progress): void;
  /** The server's clock: seconds left, from any frame that carries it. */
  remaining(seconds: number): void;
  timeWarning(seconds: number): void;
  /** A proctor gave extra time. */
  timeExtended(extraSeconds: number, remainingSeconds: number): void;
  /** A proctor paused the assessment (the reason when the pause frame carried one); the clock stands still. */
  paused(reason: string | undefined): void;
  /** The assessment runs again (the clock follows with `remaining`). */
  resumed(): void;
  completed(completed: AssessmentCompleted & { trace?: unknown }): void;
  /** The assessment is over but this connection could not get its result (e.g. it ended while offline). */
  ended(status: string): void;
  replaced(): void;
  chat(message: ChatMessage): void;
  /** Staff (a proctor, or the recruiter of a support room) are writing to the candidate. */
  typing(role: string): void;
  /** A recruiter opened a support room with the candidate; its messages arrive through `chat`. */
  roomOpened(room: Room): void;
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

/** Error codes after which sending the same answer again cannot succeed. */
const FINAL_ANSWER_ERRORS = new Set(['VALIDATION_FAILED', 'CONFLICT', 'FORBIDDEN', 'NOT_FOUND']);
/** Error codes that mean the assessment is over (or, for ASSESSMENT_NOT_ACTIVE, paused). */
const OVER_ERRORS = new Set(['TIME_EXPIRED', 'ASSESSMENT_NOT_ACTIVE']);
/** The gateway closes an older connection with this code when a newer one resumes the assessment. */
const CLOSE_SESSION_REPLACED = 4409;
/** Integrity events kept per minute (the gateway closes sockets that send many frames it rejects). */
const INTEGRITY_PER_MINUTE = 10;
/** Chat messages read back on each connection, so that nothing said while offline is missed. */
const CHAT_HISTORY_LIMIT = 50;
/**
 * Pauses before a failed answer or question is asked for again: 1 s doubling to 30 s, with
 * jitter, so that a page facing the same error does not repeat it every second, and pages that
 * failed together (a restarted service) do not come back together.
 */
const RETRY_BACKOFF = { baseMs: 1000, maxMs: 30_000 };

export class Session {
  readonly answers: GivenAnswer[] = [];
  #options: SessionOptions;
  #listener: SessionListener;
  #link: Link;
  #syncTimer: ReturnType<typeof setInterval> | undefined;
  #questionRetry: ReturnType<typeof setTimeout> | undefined;
  /** Failures in a row of the pending answer, and of asking for the next question (reset by a success). */
  #answerFailures = 0;
  #questionFailures = 0;
  /** The candidate pressed Start, or had started before: every connection starts (resumes) the assessment. */
  #begun = false;
  /** The start waits for a proctor's approval. */
  #waiting = false;
  /** The assessment is started and bound on the current connection. */
  #bound = false;
  #finished = false;
  #paused = false;
  #question: Question | undefined;
  #pending: GivenAnswer | undefined;
  #sending = false;
  #chatSeen = new Set<string>();
  #supportRooms = new Map<string, Room>();
  #integritySent: number[] = [];
  #integrityLast = new Map<string, number>();

  constructor(options: SessionOptions) {
    this.#options = options;
    this.#listener = options.listener;
    this.#link = new Link({
      url: options.url,
      token: options.token,
      ...(options.connect === undefined ? {} : { connect: options.connect }),
      ...(options.random === undefined ? {} : { random: options.random }),
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      state: (state) => {
        if (state.status === 'closed') this.#clearTimers();
        this.#listener.connection(state);
      },
      handshake: (client) => this.#handshake(client),
      frame: (frame) => this.#onPush(frame),
      dropped: () => {
        this.#bound = false;
        clearInterval(this.#syncTimer);
      },
      closed: (info) => {
        if (info.code !== CLOSE_SESSION_REPLACED) return false;
        this.#replaced();
        return true;
      },
      signedOut: (message) => this.#listener.signedOut(message),
    });
  }

  /** Whether the assessment is started and bound on an open connection. */
  get ready(): boolean {
    return this.#bound && this.#link.live;
  }

  /** The answer waiting for the server's acknowledgement, if any. */
  get pending(): GivenAnswer | undefined {
    return this.#pending;
  }

  /** Whether a proctor has paused the assessment. */
  get paused(): boolean {
    return this.#paused;
  }

  /** The support rooms a recruiter opened with the candidate. */
  get supportRooms(): Room[] {
    return [...this.#supportRooms.values()];
  }

  /**
   * Opens the first connection: authenticates and reads the test's facts (`get_test_info`), which
   * starts nothing; an assessment the candidate had already started is resumed at once.
   */
  open(): void {
    this.#link.open();
  }

  /** The candidate pressed Start: start the assessment (the server's clock starts now) and ask for the first question. */
  begin(): void {
    if (this.#begun) return;
    this.#begun = true;
    const client = this.#link.client;
    // Without a live connection, the next handshake starts it.
    if (client === undefined || !this.#link.live) return;
    this.#start(client).catch(() => this.#link.restart('start failed', client));
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
      type: question.type,
      skill: question.skill,
    };
    this.#listener.answer(this.#pending, undefined);
    void this.#sendPending();
  }

  /** Sends a chat message (to the assessment's room, or a support room); rejects when there is no connection or the server refused it. */
  async chat(text: string, roomId?: string): Promise<void> {
    const client = this.#link.client;
    if (client === undefined || !this.#link.live) throw new Error('Not connected: the message was not sent.');
    // The proctor's room is the assessment's: it exists from Start. Support rooms exist before.
    if (roomId === undefined && !this.#bound) throw new Error('The proctor can be reached once the assessment has started.');
    const reply = await client.chat(text, roomId);
    if (reply.type === 'chat_message') this.#onChat(reply.data);
    else if (reply.type === 'error') throw new Error(reply.data.message);
  }

  /**
   * Reports that the page lost the candidate's attention (tab hidden, focus lost, paste): the
   * server stores it on the assessment for the proctors. Sends are rate-limited, and the reply is
   * not awaited.
   */
  integrity(kind: 'focus_lost' | 'tab_hidden' | 'paste'): void {
    const client = this.#link.client;
    if (client === undefined || !this.ready || this.#finished) return;
    const now = Date.now();
    if (now - (this.#integrityLast.get(kind) ?? 0) < 5000) return;
    this.#integritySent = this.#integritySent.filter((t) => now - t < 60_000);
    if (this.#integritySent.length >= INTEGRITY_PER_MINUTE) return;
    this.#integrityLast.set(kind, now);
    this.#integritySent.push(now);
    client.request('integrity_event', { kind, at: new Date(now).toISOString() }).then(
      () => undefined,
      () => undefined,
    );
  }

  /** Asks the server for the progress and the clock now (e.g. when the local countdown reaches zero). */
  sync(): void {
    if (this.ready) void this.#progress();
  }

  /** Skips the wait of a scheduled reconnect (e.g. the browser is online again). */
  retryNow(): void {
    this.#link.retryNow();
  }

  /** Stops for good: no reconnect. */
  stop(reason: string): void {
    this.#clearTimers();
    this.#link.stop(reason);
  }

  #clearTimers(): void {
    clearTimeout(this.#questionRetry);
    clearInterval(this.#syncTimer);
  }

  async #handshake(client: PlatformClient): Promise<void> {
    if (!this.#begun) {
      const info = await client.request('get_test_info', this.#options.testId === undefined ? {} : { test_id: this.#options.testId });
      if (info.type === 'error') {
        if (info.data.code === 'FORBIDDEN' || info.data.code === 'NOT_FOUND') {
          this.#signOut(info.data.message);
          return;
        }
        throw new Error(info.data.message);
      }
      if (info.type !== 'test_info') throw new Error(`unexpected ${info.type}`);
      if (info.data.attempt === null && info.data.start_approval?.status === 'waiting') {
        // Start was pressed before (a reload while waiting for approval): the rules, and the wait.
        this.#listener.info(info.data);
        this.#readSupportRooms(client);
        this.#begun = true;
      } else if (info.data.attempt === null) {
        // Not started: the rules stay on screen, with no clock running, until Start.
        this.#link.markLive();
        this.#listener.problem(undefined);
        this.#listener.info(info.data);
        this.#readSupportRooms(client);
        return;
      }
      // Started before (a reload, another window): straight back to the question.
      this.#begun = true;
    }
    await this.#start(client);
  }

  /** Starts (or resumes) the assessment on this connection, then carries on where the candidate was. */
  async #start(client: PlatformClient): Promise<void> {
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
    if (started.type === 'start_approval') {
      // Nothing started: the approval arrives as a push (or with the next connection's start).
      this.#waiting = true;
      this.#link.markLive();
      this.#listener.problem(undefined);
      this.#listener.waiting(started.data);
      return;
    }
    this.#waiting = false;
    if (started.type !== 'assessment_started') throw new Error(`unexpected ${started.type}`);
    this.#bound = true;
    this.#link.markLive();
    this.#listener.problem(undefined);
    this.#listener.started(started.data);
    // What to ask next is decided just below, whether the pause ended while offline or not.
    this.#setPaused(started.data.status === 'paused', undefined, false);
    this.#listener.remaining(started.data.time_remaining_s);
    clearInterval(this.#syncTimer);
    this.#syncTimer = setInterval(() => this.sync(), this.#options.syncIntervalMs ?? 20_000);
    this.#readChat(client);
    if (this.#pending !== undefined) await this.#sendPending();
    else if (this.#begun) await this.#nextQuestion();
    if (this.ready) await this.#progress();
  }

  /**
   * The assessment room's recent messages (the gateway joins it on start) and the support rooms:
   * joined again, since a new connection starts in none. Failures only cost history.
   */
  #readChat(client: PlatformClient): void {
    client.request('chat_history', { limit: CHAT_HISTORY_LIMIT }).then(
      (reply) => this.#onHistory(reply),
      () => undefined,
    );
    this.#readSupportRooms(client);
  }

  /** The support rooms a recruiter opened, joined again with their recent messages (they need no started assessment). */
  #readSupportRooms(client: PlatformClient): void {
    const ignore = (): undefined => undefined;
    for (const roomId of this.#supportRooms.keys()) {
      client.request('join_room', { room_id: roomId }).then(ignore, ignore);
      client.request('chat_history', { room_id: roomId, limit: CHAT_HISTORY_LIMIT }).then((reply) => this.#onHistory(reply), ignore);
    }
  }

  #onHistory(reply: ServerFrame): void {
    if (reply.type !== 'chat_history') return;
    // Newest first on the wire; shown oldest first.
    for (const message of [...reply.data.messages].reverse()) this.#onChat(message);
  }

  async #sendPending(): Promise<void> {
    const client = this.#link.client;
    const answer = this.#pending;
    if (answer === undefined || client === undefined || !this.ready || this.#sending || this.#paused) return;
    this.#sending = true;
    let reply: ServerFrame;
    try {
      reply = await client.submitAnswer(answer.question_id, answer.selected_option);
    } catch {
      // Closed or timed out: the answer stays pending and is sent again on the next connection.
      this.#sending = false;
      this.#link.restart('no acknowledgement', client);
      return;
    }
    this.#sending = false;
    if (reply.type === 'answer_feedback') {
      this.#acknowledge(answer, reply.data);
      const next = reply.data.next_question;
      // The feedback names the next question (chosen with the answer): shown without asking.
      if (next !== undefined && !this.answers.some((a) => a.question_id === next.question_id)) this.#showQuestion(next);
      else if (!reply.data.finished) await this.#nextQuestion();
      await this.#progress();
      return;
    }
    if (reply.type === 'assessment_completed') {
      this.#onCompleted(reply.data);
      return;
    }
    if (reply.type !== 'error') return;
    if (reply.data.code === 'ASSESSMENT_NOT_ACTIVE') {
      // Paused by a proctor just as it was sent? Then the answer waits for the resume.
      await this.#progress();
      // Read through the getter: the await may have changed it, which narrowing does not see.
      if (this.paused) return;
    }
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
      setTimeout(() => void this.#sendPending(), this.#retryDelay((this.#answerFailures += 1), reply));
    }
  }

  /** The pause before retry number `failures`, never shorter than what the server asked for. */
  #retryDelay(failures: number, reply?: ServerFrame): number {
    return retryDelayMs(failures, {
      ...RETRY_BACKOFF,
      ...(this.#options.random === undefined ? {} : { random: this.#options.random }),
      retryAfterMs: reply === undefined ? undefined : retryAfterOf(reply),
    });
  }

  #acknowledge(answer: GivenAnswer, feedback: Feedback): void {
    this.#answerFailures = 0;
    if (this.#pending === answer) this.#pending = undefined;
    const done: GivenAnswer = { ...answer, acknowledged: true };
    if (!this.answers.some((a) => a.question_id === done.question_id)) this.answers.push(done);
    this.#listener.problem(undefined);
    this.#listener.answer(done, feedback);
  }

  #showQuestion(question: Question): void {
    clearTimeout(this.#questionRetry);
    this.#questionFailures = 0;
    this.#listener.problem(undefined);
    this.#question = question;
    this.#listener.remaining(question.time_remaining_s);
    this.#listener.question(question);
  }

  async #nextQuestion(): Promise<void> {
    const client = this.#link.client;
    if (client === undefined || !this.ready || this.#finished || this.#paused) return;
    let reply: ServerFrame;
    try {
      reply = await client.getQuestion();
    } catch {
      this.#link.restart('no question', client);
      return;
    }
    clearTimeout(this.#questionRetry);
    if (reply.type === 'question' && this.answers.some((a) => a.question_id === reply.data.question_id)) {
      // A question this page already saw acknowledged (a stale read on the server): ask again.
      this.#questionRetry = setTimeout(() => void this.#nextQuestion(), this.#retryDelay((this.#questionFailures += 1)));
      return;
    }
    if (reply.type === 'question') {
      this.#showQuestion(reply.data);
    } else if (reply.type === 'assessment_completed') {
      this.#onCompleted(reply.data);
    } else if (reply.type === 'error') {
      if (reply.data.code === 'ASSESSMENT_NOT_ACTIVE') {
        // Paused meanwhile: the progress says so, and the resume asks again.
        await this.#progress();
        if (this.paused) return;
      }
      // A timeout or a concurrent change: show it and ask again shortly.
      this.#listener.problem(`The next question could not be loaded: ${reply.data.message}. Trying again…`);
      clearTimeout(this.#questionRetry);
      const failures = (this.#questionFailures += 1);
      this.#questionRetry = setTimeout(
        () => void this.#nextQuestion(),
        reply.data.code === 'ASSESSMENT_NOT_ACTIVE' ? Math.max(5000, this.#retryDelay(failures, reply)) : this.#retryDelay(failures, reply),
      );
    }
  }

  async #progress(): Promise<void> {
    const client = this.#link.client;
    if (client === undefined || !this.ready || this.#finished) return;
    let reply: ServerFrame;
    try {
      reply = await client.getProgress();
    } catch {
      // No answer within the timeout: the connection is probably dead without having closed.
      this.#link.restart('no progress', client);
      return;
    }
    if (reply.type === 'progress_update') this.#onProgress(reply.data);
    else if (reply.type === 'error' && OVER_ERRORS.has(reply.data.code)) await this.#nextQuestion();
  }

  #onProgress(progress: Progress): void {
    this.#setPaused(progress.status === 'paused', undefined);
    this.#listener.remaining(progress.time_remaining_s);
    this.#listener.progress(progress);
    // The clock ran out on the server: the next question request returns the completion.
    if (progress.status !== 'in_progress' || progress.time_remaining_s === 0) void this.#nextQuestion();
  }

  /** Enters or leaves the paused state; leaving it carries on where the candidate was (unless `carryOn` is false). */
  #setPaused(paused: boolean, reason: string | undefined, carryOn = true): void {
    if (paused === this.#paused) {
      // Already paused (learnt from the progress): the push brings the reason.
      if (paused && reason !== undefined) this.#listener.paused(reason);
      return;
    }
    this.#paused = paused;
    if (paused) {
      clearTimeout(this.#questionRetry);
      this.#listener.problem(undefined);
      this.#listener.paused(reason);
      return;
    }
    this.#listener.resumed();
    if (!carryOn) return;
    if (this.#pending !== undefined) void this.#sendPending();
    else if (this.#begun) void this.#nextQuestion();
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
      case 'assessment_paused':
        this.#setPaused(true, frame.data.reason);
        return;
      case 'assessment_resumed':
        this.#setPaused(false, undefined);
        this.#listener.remaining(frame.data.time_remaining_s);
        return;
      case 'chat_message':
        this.#onChat(frame.data);
        return;
      case 'room_opened':
        this.#onRoomOpened(frame.data);
        return;
      case 'typing':
        if (frame.data.role !== 'candidate') this.#listener.typing(frame.data.role);
        return;
      case 'progress_update':
        if (frame.reply_to === undefined) this.#onProgress(frame.data);
        return;
      case 'start_approval':
        if (frame.data.status === 'approved' && this.#waiting) this.#approved();
        return;
      default:
        return;
    }
  }

  /** A proctor approved the start: start now (the server's clock starts with this request). */
  #approved(): void {
    this.#waiting = false;
    const client = this.#link.client;
    if (client === undefined || !this.#link.live) return;
    this.#start(client).catch(() => this.#link.restart('start failed', client));
  }

  #onRoomOpened(room: Room): void {
    if (room.kind !== 'support' || this.#supportRooms.has(room.room_id)) return;
    this.#supportRooms.set(room.room_id, room);
    this.#listener.roomOpened(room);
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

  /** The question on screen (for the page's keyboard handling). */
  get question(): Question | undefined {
    return this.#question;
  }
}

type ResultCounts = Pick<NonNullable<AssessmentCompleted['result']>, 'number_correct' | 'answered' | 'percent_correct'>;

/** What the end screen says about the answers: each line a term and its value. */
export type AnswerFacts = [string, string][];

/**
 * How many of the `answered` questions were single choices: counted from the answers this page
 * saw when it saw them all, else the one count the server's percent correct (of the single choices,
 * to 0.1) allows, else undefined (e.g. none right after a reload: any count fits).
 */
export function singleChoiceCount(result: ResultCounts, answers: readonly GivenAnswer[]): number | undefined {
  const seen = answers.filter((a) => a.type !== undefined);
  if (seen.length === result.answered) return seen.filter((a) => a.type === 'single_choice').length;
  if (result.number_correct === 0) return result.answered === 0 ? 0 : undefined;
  const fits: number[] = [];
  for (let m = result.number_correct; m <= result.answered; m++)
    if (Math.round((1000 * result.number_correct) / m) / 10 === result.percent_correct) fits.push(m);
  return fits.length === 1 ? fits[0] : undefined;
}

/**
 * The end screen's lines about the answers. Likert and partial-credit answers have no right or
 * wrong, and the server's number and percent correct are of the single choices only: the lines
 * say so instead of counting scale answers as wrong ones.
 */
export function answerFacts(result: ResultCounts, answers: readonly GivenAnswer[]): AnswerFacts {
  const choices = singleChoiceCount(result, answers);
  const percent = `${Math.round(result.percent_correct)}%`;
  if (choices === result.answered) return [['Correct answers', `${result.number_correct} of ${result.answered} (${percent})`]];
  if (choices === undefined)
    return [
      ['Questions answered', String(result.answered)],
      ['Correct answers', `${result.number_correct} (${percent} of the single-choice questions; scale questions have no right answer)`],
    ];
  const scale = result.answered - choices;
  const scaleLine: [string, string] = ['Scale questions answered', `${scale} (no right or wrong answer)`];
  if (choices === 0) return [scaleLine];
  return [['Correct answers', `${result.number_correct} of ${choices} single-choice questions (${percent})`], scaleLine];
}

/**
 * The "correct" cell of a skill's row on the end screen: the count alone when every answer was a
 * single choice, "x of n" (or "—" with none) when the page saw every answer's type, else the count
 * marked as of the single choices.
 */
export function skillCorrectText(skill: string, correct: number, result: ResultCounts, answers: readonly GivenAnswer[]): string {
  const choices = singleChoiceCount(result, answers);
  if (choices === result.answered) return String(correct);
  if (choices === 0) return '—';
  const seen = answers.filter((a) => a.type !== undefined);
  if (seen.length !== result.answered) return `${correct} (single choice)`;
  const inSkill = seen.filter((a) => a.skill === skill && a.type === 'single_choice').length;
  return inSkill === 0 ? '—' : `${correct} of ${inSkill}`;
}

/**
 * A skill's bar on the end screen's percent-correct chart: the share right of its single choices,
 * or undefined when that share is unknown (scale answers among them, and the page did not see
 * every answer's type). Every answer a single choice: the server's counts as they are.
 */
export function skillShare(
  skill: { skill: string; answered: number; correct: number },
  result: ResultCounts,
  answers: readonly GivenAnswer[],
): { value: number; detail: string } | undefined {
  const choices = singleChoiceCount(result, answers);
  if (choices === result.answered) {
    return {
      value: skill.answered === 0 ? 0 : (100 * skill.correct) / skill.answered,
      detail: `${skill.correct} of ${skill.answered} correct`,
    };
  }
  const seen = answers.filter((a) => a.type !== undefined);
  if (choices !== 0 && seen.length !== result.answered) return undefined;
  const inSkill = seen.filter((a) => a.skill === skill.skill && a.type === 'single_choice').length;
  if (inSkill === 0) return { value: 0, detail: 'no single-choice questions' };
  return { value: (100 * skill.correct) / inSkill, detail: `${skill.correct} of ${inSkill} single-choice questions correct` };
}
