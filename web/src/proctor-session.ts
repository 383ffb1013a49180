/**
 * The proctor's session with the platform: the live feed of in-progress assessments
 * (`watch_assessments`, then `live_assessment` frames), read again on every connection and every
 * half minute; the staff commands; and the assessment rooms' chat, joined for every assessment
 * watched so that no candidate's question goes unseen. No DOM here: the page renders what the
 * session reports.
 */
import type { ConnectOptions, PlatformClient } from '@ap/client';
import { assessmentIdOfRoom, assessmentRoomId } from '@ap/protocol';
import type { ChatMessage, LiveAssessment, ServerFrame, ServerFrameDataOf, StartApproval } from '@ap/protocol';
import { Link } from './link.ts';
import type { ConnectionState } from './link.ts';

export type AssessmentStatusReply = ServerFrameDataOf<'assessment_status'>;

/** Everything the session tells the page. */
export type ProctorListener = {
  connection(state: ConnectionState): void;
  /**
   * The whole list, as the server had it at some moment after `askedAt` (`Date.now()` when it was
   * asked for): on each connection and each re-read.
   */
  snapshot(assessments: LiveAssessment[], askedAt: number): void;
  /** The candidates waiting for approval to start, with each snapshot. */
  startRequests(requests: StartApproval[]): void;
  /** A start request was made or approved (by this proctor or another). */
  startRequest(request: StartApproval): void;
  /** One assessment changed (answered, came or went, was paused, ended…). */
  update(assessment: LiveAssessment): void;
  /** A message in the room of an assessment, each once: `live` as it is said, else read back from the history. */
  chat(assessmentId: string, message: ChatMessage, live: boolean): void;
  /** Someone (the candidate) is typing in an assessment's room. */
  typing(assessmentId: string): void;
  /** The token was refused or expired: sign in again. */
  signedOut(message: string): void;
};

export type ProctorSessionOptions = {
  url: string;
  token: string;
  /** Watch one test only; all the proctor may see by default. */
  testId?: string | undefined;
  listener: ProctorListener;
  connect?: (options: ConnectOptions) => Promise<PlatformClient>;
  /** How often the whole list is read again (it repairs a missed frame and re-syncs every clock), ms. */
  resyncIntervalMs?: number;
  requestTimeoutMs?: number;
};

/** Messages read back for a room when it is joined (and joined again after a reconnect). */
const HISTORY_LIMIT = 50;

/** A refused command: the server's error code and message. */
export class CommandError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'CommandError';
    this.code = code;
  }
}

export class ProctorSession {
  #options: ProctorSessionOptions;
  #listener: ProctorListener;
  #link: Link;
  #resync: ReturnType<typeof setInterval> | undefined;
  /** Assessments whose rooms this page follows (joined again on every connection). */
  #rooms = new Set<string>();
  #seen = new Set<string>();

  constructor(options: ProctorSessionOptions) {
    this.#options = options;
    this.#listener = options.listener;
    this.#link = new Link({
      url: options.url,
      token: options.token,
      ...(options.connect === undefined ? {} : { connect: options.connect }),
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      state: (state) => {
        if (state.status === 'closed') clearInterval(this.#resync);
        this.#listener.connection(state);
      },
      handshake: (client) => this.#handshake(client),
      frame: (frame) => this.#onFrame(frame),
      dropped: () => clearInterval(this.#resync),
      signedOut: (message) => this.#listener.signedOut(message),
    });
  }

  get ready(): boolean {
    return this.#link.live;
  }

  open(): void {
    this.#link.open();
  }

