import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { Bus } from '@ap/bus';
import type { Logger } from '@ap/logging';
import type { Metrics } from '@ap/metrics';
import { SUPPORT_ROOM_PREFIX, assessmentIdOfRoom, assessmentRoomId, isAppError, parseClientFrame } from '@ap/protocol';
import type { Caller, ClientFrame, ClientFrameType, ErrorCode, EventInputOf, EventKeyOf, EventName, EventOf, Room } from '@ap/protocol';
import { CLOSE, Connection } from './connection.ts';
import type { Endpoint } from './connection.ts';
import { Fanout } from './fanout.ts';
import { createUserLimits } from './limits.ts';
import type { FrameLimits, UserLimits } from './limits.ts';
import { LOCAL_FRAMES, routes } from './routes.ts';
import type { Route, RouteContext, RouteHub } from './routes.ts';
import type { Identity, TokenVerifier } from './tokens.ts';

export type GatewayOptions = {
  authTimeoutMs: number;
  requestTimeoutMs: number;
  pingIntervalMs: number;
  /** Bad frames tolerated per minute before the connection is closed. */
  maxBadFramesPerMinute: number;
  /** How often live assessments are reported (presence), in ms. */
  presenceIntervalMs: number;
  /** An authenticated socket that sends no frame (heartbeats count) for this long is closed with 4408. */
  idleTimeoutMs: number;
  /** Rate limits on valid frames, the cap on requests in flight and on sockets per user. */
  limits: FrameLimits;
  /** Which browser origins may open a WebSocket (see edge.ts). */
  origins: { allowed: readonly string[]; allowLoopback: boolean };
  /** The gateway's public origin, for the LTI tool's URLs (absent: each request's Host). */
  publicUrl?: string | undefined;
};

export type ConnectionHub = {
  accept(ws: WebSocket, req: IncomingMessage, endpoint: Endpoint, url: URL): void;
  count(): number;
  close(): Promise<void>;
};

export type HubDependencies = {
  bus: Bus;
  verifier: TokenVerifier;
  log: Logger;
  options: GatewayOptions;
  gatewayId: string;
  metrics?: Metrics;
};

/** Assessment ids per presence message. */
const PRESENCE_BATCH = 2000;

/** Creates the hub that authenticates sockets, validates frames, routes them over the bus and pushes events. */
export function createConnectionHub(deps: HubDependencies): ConnectionHub {
  return new Hub(deps);
}

/**
 * The gateway's sockets: authentication, limits, the route of each frame, and the fan-out of bus
 * events to the sockets that want them (a user's pushes, a room's messages, a test's live feed).
 */
class Hub implements ConnectionHub, RouteHub {
  readonly bus: Bus;
  private readonly deps: HubDependencies;
  private readonly options: GatewayOptions;
  private readonly log: Logger;
  private readonly connections = new Set<Connection>();
  private readonly inflight = new Set<Promise<void>>();
  private readonly limits: UserLimits;
  private readonly intervals: NodeJS.Timeout[] = [];
  private shuttingDown = false;
  /** Pushes to a user, rooms' messages and typing notices, live-feed subjects. */
  private readonly users: Fanout<Connection>;
  private readonly rooms: Fanout<Connection>;
  private readonly live: Fanout<Connection>;

