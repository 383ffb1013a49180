/**
 * The platform's client SDK: a thin, promise-based wrapper over the assessment WebSocket protocol
 * (ARCHITECTURE.md section 4) plus the two HTTP auth calls a candidate needs.
 *
 * Browser-safe: it uses only the standard WebSocket, fetch, URL and timers (no Node imports).
 */
import { serverEnvelopeSchema } from '@ap/protocol';
import type { ClientFrameDataOf, ClientFrameType, ServerFrame, ServerFrameType } from '@ap/protocol';

/** Default time to wait for a connection, a reply or a pushed frame (ms). */
export const DEFAULT_TIMEOUT_MS = 10_000;

/** How many received frames `PlatformClient.frames` keeps. */
export const FRAME_LOG_LIMIT = 1000;

/** The minimal part of the standard WebSocket API the client uses. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, listener: (event: unknown) => void): void;
}

/** A WebSocket constructor: `globalThis.WebSocket`, the `ws` package's class, or a test double. */
export type WebSocketConstructorLike = new (url: string) => WebSocketLike;

/** A server frame of one type. */
export type ServerFrameOf<T extends ServerFrameType> = Extract<ServerFrame, { type: T }>;

/** A frame as the client sends it. */
export type OutgoingFrame = { type: ClientFrameType; data: Record<string, unknown>; id?: string };

/** Options of `connectClient`. */
export interface ConnectOptions {
  /** WebSocket URL, e.g. `ws://127.0.0.1:8080/ws/assessment`. */
  url: string;
  /** Bearer token, sent as the `token` query parameter (browsers cannot set headers). */
  token?: string;
  /** WebSocket implementation; defaults to `globalThis.WebSocket`. */
  WebSocketImpl?: WebSocketConstructorLike;
  /** Connect, request and `next()` timeout in ms (default 10 000). */
  timeoutMs?: number;
  /** Called with every frame the client sends (for logging). */
  onSend?: (frame: OutgoingFrame) => void;
}

/** Per-request options. */
export interface RequestOptions {
  timeoutMs?: number;
}

/** How a connection ended. */
export interface CloseInfo {
  code: number;
  reason: string;
}

/** A listener of received frames. */
export type FrameListener = (frame: ServerFrame) => void;

/** A connected client of the assessment WebSocket. */
export interface PlatformClient {
  /** Sends a frame with a fresh id and resolves with the server frame that replies to it (error frames included). */
  request<T extends ClientFrameType>(type: T, data: ClientFrameDataOf<T>, options?: RequestOptions): Promise<ServerFrame>;
  /** Sends a frame without an id and without waiting. */
  send<T extends ClientFrameType>(type: T, data: ClientFrameDataOf<T>): void;
  /** Listens to received frames of one type, or every frame with `'*'`; returns the unsubscribe function. */
  on(type: ServerFrameType | '*', listener: FrameListener): () => void;
  /** The next received frame of a type (after this call), e.g. a pushed `assessment_completed`. */
  next<T extends ServerFrameType>(type: T, timeoutMs?: number): Promise<ServerFrameOf<T>>;
  /** Closes the connection. */
  close(code?: number, reason?: string): void;
  /** Resolves when the connection has closed (never rejects). */
  readonly closed: Promise<CloseInfo>;
  /** Whether the socket is open. */
  readonly isOpen: boolean;
  /** The last received frames, oldest first (at most `FRAME_LOG_LIMIT`). */
  readonly frames: ServerFrame[];
  /** `auth {token}`. */
  auth(token: string): Promise<ServerFrame>;
  /** `start_assessment {test_id?}`: starts or resumes. */
  startAssessment(testId?: string): Promise<ServerFrame>;
  /** `get_question {}`. */
  getQuestion(): Promise<ServerFrame>;
  /** `submit_answer {question_id, selected_option}`. */
  submitAnswer(questionId: string, option: string): Promise<ServerFrame>;
  /** `get_progress {}`. */
  getProgress(): Promise<ServerFrame>;
  /** `chat_message {message, room_id?}`. */
  chat(message: string, roomId?: string): Promise<ServerFrame>;
  /** `heartbeat {client_time}`. */
  heartbeat(): Promise<ServerFrame>;
  /** `end_assessment {}`. */
  endAssessment(): Promise<ServerFrame>;
}