  stop(reason: string): void {
    clearInterval(this.#resync);
    this.#link.stop(reason);
  }

  retryNow(): void {
    this.#link.retryNow();
  }

  pause(assessmentId: string, reason: string): Promise<AssessmentStatusReply> {
    return this.#command((c) => c.request('pause_assessment', { assessment_id: assessmentId, reason }));
  }

  resume(assessmentId: string): Promise<AssessmentStatusReply> {
    return this.#command((c) => c.request('resume_assessment', { assessment_id: assessmentId }));
  }

  /** `key` makes the command safe to repeat: the server adds the time once per key. */
  extraTime(assessmentId: string, seconds: number, reason: string, key: string): Promise<AssessmentStatusReply> {
    return this.#command((c) => c.request('extra_time', { assessment_id: assessmentId, seconds, reason, key }));
  }

  terminate(assessmentId: string, reason: string): Promise<AssessmentStatusReply> {
    return this.#command((c) => c.request('terminate_assessment', { assessment_id: assessmentId, reason }));
  }

  /** Lets a candidate waiting for approval start; resolves with the approved request. */
  async approveStart(candidateId: string, testId: string): Promise<StartApproval> {
    const reply = await this.#request((c) => c.request('approve_start', { candidate_id: candidateId, test_id: testId }));
    if (reply.type !== 'start_approval') throw new CommandError('INTERNAL', `unexpected ${reply.type}`);
    this.#listener.startRequest(reply.data);
    return reply.data;
  }

  /** Follows an assessment's room: its messages from now on, and the recent ones. */
  follow(assessmentId: string): void {
    if (this.#rooms.has(assessmentId)) return;
    this.#rooms.add(assessmentId);
    const client = this.#link.client;
    if (client !== undefined && this.ready) this.#joinRoom(client, assessmentId);
  }

  /** Stops following an assessment's room (it left the list). */
  unfollow(assessmentId: string): void {
    if (!this.#rooms.delete(assessmentId)) return;
    const client = this.#link.client;
    if (client !== undefined && this.ready)
      client.request('leave_room', { room_id: assessmentRoomId(assessmentId) }).catch(() => undefined);
  }

  /** Writes to the candidate of an assessment; rejects with the reason when it was not sent. */
  async say(assessmentId: string, text: string): Promise<void> {
    const reply = await this.#request((c) => c.chat(text, assessmentRoomId(assessmentId)));
    if (reply.type === 'chat_message') this.#onChat(reply.data, true);
  }

  /**
   * Tells the candidate the proctor is typing. Sent without an id: the gateway answers nothing
   * (it drops repeats within two seconds quietly).
   */
  typing(assessmentId: string): void {
    const client = this.#link.client;
    if (client === undefined || !this.ready) return;
    try {
      client.send('typing', { room_id: assessmentRoomId(assessmentId) });
    } catch {
      // closed meanwhile: nothing to tell
    }
  }

  async #command(send: (client: PlatformClient) => Promise<ServerFrame>): Promise<AssessmentStatusReply> {
    const reply = await this.#request(send);
    if (reply.type !== 'assessment_status') throw new CommandError('INTERNAL', `unexpected ${reply.type}`);
    return reply.data;
  }

  /** A request on the live connection; an error frame rejects with a `CommandError`. */
  async #request(send: (client: PlatformClient) => Promise<ServerFrame>): Promise<ServerFrame> {
    const client = this.#link.client;
    if (client === undefined || !this.ready)
      throw new CommandError('OFFLINE', 'Not connected: nothing was sent. Try again when the connection is back.');
    let reply: ServerFrame;
    try {
      reply = await send(client);
    } catch {
      this.#link.restart('no reply', client);
      throw new CommandError(
        'TIMEOUT',
        'The server did not answer. It may or may not have been done: check the table before trying again.',
      );
    }
    if (reply.type === 'error') throw new CommandError(reply.data.code, reply.data.message);
    return reply;
  }

  async #handshake(client: PlatformClient): Promise<void> {
    await this.#watch(client);
    this.#link.markLive();
    for (const assessmentId of this.#rooms) this.#joinRoom(client, assessmentId);
    clearInterval(this.#resync);
    this.#resync = setInterval(() => {
      this.#watch(client).catch(() => this.#link.restart('no live list', client));
    }, this.#options.resyncIntervalMs ?? 30_000);
  }

  /** Asks for the list (and the feed that follows it); throws when the server does not give it. */
  async #watch(client: PlatformClient): Promise<void> {
    const testId = this.#options.testId;
    const askedAt = Date.now();
    const reply = await client.request('watch_assessments', testId === undefined ? {} : { test_id: testId });
    if (reply.type === 'live_assessments') {
      this.#listener.snapshot(reply.data.assessments, askedAt);
      this.#listener.startRequests(reply.data.start_requests);
      return;
    }
    if (reply.type === 'error' && (reply.data.code === 'FORBIDDEN' || reply.data.code === 'AUTH_INVALID')) {
      this.stop('signed out');
      this.#listener.signedOut(`This account may not watch assessments: ${reply.data.message}`);
      return;
    }
    throw new Error(reply.type === 'error' ? reply.data.message : `unexpected ${reply.type}`);
  }

  #joinRoom(client: PlatformClient, assessmentId: string): void {
    const roomId = assessmentRoomId(assessmentId);
    const ignore = (): undefined => undefined;
    client.request('join_room', { room_id: roomId }).then((joined) => {
      if (joined.type !== 'room_joined') return;
      client.request('chat_history', { room_id: roomId, limit: HISTORY_LIMIT }).then((reply) => {
        if (reply.type !== 'chat_history') return;
        // Newest first on the wire; told oldest first.
        for (const message of [...reply.data.messages].reverse()) this.#onChat(message, false);
      }, ignore);
    }, ignore);
  }

  #onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'live_assessment':
        this.#listener.update(frame.data);
        return;
      case 'start_approval':
        if (frame.reply_to === undefined) this.#listener.startRequest(frame.data);
        return;
      case 'chat_message':
        this.#onChat(frame.data, true);
        return;
      case 'typing': {
        const assessmentId = assessmentIdOfRoom(frame.data.room_id);
        if (assessmentId !== undefined && frame.data.role === 'candidate') this.#listener.typing(assessmentId);
        return;
      }
      default:
        return;
    }
  }

  #onChat(message: ChatMessage, live: boolean): void {
    const assessmentId = assessmentIdOfRoom(message.room_id);
    if (assessmentId === undefined || this.#seen.has(message.message_id)) return;
    this.#seen.add(message.message_id);
    this.#listener.chat(assessmentId, message, live);
  }
}