  constructor(deps: HubDependencies) {
    this.deps = deps;
    this.bus = deps.bus;
    this.options = deps.options;
    this.log = deps.log.child({ module: 'ws' });
    this.limits = createUserLimits(deps.options.limits);
    this.users = new Fanout((userId) => [this.bus.subscribe('pushToUser', userId, (push) => this.onPush(userId, push))]);
    // Two exact subjects per room rather than `chat.v1.events.*.<room>`, which the gateway's NATS
    // permissions, granted per event, do not cover.
    this.rooms = new Fanout((roomId) => [
      this.bus.subscribe('chatRoom', roomId, (message) => this.onRoomMessage(roomId, message)),
      this.bus.subscribe('chatTyping', roomId, (typing) => this.onTyping(roomId, typing)),
    ]);
    this.live = new Fanout((subject) => [
      this.bus.subscribe('liveAssessment', subject.slice(subject.lastIndexOf('.') + 1), (row) => this.onLive(subject, row)),
      // The same test's start requests (waiting for a proctor's approval, or approved).
      this.bus.subscribe('startRequest', subject.slice(subject.lastIndexOf('.') + 1), (r) => this.onStartRequest(subject, r)),
    ]);
    this.every(deps.options.pingIntervalMs, () => this.ping());
    // Authenticated sockets that send nothing are closed; the check is a cheap sweep, so that a
    // frame (a heartbeat above all) only records the time.
    this.every(Math.max(100, Math.min(Math.floor(deps.options.idleTimeoutMs / 4), 10_000)), () => this.closeIdle());
    // Presence: which assessments have a live connection here, in batches, for idle detection.
    this.every(deps.options.presenceIntervalMs, () => this.reportPresence());
  }

  count(): number {
    return this.connections.size;
  }

  accept(ws: WebSocket, req: IncomingMessage, endpoint: Endpoint, url: URL): void {
    const query = { testId: url.searchParams.get('test_id') ?? undefined, roomId: url.searchParams.get('room_id') ?? undefined };
    const c = new Connection(ws, endpoint, query, this.log, {
      limits: this.options.limits,
      maxBadFramesPerMinute: this.options.maxBadFramesPerMinute,
      metrics: this.deps.metrics,
    });
    this.connections.add(c);
    c.after(this.options.authTimeoutMs, () => {
      if (c.identity !== undefined) return;
      c.sendError('AUTH_REQUIRED', 'no authentication within the time allowed');
      c.close(CLOSE.AUTH_TIMEOUT, 'authentication timeout');
    });
    ws.on('pong', () => {
      c.alive = true;
    });
    ws.on('message', (raw, isBinary) => {
      c.alive = true;
      c.lastFrameAt = Date.now();
      try {
        if (isBinary) {
          c.badFrame('VALIDATION_FAILED', 'frames must be JSON text');
          return;
        }
        this.onFrame(c, rawToString(raw)).catch((err: unknown) => frameFailed(c, err));
      } catch (err) {
        frameFailed(c, err);
      }
    });
    ws.on('close', () => {
      try {
        this.release(c);
      } catch (err) {
        c.log.error({ err }, 'release failed');
      }
    });
    ws.on('error', (err) => c.log.warn({ err: err.message }, 'socket error'));
    const token = bearer(req) ?? url.searchParams.get('token') ?? undefined;
    if (token !== undefined) c.upgradeAuth = this.authenticate(c, token, undefined).catch((err: unknown) => frameFailed(c, err));
  }

  /** A frame: parsed, limited, authenticated, then routed. */
  private async onFrame(c: Connection, text: string): Promise<void> {
    if (c.upgradeAuth !== undefined) await c.upgradeAuth;
    const parsed = parseClientFrame(text);
    this.deps.metrics?.frameIn(parsed.ok ? parsed.frame.type : 'invalid');
    if (!parsed.ok) {
      c.badFrame(parsed.code, parsed.message, parsed.id, parsed.details);
      return;
    }
    const frame = parsed.frame;
    if (!this.withinRate(c, frame)) return;
    if (frame.type === 'auth') {
      await this.authenticate(c, frame.data.token, frame.id);
      return;
    }
    if (c.identity === undefined) {
      c.badFrame('AUTH_REQUIRED', 'authenticate first: send an auth frame or connect with a token', frame.id);
      return;
    }
    if (this.shuttingDown) {
      c.sendError('SERVICE_UNAVAILABLE', 'the server is shutting down; reconnect', frame.id);
      return;
    }
    const caller = c.identity.caller;
    const counted = !LOCAL_FRAMES.has(frame.type);
    if (counted && !(await this.takeSlot(c, caller, frame.id))) return;
    const work = this.route(c, caller, frame);
    this.inflight.add(work);
    try {
      await work;
    } catch (err) {
      if (isAppError(err)) {
        c.sendError(err.code, err.message, frame.id, err.details);
      } else {
        c.log.error({ err, type: frame.type }, 'frame handling failed');
        c.sendError('INTERNAL', 'internal error', frame.id);
      }
    } finally {
      this.inflight.delete(work);
      if (counted) this.limits.release(caller.user_id);
    }
  }

