import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { Logger } from '@ap/logging';
import type { Metrics } from '@ap/metrics';
import { AppError } from '@ap/protocol';
import type { ErrorCode, ServerFrameDataOf, ServerFrameType } from '@ap/protocol';
import { createTokenBucket } from './limits.ts';
import type { FrameLimits, Refusal, TokenBucket } from './limits.ts';
import type { Identity } from './tokens.ts';

/** Close codes the gateway uses besides the standard ones. */
export const CLOSE = {
  GOING_AWAY: 1001,
  POLICY: 1008,
  AUTH_TIMEOUT: 4401,
  TOKEN_EXPIRED: 4402,
  IDLE_TIMEOUT: 4408,
  SESSION_REPLACED: 4409,
  /** Too many bad frames, or more sockets than one user may hold. */
  ABUSE: 4429,
} as const;

export type Endpoint = 'assessment' | 'chat';

/** What a connection needs from the gateway's settings. */
export type ConnectionSettings = { limits: FrameLimits; maxBadFramesPerMinute: number; metrics?: Metrics | undefined };

/** Chat messages remembered per connection, so that one sent to the room and replied to the sender is shown once. */
const DELIVERED_KEPT = 32;

/**
 * One WebSocket and what the gateway knows about it, all of it reproducible from the services:
 * who is signed in, which assessment it is bound to, its limits, and how frames are sent on it.
 */
export class Connection {
  readonly id = randomUUID();
  log: Logger;
  identity: Identity | undefined;
  assessmentId: string | undefined;
  /** The last time (ms) this connection published a typing notice. */
  lastTypingMs = 0;
  /** Verification of the token given in the upgrade; frames wait for it instead of getting AUTH_REQUIRED. */
  upgradeAuth: Promise<void> | undefined;
  /** False between a ping and its pong. */
  alive = true;
  /** When the socket last sent a frame (or authenticated), for the idle timeout. */
  lastFrameAt = Date.now();
  /** Valid frames of this socket (heartbeats excepted). */
  readonly bucket: TokenBucket;
  private readonly delivered: string[] = [];
  private badFrames = 0;
  private badWindowStart = Date.now();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly named = new Map<string, () => void>();

  readonly ws: WebSocket;
  readonly endpoint: Endpoint;
  /** `test_id` and `room_id` given in the URL. */
  readonly query: { testId: string | undefined; roomId: string | undefined };
  private readonly settings: ConnectionSettings;

  constructor(
    ws: WebSocket,
    endpoint: Endpoint,
    query: { testId: string | undefined; roomId: string | undefined },
    log: Logger,
    settings: ConnectionSettings,
  ) {
    this.ws = ws;
    this.endpoint = endpoint;
    this.query = query;
    this.settings = settings;
    this.log = log.child({ conn: this.id, endpoint });
    this.bucket = createTokenBucket(settings.limits.socketPerSecond, settings.limits.socketBurst, Date.now());
  }

  get open(): boolean {
    return this.ws.readyState === this.ws.OPEN;
  }

  /** The signed-in user's id, or undefined before authentication. */
  get userId(): string | undefined {
    return this.identity?.caller.user_id;
  }

  /** The bound assessment, or ASSESSMENT_NOT_ACTIVE. */
  requireAssessment(): string {
    if (this.assessmentId === undefined) {
      throw new AppError('ASSESSMENT_NOT_ACTIVE', 'no assessment on this connection: send start_assessment first');
    }
    return this.assessmentId;
  }

  send<T extends ServerFrameType>(type: T, data: ServerFrameDataOf<T>, replyTo?: string): void {
    if (!this.open) return;
    const ts = new Date().toISOString();
    this.ws.send(JSON.stringify(replyTo === undefined ? { type, data, ts } : { type, data, reply_to: replyTo, ts }));
    this.settings.metrics?.frameOut(type);
  }

  /** Sends a frame serialized once for many connections. */
  sendSerialized(type: ServerFrameType, text: string): void {
    if (!this.open) return;
    this.ws.send(text);
    this.settings.metrics?.frameOut(type);
  }

  sendError(code: ErrorCode, message: string, replyTo?: string, details?: Record<string, unknown>): void {
    this.settings.metrics?.error(code);
    this.send('error', details === undefined ? { code, message } : { code, message, details }, replyTo);
  }

  /** An error for a frame that should not have been sent; too many in a minute close the socket. */
  badFrame(code: ErrorCode, message: string, replyTo?: string, details?: Record<string, unknown>): void {
    const now = Date.now();
    if (now - this.badWindowStart > 60_000) {
      this.badWindowStart = now;
      this.badFrames = 0;
    }
    this.badFrames += 1;
    this.sendError(code, message, replyTo, details);
    if (this.badFrames > this.settings.maxBadFramesPerMinute) {
      this.log.warn('too many bad frames: closing');
      this.close(CLOSE.ABUSE, 'too many bad frames');
    }
  }

  /** RATE_LIMITED with the limit that refused the frame and when to try again. */
  refuse(refusal: Refusal, replyTo: string | undefined): void {
    const limits = this.settings.limits;
    const message =
      refusal.limit === 'inflight'
        ? `at most ${limits.maxInflightPerUser} requests of one user at a time`
        : refusal.limit === 'socket'
          ? 'too many frames on this connection'
          : 'too many frames from this user';
    this.sendError('RATE_LIMITED', message, replyTo, { limit: refusal.limit, retry_after_ms: refusal.retryAfterMs });
  }

  /** Records a chat message as shown here; false when it already was. */
  deliver(messageId: string): boolean {
    if (this.delivered.includes(messageId)) return false;
    this.delivered.push(messageId);
    if (this.delivered.length > DELIVERED_KEPT) this.delivered.shift();
    return true;
  }

  /**
   * A timer that ends with the connection; returns a function that cancels it. A named timer
   * replaces the previous one of the same name (a new token's expiry, say).
   */
  after(ms: number, fn: () => void, name?: string): () => void {
    if (name !== undefined) this.named.get(name)?.();
    const cancel = this.schedule(ms, fn);
    if (name !== undefined) this.named.set(name, cancel);
    return cancel;
  }

  private schedule(ms: number, fn: () => void): () => void {
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        fn();
      },
      Math.min(Math.max(ms, 0), 2 ** 31 - 1),
    );
    timer.unref();
    this.timers.add(timer);
    return () => {
      clearTimeout(timer);
      this.timers.delete(timer);
    };
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }

  /** Stops the connection's timers (it has closed). */
  dispose(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.named.clear();
  }
}