/** Error thrown by `expectFrame` when the server answered with another frame type; carries the frame. */
export class UnexpectedFrameError extends Error {
  readonly frame: ServerFrame;
  /** The server's error code when the frame is an `error` frame. */
  readonly code: string | undefined;
  constructor(frame: ServerFrame, expected: readonly string[]) {
    super(`expected ${expected.join(' or ')}, got ${describeFrame(frame)}`);
    this.name = 'UnexpectedFrameError';
    this.frame = frame;
    this.code = frame.type === 'error' ? frame.data.code : undefined;
  }
}

/** Returns the frame typed as `type`, or throws a readable `UnexpectedFrameError` (e.g. `expected question, got error CONFLICT: ...`). */
export function expectFrame<T extends ServerFrameType>(frame: ServerFrame, type: T): ServerFrameOf<T> {
  if (frame.type !== type) throw new UnexpectedFrameError(frame, [type]);
  return frame as ServerFrameOf<T>;
}

/** `type` plus, for error frames, `code: message`. */
export function describeFrame(frame: ServerFrame): string {
  return frame.type === 'error' ? `error ${frame.data.code}: ${frame.data.message}` : frame.type;
}

/** Adds `token` as a query parameter to a URL. */
export function withToken(url: string, token: string | undefined): string {
  if (token === undefined) return url;
  const u = new URL(url);
  u.searchParams.set('token', token);
  return u.toString();
}

interface Pending {
  resolve: (frame: ServerFrame) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

interface Waiter {
  type: ServerFrameType;
  resolve: (frame: ServerFrame) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** Opens the WebSocket and resolves once it is open; rejects on failure or after `timeoutMs`. */
export function connectClient(options: ConnectOptions): Promise<PlatformClient> {
  // Not every runtime has a global WebSocket (the Node typings declare one unconditionally).
  const Impl = options.WebSocketImpl ?? (globalThis as { WebSocket?: WebSocketConstructorLike }).WebSocket;
  if (Impl === undefined) return Promise.reject(new Error('no WebSocket implementation available'));
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let socket: WebSocketLike;
  try {
    socket = new Impl(withToken(options.url, options.token));
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
  const client = new Connection(socket, timeoutMs, options.onSend);
  return new Promise<PlatformClient>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`connecting to ${options.url} timed out after ${timeoutMs} ms`));
      try {
        socket.close();
      } catch {
        // ignore
      }
    }, timeoutMs);
    socket.addEventListener('open', () => {
      clearTimeout(timer);
      resolve(client);
    });
    void client.closed.then(({ code, reason }) => {
      clearTimeout(timer);
      reject(new Error(`could not connect to ${options.url} (close ${code}${reason ? ` ${reason}` : ''})`));
    });
  });
}

const OPEN = 1;

class Connection implements PlatformClient {
  readonly frames: ServerFrame[] = [];
  readonly closed: Promise<CloseInfo>;
  #socket: WebSocketLike;
  #timeoutMs: number;
  #onSend: ((frame: OutgoingFrame) => void) | undefined;
  #seq = 0;
  #pending = new Map<string, Pending>();
  #waiters = new Set<Waiter>();
  #listeners = new Map<string, Set<FrameListener>>();
  #closeInfo: CloseInfo | undefined;

