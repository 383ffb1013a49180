import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { Bus } from '@ap/bus';
import type { Logger } from '@ap/logging';
import type { Metrics } from '@ap/metrics';
import {
  AppError,
  SUPPORT_ROOM_PREFIX,
  assessmentIdOfRoom,
  assessmentRoomId,
  completedSchema,
  events,
  isAppError,
  parseClientFrame,
} from '@ap/protocol';
import type { AssessmentStatus, Caller, ClientFrame, ErrorCode, Room, ServerFrameDataOf, ServerFrameType } from '@ap/protocol';
import type { Subscription } from '@nats-io/transport-node';
import { createTokenBucket, createUserLimits } from './limits.ts';
import type { FrameLimits, Refusal, TokenBucket } from './limits.ts';
import type { Identity, TokenVerifier } from './tokens.ts';

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

/** Frames answered by the gateway itself: they never wait for a service, so they are not requests in flight. */
const LOCAL_FRAMES: ReadonlySet<ClientFrame['type']> = new Set(['heartbeat', 'auth', 'leave_room', 'typing', 'unwatch_assessments']);

export type Endpoint = 'assessment' | 'chat';

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
};

/** One WebSocket connection and what the gateway knows about it (all reproducible from the services). */
type Connection = {
  id: string;
  ws: WebSocket;
  endpoint: Endpoint;
  log: Logger;
  identity: Identity | undefined;
  assessmentId: string | undefined;
  queryTestId: string | undefined;
  queryRoomId: string | undefined;
  rooms: Set<string>;
  /** Live-feed subjects this (staff) connection watches. */
  watches: Set<string>;
  lastTypingMs: number;
  delivered: string[];
  authTimer: NodeJS.Timeout | undefined;
  expiryTimer: NodeJS.Timeout | undefined;
  /** Verification of the token given in the upgrade; frames wait for it instead of getting AUTH_REQUIRED. */
  upgradeAuth: Promise<void> | undefined;
  /** time_warning timers of the bound assessment, from its deadline. */
  warningTimers: NodeJS.Timeout[];
  warningsS: number[];
  badFrames: number;
  badWindowStart: number;
  alive: boolean;
  /** Valid frames of this socket (heartbeats excepted). */
  bucket: TokenBucket;
  /** When the socket last sent a frame (or authenticated), for the idle timeout. */
  lastFrameAt: number;
};

/** Subscriptions shared by every connection interested in the same subject. */
type Shared = { subs: Subscription[]; conns: Set<Connection> };

export type ConnectionHub = {
  accept(ws: WebSocket, req: IncomingMessage, endpoint: Endpoint, url: URL): void;
  count(): number;
  close(): Promise<void>;
};