  /**
   * The socket's and the user's token buckets. Heartbeats are never limited: a page that keeps its
   * connection alive is not refused because it also asked questions.
   */
  private withinRate(c: Connection, frame: ClientFrame): boolean {
    if (frame.type === 'heartbeat') return true;
    const now = Date.now();
    const wait = c.bucket.take(now);
    if (wait > 0) {
      c.refuse({ limit: 'socket', retryAfterMs: wait }, frame.id);
      return false;
    }
    const refusal = c.userId === undefined ? undefined : this.limits.take(c.userId, now);
    if (refusal === undefined) return true;
    c.refuse(refusal, frame.id);
    return false;
  }

  /**
   * A place among the user's requests in flight, so that a flood is answered here instead of
   * queueing in front of everyone else's. Staff dashboards fan out (a room per watched candidate),
   * so their excess waits in line; a candidate's page has a request or two in flight, and a
   * candidate's excess is refused.
   */
  private async takeSlot(c: Connection, caller: Caller, replyTo: string | undefined): Promise<boolean> {
    const slot = this.limits.acquire(caller.user_id, Date.now(), caller.role !== 'candidate');
    if ('refusal' in slot) {
      c.refuse(slot.refusal, replyTo);
      return false;
    }
    if (slot.wait !== undefined) await slot.wait;
    // Shutdown may have begun, or the socket closed, while this frame waited.
    if (this.shuttingDown || !c.open) {
      this.limits.release(caller.user_id);
      c.sendError('SERVICE_UNAVAILABLE', 'the server is shutting down; reconnect', replyTo);
      return false;
    }
    return true;
  }

  private async route(c: Connection, caller: Caller, frame: ClientFrame): Promise<void> {
    const id = frame.id;
    const ctx: RouteContext = {
      hub: this,
      c,
      caller,
      id,
      opts: { timeoutMs: this.options.requestTimeoutMs, requestId: id === undefined ? c.id : `${c.id}:${id}` },
    };
    // The table is typed per frame type; a frame's data was validated against its own type.
    const route = routes[frame.type] as Route<ClientFrameType>;
    await route.handle(ctx, frame.data);
  }

  private async authenticate(c: Connection, token: string, replyTo: string | undefined): Promise<void> {
    let identity: Identity;
    try {
      identity = await this.deps.verifier.verify(token);
    } catch (err) {
      const code: ErrorCode = isAppError(err) ? err.code : 'AUTH_INVALID';
      c.badFrame(code, isAppError(err) ? err.message : 'token is not valid', replyTo);
      return;
    }
    const userId = identity.caller.user_id;
    if (c.identity !== undefined && c.userId !== userId) {
      c.sendError('FORBIDDEN', 'a connection cannot change user', replyTo);
      return;
    }
    const first = c.identity === undefined;
    if (first && !this.limits.addSocket(userId, Date.now())) {
      c.log.warn({ user_id: userId }, 'too many connections for one user: closing');
      const max = this.options.limits.maxSocketsPerUser;
      c.sendError('RATE_LIMITED', `at most ${max} connections per user`, replyTo, { limit: 'sockets', max_sockets: max });
      c.close(CLOSE.ABUSE, 'too many connections for this user');
      return;
    }
    c.identity = identity;
    c.lastFrameAt = Date.now();
    c.after(identity.expiresAt.getTime() - Date.now(), () => c.close(CLOSE.TOKEN_EXPIRED, 'token expired'), 'expiry');
    if (first) {
      c.log = c.log.child({ user_id: userId, role: identity.caller.role });
      this.users.join(userId, c);
    }
    c.send('auth_success', { user_id: userId, role: identity.caller.role, expires_at: identity.expiresAt.toISOString() }, replyTo);
    if (first && c.endpoint === 'chat' && c.query.roomId !== undefined) {
      try {
        await this.joinRoom(c, identity.caller, c.query.roomId);
      } catch (err) {
        c.sendError(isAppError(err) ? err.code : 'INTERNAL', isAppError(err) ? err.message : 'could not join the room');
      }
    }
  }