  constructor(socket: WebSocketLike, timeoutMs: number, onSend: ((frame: OutgoingFrame) => void) | undefined) {
    this.#socket = socket;
    this.#timeoutMs = timeoutMs;
    this.#onSend = onSend;
    let markClosed: (info: CloseInfo) => void = () => {};
    this.closed = new Promise<CloseInfo>((resolve) => {
      markClosed = resolve;
    });
    socket.addEventListener('message', (event) => this.#receive((event as { data?: unknown }).data));
    socket.addEventListener('close', (event) => {
      const { code, reason } = event as { code?: number; reason?: string };
      this.#onClose({ code: code ?? 1006, reason: reason ?? '' });
      markClosed(this.#closeInfo ?? { code: 1006, reason: '' });
    });
    // An 'error' event is always followed by 'close'; listening keeps EventEmitter-based sockets from throwing.
    socket.addEventListener('error', () => {});
  }

  get isOpen(): boolean {
    return this.#socket.readyState === OPEN && this.#closeInfo === undefined;
  }

  request<T extends ClientFrameType>(type: T, data: ClientFrameDataOf<T>, options?: RequestOptions): Promise<ServerFrame> {
    const id = `c${++this.#seq}`;
    const timeoutMs = options?.timeoutMs ?? this.#timeoutMs;
    return new Promise<ServerFrame>((resolve, reject) => {
      if (this.#closeInfo !== undefined) {
        reject(this.#closedError());
        return;
      }
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${type} (${id}) timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      try {
        this.#write({ type, data, id });
      } catch (err) {
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  send<T extends ClientFrameType>(type: T, data: ClientFrameDataOf<T>): void {
    this.#write({ type, data });
  }

  on(type: ServerFrameType | '*', listener: FrameListener): () => void {
    let set = this.#listeners.get(type);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(type, set);
    }
    set.add(listener);
    return () => {
      this.#listeners.get(type)?.delete(listener);
    };
  }

  next<T extends ServerFrameType>(type: T, timeoutMs?: number): Promise<ServerFrameOf<T>> {
    const ms = timeoutMs ?? this.#timeoutMs;
    return new Promise<ServerFrameOf<T>>((resolve, reject) => {
      if (this.#closeInfo !== undefined) {
        reject(this.#closedError());
        return;
      }
      const waiter: Waiter = {
        type,
        resolve: resolve as (frame: ServerFrame) => void,
        reject,
        timer: setTimeout(() => {
          this.#waiters.delete(waiter);
          reject(new Error(`no ${type} frame within ${ms} ms`));
        }, ms),
      };
      this.#waiters.add(waiter);
    });
  }

  close(code?: number, reason?: string): void {
    try {
      if (code === undefined) this.#socket.close();
      else this.#socket.close(code, reason);
    } catch {
      this.#socket.close();
    }
  }

  auth(token: string): Promise<ServerFrame> {
    return this.request('auth', { token });
  }

  startAssessment(testId?: string): Promise<ServerFrame> {
    return this.request('start_assessment', testId === undefined ? {} : { test_id: testId });
  }

  getQuestion(): Promise<ServerFrame> {
    return this.request('get_question', {});
  }

  submitAnswer(questionId: string, option: string): Promise<ServerFrame> {
    return this.request('submit_answer', { question_id: questionId, selected_option: option });
  }

  getProgress(): Promise<ServerFrame> {
    return this.request('get_progress', {});
  }

  chat(message: string, roomId?: string): Promise<ServerFrame> {
    return this.request('chat_message', roomId === undefined ? { message } : { message, room_id: roomId });
  }

  heartbeat(): Promise<ServerFrame> {
    return this.request('heartbeat', { client_time: new Date().toISOString() });
  }

  endAssessment(): Promise<ServerFrame> {
    return this.request('end_assessment', {});
  }

  #write(frame: OutgoingFrame): void {
    if (!this.isOpen) throw this.#closeInfo === undefined ? new Error('socket is not open') : this.#closedError();
    this.#socket.send(JSON.stringify(frame));
    if (this.#onSend !== undefined) {
      try {
        this.#onSend(frame);
      } catch {
        // a logging hook must not break the protocol
      }
    }
  }

  #receive(raw: unknown): void {
    let text: string;
    if (typeof raw === 'string') text = raw;
    else if (raw instanceof ArrayBuffer || ArrayBuffer.isView(raw)) text = new TextDecoder().decode(raw as Uint8Array);
    else return; // Blob or unknown: the protocol is JSON text only
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return;
    }
    const parsed = serverEnvelopeSchema.safeParse(json);
    if (!parsed.success) return;
    // Only the envelope is validated: data is trusted to match its type, so a newer server is not dropped.
    const frame = parsed.data as ServerFrame;
    this.frames.push(frame);
    if (this.frames.length > FRAME_LOG_LIMIT) this.frames.splice(0, this.frames.length - FRAME_LOG_LIMIT);

    if (frame.reply_to !== undefined) {
      const pending = this.#pending.get(frame.reply_to);
      if (pending !== undefined) {
        this.#pending.delete(frame.reply_to);
        clearTimeout(pending.timer);
        pending.resolve(frame);
      }
    }
    for (const waiter of [...this.#waiters]) {
      if (waiter.type !== frame.type) continue;
      this.#waiters.delete(waiter);
      clearTimeout(waiter.timer);
      waiter.resolve(frame);
    }
    this.#emit(frame.type, frame);
    this.#emit('*', frame);
  }

  #emit(key: string, frame: ServerFrame): void {
    const set = this.#listeners.get(key);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        listener(frame);
      } catch {
        // a failing listener must not break the receive loop
      }
    }
  }

  #onClose(info: CloseInfo): void {
    if (this.#closeInfo !== undefined) return;
    this.#closeInfo = info;
    const error = this.#closedError();
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.#pending.clear();
    for (const waiter of this.#waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    this.#waiters.clear();
  }

  #closedError(): Error {
    const info = this.#closeInfo;
    return new Error(info === undefined ? 'connection closed' : `connection closed (${info.code}${info.reason ? ` ${info.reason}` : ''})`);
  }
}