/** Creates the hub that authenticates sockets, validates frames, routes them over the bus and pushes events. */
export function createConnectionHub(deps: {
  bus: Bus;
  verifier: TokenVerifier;
  log: Logger;
  options: GatewayOptions;
  gatewayId: string;
  metrics?: Metrics;
}): ConnectionHub {
  const { bus, options } = deps;
  const log = deps.log.child({ module: 'ws' });
  const connections = new Set<Connection>();
  const inflight = new Set<Promise<void>>();
  let shuttingDown = false;
  const stopping = () => shuttingDown;
  const byUser = new Map<string, Shared>();
  const byRoom = new Map<string, Shared>();
  const byLive = new Map<string, Shared>();
  const users = createUserLimits(options.limits);

  const pinger = setInterval(() => {
    for (const c of connections) {
      if (!c.alive) {
        c.log.info('no pong: terminating');
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }, options.pingIntervalMs);
  pinger.unref();

  // Authenticated sockets that send nothing are closed; the check is a cheap sweep, so that a
  // frame (a heartbeat above all) only records the time.
  const idleSweep = setInterval(
    () => {
      const now = Date.now();
      for (const c of connections) {
        if (c.identity === undefined || now - c.lastFrameAt <= options.idleTimeoutMs || c.ws.readyState !== c.ws.OPEN) continue;
        c.log.info({ idle_ms: now - c.lastFrameAt }, 'idle: closing');
        c.ws.close(CLOSE.IDLE_TIMEOUT, 'idle timeout');
      }
    },
    Math.max(100, Math.min(Math.floor(options.idleTimeoutMs / 4), 10_000)),
  );
  idleSweep.unref();

  // Presence: which assessments have a live connection here, in batches, for idle detection.
  const presence = setInterval(() => reportPresence(), options.presenceIntervalMs);
  presence.unref();

  function reportPresence(): void {
    const ids = [...new Set([...connections].map((c) => c.assessmentId).filter((id): id is string => id !== undefined))];
    for (let i = 0; i < ids.length; i += 2000) {
      publish(events.presence.subject(), {
        gateway_id: deps.gatewayId,
        assessment_ids: ids.slice(i, i + 2000),
        at: new Date().toISOString(),
      });
    }
  }

  /** A publish that a closed or draining NATS connection turns into a warning, not an exception in a listener or timer. */
  function publish(subject: string, payload: unknown): void {
    try {
      bus.publish(subject, payload);
    } catch (err) {
      log.warn({ subject, err: err instanceof Error ? err.message : String(err) }, 'publish failed');
    }
  }

  function send<T extends ServerFrameType>(c: Connection, type: T, data: ServerFrameDataOf<T>, replyTo?: string): void {
    if (c.ws.readyState !== c.ws.OPEN) return;
    const frame =
      replyTo === undefined
        ? { type, data, ts: new Date().toISOString() }
        : { type, data, reply_to: replyTo, ts: new Date().toISOString() };
    c.ws.send(JSON.stringify(frame));
    deps.metrics?.frameOut(type);
  }

  function sendError(c: Connection, code: ErrorCode, message: string, replyTo?: string, details?: Record<string, unknown>): void {
    deps.metrics?.error(code);
    send(c, 'error', details === undefined ? { code, message } : { code, message, details }, replyTo);
  }

  function accept(ws: WebSocket, req: IncomingMessage, endpoint: Endpoint, url: URL): void {
    const c: Connection = {
      id: randomUUID(),
      ws,
      endpoint,
      log: log.child({ conn: '' }),
      identity: undefined,
      assessmentId: undefined,
      queryTestId: url.searchParams.get('test_id') ?? undefined,
      queryRoomId: url.searchParams.get('room_id') ?? undefined,
      rooms: new Set(),
      watches: new Set(),
      lastTypingMs: 0,
      delivered: [],
      authTimer: undefined,
      expiryTimer: undefined,
      upgradeAuth: undefined,
      warningTimers: [],
      warningsS: [],
      badFrames: 0,
      badWindowStart: Date.now(),
      alive: true,
      bucket: createTokenBucket(options.limits.socketPerSecond, options.limits.socketBurst, Date.now()),
      lastFrameAt: Date.now(),
    };
    c.log = log.child({ conn: c.id, endpoint });
    connections.add(c);
    c.authTimer = setTimeout(() => {
      if (c.identity === undefined) {
        sendError(c, 'AUTH_REQUIRED', 'no authentication within the time allowed');
        ws.close(CLOSE.AUTH_TIMEOUT, 'authentication timeout');
      }
    }, options.authTimeoutMs);
    ws.on('pong', () => {
      c.alive = true;
    });
    ws.on('message', (raw, isBinary) => {
      c.alive = true;
      c.lastFrameAt = Date.now();
      try {
        if (isBinary) {
          badFrame(c, 'VALIDATION_FAILED', 'frames must be JSON text');
          return;
        }
        onFrame(c, rawToString(raw)).catch((err: unknown) => frameFailed(c, err));
      } catch (err) {
        frameFailed(c, err);
      }
    });
    ws.on('close', () => {
      try {
        release(c);
      } catch (err) {
        c.log.error({ err }, 'release failed');
      }
    });
    ws.on('error', (err) => c.log.warn({ err: err.message }, 'socket error'));
    const token = bearer(req) ?? url.searchParams.get('token') ?? undefined;
    if (token !== undefined) {
      c.upgradeAuth = authenticate(c, token, undefined).catch((err: unknown) => frameFailed(c, err));
    }
  }

  /** A frame whose handling threw something that is not an AppError: logged, answered INTERNAL, and the socket keeps serving. */
  function frameFailed(c: Connection, err: unknown): void {
    c.log.error({ err }, 'frame handling failed');
    try {
      sendError(c, 'INTERNAL', 'internal error');
    } catch {
      // The socket is gone; nothing to answer.
    }
  }

  /** RATE_LIMITED with the limit that refused the frame and when to try again. */
  function refuse(c: Connection, refusal: Refusal, replyTo: string | undefined): void {
    const message =
      refusal.limit === 'inflight'
        ? `at most ${options.limits.maxInflightPerUser} requests of one user at a time`
        : refusal.limit === 'socket'
          ? 'too many frames on this connection'
          : 'too many frames from this user';
    sendError(c, 'RATE_LIMITED', message, replyTo, { limit: refusal.limit, retry_after_ms: refusal.retryAfterMs });
  }

  function badFrame(c: Connection, code: ErrorCode, message: string, replyTo?: string, details?: Record<string, unknown>): void {
    const now = Date.now();
    if (now - c.badWindowStart > 60_000) {
      c.badWindowStart = now;
      c.badFrames = 0;
    }
    c.badFrames += 1;
    sendError(c, code, message, replyTo, details);
    if (c.badFrames > options.maxBadFramesPerMinute) {
      c.log.warn('too many bad frames: closing');
      c.ws.close(CLOSE.ABUSE, 'too many bad frames');
    }
  }

  async function onFrame(c: Connection, text: string): Promise<void> {
    if (c.upgradeAuth !== undefined) await c.upgradeAuth;
    const parsed = parseClientFrame(text);
    deps.metrics?.frameIn(parsed.ok ? parsed.frame.type : 'invalid');
    if (!parsed.ok) {
      badFrame(c, parsed.code, parsed.message, parsed.id, parsed.details);
      return;
    }
    const frame = parsed.frame;
    // Heartbeats stay cheap and never limited: a page that keeps its connection alive is not
    // refused because it also asked questions.
    if (frame.type !== 'heartbeat') {
      const now = Date.now();
      const wait = c.bucket.take(now);
      if (wait > 0) {
        refuse(c, { limit: 'socket', retryAfterMs: wait }, frame.id);
        return;
      }
      const refusal = c.identity === undefined ? undefined : users.take(c.identity.caller.user_id, now);
      if (refusal !== undefined) {
        refuse(c, refusal, frame.id);
        return;
      }
    }
    if (frame.type === 'auth') {
      await authenticate(c, frame.data.token, frame.id);
      return;
    }
    if (c.identity === undefined) {
      badFrame(c, 'AUTH_REQUIRED', 'authenticate first: send an auth frame or connect with a token', frame.id);
      return;
    }
    if (shuttingDown) {
      sendError(c, 'SERVICE_UNAVAILABLE', 'the server is shutting down; reconnect', frame.id);
      return;
    }
    // Only a few of one user's requests reach the services at once, so that a flood is answered
    // here instead of queueing in front of everyone else's.
    const caller = c.identity.caller;
    const userId = caller.user_id;
    const counted = !LOCAL_FRAMES.has(frame.type);
    if (counted) {
      // Staff dashboards fan out (a room per watched candidate), so their excess waits in line;
      // a candidate's page has a request or two in flight, and a candidate's excess is refused.
      const slot = users.acquire(userId, Date.now(), caller.role !== 'candidate');
      if ('refusal' in slot) {
        refuse(c, slot.refusal, frame.id);
        return;
      }
      if (slot.wait !== undefined) await slot.wait;
      // Shutdown may have begun, or the socket closed, while this frame waited.
      if (stopping() || c.ws.readyState !== c.ws.OPEN) {
        users.release(userId);
        sendError(c, 'SERVICE_UNAVAILABLE', 'the server is shutting down; reconnect', frame.id);
        return;
      }
    }
    const work = route(c, caller, frame);
    inflight.add(work);
    try {
      await work;
    } catch (err) {
      if (isAppError(err)) {
        sendError(c, err.code, err.message, frame.id, err.details);
      } else {
        c.log.error({ err, type: frame.type }, 'frame handling failed');
        sendError(c, 'INTERNAL', 'internal error', frame.id);
      }
    } finally {
      inflight.delete(work);
      if (counted) users.release(userId);
    }
  }

  async function authenticate(c: Connection, token: string, replyTo: string | undefined): Promise<void> {
    let identity: Identity;
    try {
      identity = await deps.verifier.verify(token);
    } catch (err) {
      const code: ErrorCode = isAppError(err) ? err.code : 'AUTH_INVALID';
      badFrame(c, code, isAppError(err) ? err.message : 'token is not valid', replyTo);
      return;
    }
    if (c.identity !== undefined && c.identity.caller.user_id !== identity.caller.user_id) {
      sendError(c, 'FORBIDDEN', 'a connection cannot change user', replyTo);
      return;
    }
    const first = c.identity === undefined;
    if (first && !users.addSocket(identity.caller.user_id, Date.now())) {
      c.log.warn({ user_id: identity.caller.user_id }, 'too many connections for one user: closing');
      sendError(c, 'RATE_LIMITED', `at most ${options.limits.maxSocketsPerUser} connections per user`, replyTo, {
        limit: 'sockets',
        max_sockets: options.limits.maxSocketsPerUser,
      });
      c.ws.close(CLOSE.ABUSE, 'too many connections for this user');
      return;
    }
    c.identity = identity;
    c.lastFrameAt = Date.now();
    clearTimeout(c.authTimer);
    clearTimeout(c.expiryTimer);
    const ttl = identity.expiresAt.getTime() - Date.now();
    c.expiryTimer = setTimeout(() => c.ws.close(CLOSE.TOKEN_EXPIRED, 'token expired'), Math.min(Math.max(ttl, 0), 2 ** 31 - 1));
    c.log = c.log.child({ user_id: identity.caller.user_id, role: identity.caller.role });
    if (first) join(byUser, identity.caller.user_id, c, [events.pushToUser.subject(identity.caller.user_id)], onPush);
    send(
      c,
      'auth_success',
      { user_id: identity.caller.user_id, role: identity.caller.role, expires_at: identity.expiresAt.toISOString() },
      replyTo,
    );
    if (first && c.endpoint === 'chat' && c.queryRoomId !== undefined) {
      try {
        await joinRoom(c, identity.caller, c.queryRoomId);
      } catch (err) {
        sendError(c, isAppError(err) ? err.code : 'INTERNAL', isAppError(err) ? err.message : 'could not join the room');
      }
    }
  }

  async function route(c: Connection, caller: Caller, frame: ClientFrame): Promise<void> {
    const id = frame.id;
    const opts = { timeoutMs: options.requestTimeoutMs, requestId: id === undefined ? c.id : `${c.id}:${id}` };
    switch (frame.type) {
      case 'heartbeat':
        send(c, 'heartbeat_ack', { server_time: new Date().toISOString() }, id);
        return;
      case 'start_assessment': {
        const testId = frame.data.test_id ?? c.queryTestId ?? (caller.tests?.length === 1 ? caller.tests[0] : undefined);
        if (testId === undefined) throw new AppError('VALIDATION_FAILED', 'test_id is required (in data or the test_id query)');
        let started: Awaited<ReturnType<typeof bus.request<'assessmentStart'>>>;
        try {
          started = await bus.request('assessmentStart', { caller, test_id: testId }, opts);
        } catch (err) {
          // Already finished (for example by the deadline while offline): show the outcome.
          const done =
            isAppError(err) && err.code === 'ASSESSMENT_NOT_ACTIVE' ? completedSchema.safeParse(err.details?.['completed']) : undefined;
          if (done?.success !== true) throw err;
          send(c, 'assessment_completed', done.data, id);
          return;
        }
        bindAssessment(c, started.assessment_id);
        // One live connection per assessment: older ones, on any gateway, are told and closed.
        publish(events.pushToUser.subject(caller.user_id), {
          type: 'session_replaced',
          data: { assessment_id: started.assessment_id },
          assessment_id: started.assessment_id,
          except_connection: c.id,
        });
        c.warningsS = started.test.time_warnings_s;
        scheduleWarnings(c, started.assessment_id, new Date(started.deadline), started.status === 'in_progress');
        send(c, 'assessment_started', started, id);
        return;
      }
      case 'get_question': {
        const r = await bus.request('assessmentQuestion', { caller, assessment_id: requireAssessment(c) }, opts);
        if (r.question !== null) send(c, 'question', r.question, id);
        else if (r.completed !== undefined) send(c, 'assessment_completed', r.completed, id);
        return;
      }
      case 'submit_answer': {
        const r = await bus.request('assessmentAnswer', { caller, assessment_id: requireAssessment(c), ...frame.data }, opts);
        send(c, 'answer_feedback', r.feedback, id);
        if (r.completed !== undefined) send(c, 'assessment_completed', r.completed, id);
        return;
      }
      case 'get_progress': {
        const r = await bus.request('assessmentProgress', { caller, assessment_id: requireAssessment(c) }, opts);
        send(c, 'progress_update', r, id);
        return;
      }
      case 'end_assessment': {
        const r = await bus.request('assessmentEnd', { caller, assessment_id: requireAssessment(c) }, opts);
        send(c, 'assessment_completed', r, id);
        return;
      }
      case 'chat_message': {
        const roomId = roomOf(c, frame.data.room_id);
        const message = await bus.request('chatPost', { caller, room_id: roomId, message: frame.data.message }, opts);
        if (!c.rooms.has(roomId)) joinRoomSubjects(c, roomId);
        remember(c, message.message_id);
        send(c, 'chat_message', message, id);
        return;
      }
      case 'join_room': {
        const room = await joinRoom(c, caller, frame.data.room_id, opts.requestId);
        send(c, 'room_joined', room, id);
        return;
      }
      case 'leave_room':
        leave(byRoom, frame.data.room_id, c);
        send(c, 'room_left', { room_id: frame.data.room_id }, id);
        return;
      case 'chat_history': {
        const roomId = roomOf(c, frame.data.room_id);
        const page = await bus.request(
          'chatHistory',
          { caller, room_id: roomId, limit: frame.data.limit, ...(frame.data.before === undefined ? {} : { before: frame.data.before }) },
          opts,
        );
        send(c, 'chat_history', { room_id: roomId, ...page }, id);
        return;
      }
      case 'typing': {
        const roomId = roomOf(c, frame.data.room_id);
        if (!c.rooms.has(roomId)) throw new AppError('FORBIDDEN', `join room ${roomId} first`);
        // At most one typing notice per connection every two seconds; the rest are dropped quietly.
        const now = Date.now();
        if (now - c.lastTypingMs < 2000) return;
        c.lastTypingMs = now;
        publish(events.chatTyping.subject(roomId), {
          room_id: roomId,
          user_id: caller.user_id,
          role: caller.role,
          ...(caller.name === undefined ? {} : { name: caller.name }),
        });
        return;
      }
      case 'open_support_room': {
        const room = await bus.request('chatOpenRoom', { caller, ...frame.data }, opts);
        joinRoomSubjects(c, room.room_id);
        send(c, 'room_opened', room, id);
        return;
      }
      case 'watch_assessments': {
        if (caller.role === 'candidate') throw new AppError('FORBIDDEN', 'only staff watch assessments');
        const testId = frame.data.test_id;
        if (testId !== undefined && caller.role !== 'admin' && caller.tests !== undefined && !caller.tests.includes(testId)) {
          throw new AppError('FORBIDDEN', 'not allowed to watch this test');
        }
        // Subscribe before the snapshot, so that no change falls between the two; a repeated
        // watch keeps the subscriptions it still needs instead of dropping and re-creating them.
        const subjects =
          testId !== undefined
            ? [events.liveAssessment.subject(testId)]
            : caller.role === 'admin' || caller.tests === undefined
              ? [events.liveAssessment.wildcard]
              : caller.tests.map((t) => events.liveAssessment.subject(t));
        for (const subject of subjects) {
          if (!c.watches.has(subject)) join(byLive, subject, c, [subject], onLive);
        }
        for (const subject of [...c.watches]) if (!subjects.includes(subject)) leave(byLive, subject, c);
        c.watches = new Set(subjects);
        const snapshot = await bus.request('assessmentLive', { caller, ...(testId === undefined ? {} : { test_id: testId }) }, opts);
        send(c, 'live_assessments', { test_id: testId ?? null, assessments: snapshot.assessments }, id);
        return;
      }
      case 'unwatch_assessments':
        unwatch(c);
        send(c, 'live_assessments', { test_id: null, assessments: [] }, id);
        return;
      case 'integrity_event': {
        const r = await bus.request('assessmentIntegrity', { caller, assessment_id: requireAssessment(c), ...frame.data }, opts);
        send(c, 'integrity_recorded', r, id);
        return;
      }
      case 'pause_assessment':
      case 'resume_assessment':
      case 'terminate_assessment': {
        const command = frame.type === 'pause_assessment' ? 'pause' : frame.type === 'resume_assessment' ? 'resume' : 'terminate';
        const reason = 'reason' in frame.data ? frame.data.reason : '';
        const r = await bus.request('assessmentCommand', { caller, assessment_id: frame.data.assessment_id, command, reason }, opts);
        send(c, 'assessment_status', { ...r, status: r.status as AssessmentStatus }, id);
        return;
      }
      case 'extra_time': {
        const r = await bus.request('assessmentExtraTime', { caller, ...frame.data }, opts);
        send(c, 'assessment_status', { ...r, status: r.status as AssessmentStatus }, id);
        return;
      }
      case 'auth':
        return;
    }
  }

  function scheduleWarnings(c: Connection, assessmentId: string, deadline: Date, running: boolean): void {
    for (const t of c.warningTimers) clearTimeout(t);
    c.warningTimers = [];
    if (!running) return;
    const now = Date.now();
    for (const before of c.warningsS) {
      const at = deadline.getTime() - before * 1000;
      if (at <= now) continue;
      const timer = setTimeout(
        () => {
          const left = Math.max(0, Math.round((deadline.getTime() - Date.now()) / 1000));
          send(c, 'time_warning', { assessment_id: assessmentId, time_remaining_s: left });
        },
        Math.min(at - now, 2 ** 31 - 1),
      );
      timer.unref();
      c.warningTimers.push(timer);
    }
  }

  function requireAssessment(c: Connection): string {
    if (c.assessmentId === undefined)
      throw new AppError('ASSESSMENT_NOT_ACTIVE', 'no assessment on this connection: send start_assessment first');
    return c.assessmentId;
  }

  function roomOf(c: Connection, requested: string | undefined): string {
    if (c.endpoint === 'assessment' && requested === undefined) return assessmentRoomId(requireAssessment(c));
    const room = requested ?? c.queryRoomId;
    if (room === undefined) throw new AppError('VALIDATION_FAILED', 'room_id is required on /ws/chat');
    return room;
  }

  async function joinRoom(c: Connection, caller: Caller, roomId: string, requestId?: string): Promise<Room> {
    // Reading the history checks membership with the chat service.
    await bus.request(
      'chatHistory',
      { caller, room_id: roomId, limit: 1 },
      { timeoutMs: options.requestTimeoutMs, ...(requestId === undefined ? {} : { requestId }) },
    );
    joinRoomSubjects(c, roomId);
    return { room_id: roomId, kind: roomId.startsWith(SUPPORT_ROOM_PREFIX) ? 'support' : 'assessment' };
  }

  /**
   * One pair of subscriptions per room and gateway, to its messages and its typing notices (two
   * exact subjects rather than `chat.v1.events.*.<room>`, which the gateway's NATS permissions,
   * granted per event, do not cover).
   */
  function joinRoomSubjects(c: Connection, roomId: string): void {
    join(byRoom, roomId, c, [events.chatRoom.subject(roomId), events.chatTyping.subject(roomId)], onRoomEvent);
  }

  function unwatch(c: Connection): void {
    for (const subject of [...c.watches]) leave(byLive, subject, c);
    c.watches.clear();
  }

  function announce(c: Connection, assessmentId: string, online: boolean): void {
    publish(events.connection.subject(), {
      gateway_id: deps.gatewayId,
      connection_id: c.id,
      assessment_id: assessmentId,
      online,
      at: new Date().toISOString(),
    });
  }

  function unbindAssessment(c: Connection): void {
    for (const t of c.warningTimers) clearTimeout(t);
    c.warningTimers = [];
    for (const room of [...c.rooms]) leave(byRoom, room, c);
    if (c.assessmentId !== undefined) announce(c, c.assessmentId, false);
    c.assessmentId = undefined;
  }

  function bindAssessment(c: Connection, assessmentId: string): void {
    if (c.assessmentId === assessmentId) return;
    // Another assessment's room goes; support rooms stay.
    for (const room of [...c.rooms]) if (assessmentIdOfRoom(room) !== undefined) leave(byRoom, room, c);
    c.assessmentId = assessmentId;
    joinRoomSubjects(c, assessmentRoomId(assessmentId));
    announce(c, assessmentId, true);
  }

  function join(
    map: Map<string, Shared>,
    key: string,
    c: Connection,
    subjects: readonly string[],
    handler: (key: string, payload: unknown, subject: string) => void,
  ): void {
    let shared = map.get(key);
    if (shared === undefined) {
      const subscribe = (subject: string) =>
        bus.nc.subscribe(subject, {
          callback: (err, msg) => {
            if (err) return;
            let payload: unknown;
            try {
              payload = msg.json();
            } catch {
              log.warn({ subject: msg.subject }, 'event is not JSON: dropped');
              return;
            }
            try {
              handler(key, payload, msg.subject);
            } catch (err) {
              log.error({ err, subject: msg.subject }, 'event delivery failed');
            }
          },
        });
      shared = { subs: subjects.map(subscribe), conns: new Set() };
      map.set(key, shared);
    }
    shared.conns.add(c);
    if (map === byRoom) c.rooms.add(key);
  }

  function leave(map: Map<string, Shared>, key: string, c: Connection): void {
    const shared = map.get(key);
    if (shared === undefined) return;
    shared.conns.delete(c);
    if (map === byRoom) c.rooms.delete(key);
    if (shared.conns.size === 0) {
      for (const sub of shared.subs) sub.unsubscribe();
      map.delete(key);
    }
  }

  function onPush(userId: string, payload: unknown): void {
    const parsed = events.pushToUser.schema.safeParse(payload);
    if (!parsed.success) return;
    const shared = byUser.get(userId);
    if (shared === undefined) return;
    const push = parsed.data;
    const frame = JSON.stringify({ type: push.type, data: push.data, ts: new Date().toISOString() });
    for (const c of [...shared.conns]) {
      if (push.assessment_id !== undefined && c.assessmentId !== push.assessment_id) continue;
      if (push.except_connection === c.id) continue;
      if (c.ws.readyState === c.ws.OPEN) c.ws.send(frame);
      deps.metrics?.frameOut(push.type);
      if (push.type === 'session_replaced') {
        c.log.info({ assessment_id: push.assessment_id }, 'session replaced by a newer connection');
        unbindAssessment(c);
        c.ws.close(CLOSE.SESSION_REPLACED, 'session replaced by a newer connection');
      } else if (push.type === 'time_extended') {
        const deadline = typeof push.data['deadline'] === 'string' ? new Date(push.data['deadline']) : undefined;
        if (deadline !== undefined && c.assessmentId !== undefined) scheduleWarnings(c, c.assessmentId, deadline, true);
      } else if (push.type === 'assessment_paused') {
        scheduleWarnings(c, c.assessmentId ?? '', new Date(0), false);
      } else if (push.type === 'assessment_resumed') {
        const deadline = typeof push.data['deadline'] === 'string' ? new Date(push.data['deadline']) : undefined;
        if (deadline !== undefined && c.assessmentId !== undefined) scheduleWarnings(c, c.assessmentId, deadline, true);
      } else if (push.type === 'assessment_completed') {
        scheduleWarnings(c, c.assessmentId ?? '', new Date(0), false);
      } else if (push.type === 'room_opened' && typeof push.data['room_id'] === 'string') {
        // The chat service pushes this only to a member of the new room.
        joinRoomSubjects(c, push.data['room_id']);
      }
    }
  }

  function onRoomEvent(roomId: string, payload: unknown, subject: string): void {
    const shared = byRoom.get(roomId);
    if (shared === undefined) return;
    if (subject === events.chatTyping.subject(roomId)) {
      const typing = events.chatTyping.schema.safeParse(payload);
      if (!typing.success) return;
      for (const c of shared.conns) if (c.identity?.caller.user_id !== typing.data.user_id) send(c, 'typing', typing.data);
      return;
    }
    const parsed = events.chatRoom.schema.safeParse(payload);
    if (!parsed.success) return;
    for (const c of shared.conns) {
      if (c.delivered.includes(parsed.data.message_id)) continue;
      remember(c, parsed.data.message_id);
      send(c, 'chat_message', parsed.data);
    }
  }

  function onLive(subject: string, payload: unknown): void {
    const parsed = events.liveAssessment.schema.safeParse(payload);
    if (!parsed.success) return;
    const shared = byLive.get(subject);
    if (shared === undefined) return;
    // Serialized once for every watcher.
    const frame = JSON.stringify({ type: 'live_assessment', data: parsed.data, ts: new Date().toISOString() });
    for (const c of shared.conns) {
      if (c.ws.readyState !== c.ws.OPEN) continue;
      c.ws.send(frame);
      deps.metrics?.frameOut('live_assessment');
    }
  }

  function remember(c: Connection, messageId: string): void {
    c.delivered.push(messageId);
    if (c.delivered.length > 32) c.delivered.shift();
  }

  function release(c: Connection): void {
    if (!connections.delete(c)) return;
    clearTimeout(c.authTimer);
    clearTimeout(c.expiryTimer);
    for (const t of c.warningTimers) clearTimeout(t);
    for (const room of [...c.rooms]) leave(byRoom, room, c);
    unwatch(c);
    if (c.assessmentId !== undefined) announce(c, c.assessmentId, false);
    if (c.identity !== undefined) {
      leave(byUser, c.identity.caller.user_id, c);
      users.removeSocket(c.identity.caller.user_id);
    }
  }

  async function close(): Promise<void> {
    clearInterval(pinger);
    clearInterval(idleSweep);
    clearInterval(presence);
    // Take no new frames, let the ones in flight get their replies, then close with 1001.
    shuttingDown = true;
    await Promise.race([Promise.allSettled([...inflight]), new Promise((r) => setTimeout(r, 5000).unref())]);
    const closing = [...connections].map(
      (c) =>
        new Promise<void>((resolve) => {
          c.ws.once('close', () => resolve());
          c.ws.close(CLOSE.GOING_AWAY, 'server shutting down');
          setTimeout(() => {
            c.ws.terminate();
            resolve();
          }, 2000).unref();
        }),
    );
    await Promise.all(closing);
  }

  return { accept, count: () => connections.size, close };
}

function bearer(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (h === undefined) return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(h);
  return m?.[1];
}

function rawToString(raw: Buffer | ArrayBuffer | Buffer[]): string {
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  if (raw instanceof ArrayBuffer) return Buffer.from(raw).toString('utf8');
  return raw.toString('utf8');
}