  // --- what routes use ----------------------------------------------------------------------------

  publish<E extends EventName>(name: E, key: EventKeyOf<E>, payload: EventInputOf<E>): void {
    try {
      this.bus.publish(name, key, payload);
    } catch (err) {
      this.log.warn({ event: name, err: err instanceof Error ? err.message : String(err) }, 'publish failed');
    }
  }

  bindAssessment(c: Connection, assessmentId: string): void {
    if (c.assessmentId === assessmentId) return;
    // Another assessment's room goes; support rooms stay.
    this.rooms.leaveAll(c, (room) => assessmentIdOfRoom(room) !== undefined);
    c.assessmentId = assessmentId;
    this.enterRoom(c, assessmentRoomId(assessmentId));
    this.announce(c, assessmentId, true);
  }

  async joinRoom(c: Connection, caller: Caller, roomId: string, requestId?: string): Promise<Room> {
    // Reading the history checks membership with the chat service.
    await this.bus.request(
      'chatHistory',
      { caller, room_id: roomId, limit: 1 },
      { timeoutMs: this.options.requestTimeoutMs, ...(requestId === undefined ? {} : { requestId }) },
    );
    this.enterRoom(c, roomId);
    return { room_id: roomId, kind: roomId.startsWith(SUPPORT_ROOM_PREFIX) ? 'support' : 'assessment' };
  }

  enterRoom(c: Connection, roomId: string): void {
    this.rooms.join(roomId, c);
  }

  leaveRoom(c: Connection, roomId: string): void {
    this.rooms.leave(roomId, c);
  }

  inRoom(c: Connection, roomId: string): boolean {
    return this.rooms.has(roomId, c);
  }

  watch(c: Connection, subjects: readonly string[]): void {
    // A repeated watch keeps the subscriptions it still needs instead of dropping and re-creating them.
    for (const subject of subjects) this.live.join(subject, c);
    this.live.leaveAll(c, (subject) => !subjects.includes(subject));
  }

  unwatch(c: Connection): void {
    this.live.leaveAll(c);
  }

  // --- events from the bus ------------------------------------------------------------------------

  private onPush(userId: string, push: EventOf<'pushToUser'>): void {
    const text = JSON.stringify({ type: push.type, data: push.data, ts: new Date().toISOString() });
    for (const c of this.users.members(userId)) {
      if (push.assessment_id !== undefined && c.assessmentId !== push.assessment_id) continue;
      if (push.except_connection === c.id) continue;
      c.sendSerialized(push.type, text);
      switch (push.type) {
        case 'session_replaced':
          c.log.info({ assessment_id: push.assessment_id }, 'session replaced by a newer connection');
          this.unbindAssessment(c);
          c.close(CLOSE.SESSION_REPLACED, 'session replaced by a newer connection');
          break;
        case 'room_opened':
          // The chat service pushes this only to a member of the new room.
          this.enterRoom(c, push.data.room_id);
          break;
        default:
          break;
      }
    }
  }

  private onRoomMessage(roomId: string, message: EventOf<'chatRoom'>): void {
    for (const c of this.rooms.members(roomId)) if (c.deliver(message.message_id)) c.send('chat_message', message);
  }

  private onTyping(roomId: string, typing: EventOf<'chatTyping'>): void {
    for (const c of this.rooms.members(roomId)) if (c.userId !== typing.user_id) c.send('typing', typing);
  }

  private onLive(subject: string, row: EventOf<'liveAssessment'>): void {
    // Serialized once for every watcher.
    const text = JSON.stringify({ type: 'live_assessment', data: row, ts: new Date().toISOString() });
    for (const c of this.live.members(subject)) c.sendSerialized('live_assessment', text);
  }

  private onStartRequest(subject: string, request: EventOf<'startRequest'>): void {
    const text = JSON.stringify({ type: 'start_approval', data: request, ts: new Date().toISOString() });
    for (const c of this.live.members(subject)) c.sendSerialized('start_approval', text);
  }

  // --- connection upkeep --------------------------------------------------------------------------

  private announce(c: Connection, assessmentId: string, online: boolean): void {
    this.publish('connection', undefined, {
      gateway_id: this.deps.gatewayId,
      connection_id: c.id,
      assessment_id: assessmentId,
      online,
      at: new Date().toISOString(),
    });
  }

  private unbindAssessment(c: Connection): void {
    this.rooms.leaveAll(c);
    if (c.assessmentId !== undefined) this.announce(c, c.assessmentId, false);
    c.assessmentId = undefined;
  }

  private release(c: Connection): void {
    if (!this.connections.delete(c)) return;
    c.dispose();
    this.rooms.leaveAll(c);
    this.live.leaveAll(c);
    if (c.assessmentId !== undefined) this.announce(c, c.assessmentId, false);
    if (c.userId !== undefined) {
      this.users.leave(c.userId, c);
      this.limits.removeSocket(c.userId);
    }
  }

  private every(ms: number, fn: () => void): void {
    const timer = setInterval(fn, ms);
    timer.unref();
    this.intervals.push(timer);
  }

  private ping(): void {
    for (const c of this.connections) {
      if (!c.alive) {
        c.log.info('no pong: terminating');
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }

  private closeIdle(): void {
    const now = Date.now();
    for (const c of this.connections) {
      if (c.identity === undefined || now - c.lastFrameAt <= this.options.idleTimeoutMs || !c.open) continue;
      c.log.info({ idle_ms: now - c.lastFrameAt }, 'idle: closing');
      c.close(CLOSE.IDLE_TIMEOUT, 'idle timeout');
    }
  }

  private reportPresence(): void {
    const ids = [...new Set([...this.connections].map((c) => c.assessmentId).filter((id): id is string => id !== undefined))];
    for (let i = 0; i < ids.length; i += PRESENCE_BATCH) {
      this.publish('presence', undefined, {
        gateway_id: this.deps.gatewayId,
        assessment_ids: ids.slice(i, i + PRESENCE_BATCH),
        at: new Date().toISOString(),
      });
    }
  }

  async close(): Promise<void> {
    for (const t of this.intervals) clearInterval(t);
    // Take no new frames, let the ones in flight get their replies, then close with 1001.
    this.shuttingDown = true;
    await Promise.race([Promise.allSettled([...this.inflight]), new Promise((r) => setTimeout(r, 5000).unref())]);
    const closing = [...this.connections].map(
      (c) =>
        new Promise<void>((resolve) => {
          c.ws.once('close', () => resolve());
          c.close(CLOSE.GOING_AWAY, 'server shutting down');
          setTimeout(() => {
            c.ws.terminate();
            resolve();
          }, 2000).unref();
        }),
    );
    await Promise.all(closing);
  }
}

/** A frame whose handling threw something that is not an AppError: logged, answered INTERNAL, and the socket keeps serving. */
function frameFailed(c: Connection, err: unknown): void {
  c.log.error({ err }, 'frame handling failed');
  try {
    c.sendError('INTERNAL', 'internal error');
  } catch {
    // The socket is gone; nothing to answer.
  }
}

function bearer(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (h === undefined) return undefined;
  return /^Bearer\s+(.+)$/i.exec(h)?.[1];
}

function rawToString(raw: Buffer | ArrayBuffer | Buffer[]): string {
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  if (raw instanceof ArrayBuffer) return Buffer.from(raw).toString('utf8');
  return raw.toString('utf8');
}
