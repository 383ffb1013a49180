import type { Bus, RequestOptions } from '@ap/bus';
import { AppError, assessmentRoomId, completedSchema, events, isAppError, staffMaySee } from '@ap/protocol';
import type { Caller, ClientFrameDataOf, ClientFrameType, EventInputOf, EventKeyOf, EventName, Room } from '@ap/protocol';
import type { Connection } from './connection.ts';

/** What routes use of the hub: the bus, and the subscriptions it keeps per connection. */
export type RouteHub = {
  bus: Bus;
  /** Publishes an event; a closed or draining bus makes it a warning, never an exception. */
  publish<E extends EventName>(name: E, key: EventKeyOf<E>, payload: EventInputOf<E>): void;
  /** Binds the connection to an assessment: its room, its presence, its pushes. */
  bindAssessment(c: Connection, assessmentId: string): void;
  /** Joins a room after the chat service has checked membership. */
  joinRoom(c: Connection, caller: Caller, roomId: string, requestId?: string): Promise<Room>;
  /** Joins a room's subjects (membership already known). */
  enterRoom(c: Connection, roomId: string): void;
  leaveRoom(c: Connection, roomId: string): void;
  inRoom(c: Connection, roomId: string): boolean;
  /** Watches exactly these live-feed subjects (keeps those still wanted, drops the others). */
  watch(c: Connection, subjects: readonly string[]): void;
  unwatch(c: Connection): void;
};

/** One frame being handled. */
export type RouteContext = {
  hub: RouteHub;
  c: Connection;
  caller: Caller;
  /** The frame's id: replies carry it as `reply_to`. */
  id: string | undefined;
  /** Options of the bus requests made for this frame (timeout, request id). */
  opts: RequestOptions;
};

/**
 * How the gateway handles one client frame type. `local` frames are answered by the gateway
 * itself: they never wait for a service and do not count as requests in flight.
 */
export type Route<T extends ClientFrameType> = {
  local?: true;
  handle(ctx: RouteContext, data: ClientFrameDataOf<T>): Promise<void> | void;
};

/** Every client frame type has a route: a type without one does not compile. */
export type RouteTable = { [T in ClientFrameType]: Route<T> };

/** A typing notice per connection at most this often; the others are dropped quietly. */
const TYPING_EVERY_MS = 2000;

function roomOf(c: Connection, requested: string | undefined): string {
  if (c.endpoint === 'assessment' && requested === undefined) return assessmentRoomId(c.requireAssessment());
  const room = requested ?? c.query.roomId;
  if (room === undefined) throw new AppError('VALIDATION_FAILED', 'room_id is required on /ws/chat');
  return room;
}

/** The test a frame means: its `test_id`, else the connection's `test_id` query, else the token's only test. */
function testOf(c: Connection, caller: Caller, given: string | undefined): string {
  const testId = given ?? c.query.testId ?? (caller.tests?.length === 1 ? caller.tests[0] : undefined);
  if (testId === undefined) throw new AppError('VALIDATION_FAILED', 'test_id is required (in data or the test_id query)');
  return testId;
}

/** The live-feed subjects a staff member may watch: one test, or every test they may see. */
function watchSubjects(caller: Caller, testId: string | undefined): string[] {
  if (caller.role === 'candidate') throw new AppError('FORBIDDEN', 'only staff watch assessments');
  if (testId !== undefined) {
    if (!staffMaySee(caller, testId)) throw new AppError('FORBIDDEN', 'not allowed to watch this test');
    return [events.liveAssessment.subject(testId)];
  }
  if (caller.role === 'admin' || caller.tests === undefined) return [events.liveAssessment.wildcard];
  return caller.tests.map((t) => events.liveAssessment.subject(t));
}

async function staffCommand(
  { hub, c, caller, id, opts }: RouteContext,
  assessmentId: string,
  command: 'pause' | 'resume' | 'terminate',
  reason: string,
): Promise<void> {
  const r = await hub.bus.request('assessmentCommand', { caller, assessment_id: assessmentId, command, reason }, opts);
  c.send('assessment_status', r, id);
}

export const routes: RouteTable = {
  auth: {
    // Handled before routing (authentication is what makes a caller); listed so that the table is whole.
    local: true,
    handle: () => undefined,
  },
  heartbeat: {
    local: true,
    handle: ({ c, id }) => c.send('heartbeat_ack', { server_time: new Date().toISOString() }, id),
  },
  get_test_info: {
    async handle({ hub, c, caller, id, opts }, data) {
      c.send('test_info', await hub.bus.request('testInfo', { caller, test_id: testOf(c, caller, data.test_id) }, opts), id);
    },
  },
  start_assessment: {
    async handle({ hub, c, caller, id, opts }, data) {
      const testId = testOf(c, caller, data.test_id);
      let started;
      try {
        started = await hub.bus.request('assessmentStart', { caller, test_id: testId }, opts);
      } catch (err) {
        // Already finished (for example by the deadline while offline): show the outcome.
        const done =
          isAppError(err) && err.code === 'ASSESSMENT_NOT_ACTIVE' ? completedSchema.safeParse(err.details?.['completed']) : undefined;
        if (done?.success !== true) throw err;
        c.send('assessment_completed', done.data, id);
        return;
      }
      if ('start_approval' in started) {
        // The test requires a proctor's approval: nothing started; the candidate is told when it comes.
        c.send('start_approval', started.start_approval, id);
        return;
      }
      hub.bindAssessment(c, started.assessment_id);
      // One live connection per assessment: older ones, on any gateway, are told and closed.
      hub.publish('pushToUser', caller.user_id, {
        type: 'session_replaced',
        data: { assessment_id: started.assessment_id },
        assessment_id: started.assessment_id,
        except_connection: c.id,
      });
      c.send('assessment_started', started, id);
    },
  },
  get_question: {
    async handle({ hub, c, caller, id, opts }) {
      const r = await hub.bus.request('assessmentQuestion', { caller, assessment_id: c.requireAssessment() }, opts);
      if (r.question !== null) c.send('question', r.question, id);
      else if (r.completed !== undefined) c.send('assessment_completed', r.completed, id);
    },
  },
  submit_answer: {
    async handle({ hub, c, caller, id, opts }, data) {
      const r = await hub.bus.request('assessmentAnswer', { caller, assessment_id: c.requireAssessment(), ...data }, opts);
      c.send('answer_feedback', r.feedback, id);
      if (r.completed !== undefined) c.send('assessment_completed', r.completed, id);
    },
  },
  get_progress: {
    async handle({ hub, c, caller, id, opts }) {
      c.send('progress_update', await hub.bus.request('assessmentProgress', { caller, assessment_id: c.requireAssessment() }, opts), id);
    },
  },
  end_assessment: {
    async handle({ hub, c, caller, id, opts }) {
      c.send('assessment_completed', await hub.bus.request('assessmentEnd', { caller, assessment_id: c.requireAssessment() }, opts), id);
    },
  },
  integrity_event: {
    async handle({ hub, c, caller, id, opts }, data) {
      const r = await hub.bus.request('assessmentIntegrity', { caller, assessment_id: c.requireAssessment(), ...data }, opts);
      c.send('integrity_recorded', r, id);
    },
  },
  chat_message: {
    async handle({ hub, c, caller, id, opts }, data) {
      const roomId = roomOf(c, data.room_id);
      const message = await hub.bus.request('chatPost', { caller, room_id: roomId, message: data.message }, opts);
      if (!hub.inRoom(c, roomId)) hub.enterRoom(c, roomId);
      c.deliver(message.message_id);
      c.send('chat_message', message, id);
    },
  },
  join_room: {
    async handle({ hub, c, caller, id, opts }, data) {
      c.send('room_joined', await hub.joinRoom(c, caller, data.room_id, opts.requestId), id);
    },
  },
  leave_room: {
    local: true,
    handle({ hub, c, id }, data) {
      hub.leaveRoom(c, data.room_id);
      c.send('room_left', { room_id: data.room_id }, id);
    },
  },
  chat_history: {
    async handle({ hub, c, caller, id, opts }, data) {
      const roomId = roomOf(c, data.room_id);
      const page = await hub.bus.request(
        'chatHistory',
        { caller, room_id: roomId, limit: data.limit, ...(data.before === undefined ? {} : { before: data.before }) },
        opts,
      );
      c.send('chat_history', { room_id: roomId, ...page }, id);
    },
  },
  typing: {
    local: true,
    handle({ hub, c, caller }, data) {
      const roomId = roomOf(c, data.room_id);
      if (!hub.inRoom(c, roomId)) throw new AppError('FORBIDDEN', `join room ${roomId} first`);
      const now = Date.now();
      if (now - c.lastTypingMs < TYPING_EVERY_MS) return;
      c.lastTypingMs = now;
      hub.publish('chatTyping', roomId, {
        room_id: roomId,
        user_id: caller.user_id,
        role: caller.role,
        ...(caller.name === undefined ? {} : { name: caller.name }),
      });
    },
  },
  open_support_room: {
    async handle({ hub, c, caller, id, opts }, data) {
      const room = await hub.bus.request('chatOpenRoom', { caller, ...data }, opts);
      hub.enterRoom(c, room.room_id);
      c.send('room_opened', room, id);
    },
  },
  watch_assessments: {
    async handle({ hub, c, caller, id, opts }, data) {
      // Subscribe before the snapshot, so that no change falls between the two.
      hub.watch(c, watchSubjects(caller, data.test_id));
      const snapshot = await hub.bus.request(
        'assessmentLive',
        { caller, ...(data.test_id === undefined ? {} : { test_id: data.test_id }) },
        opts,
      );
      c.send('live_assessments', { test_id: data.test_id ?? null, ...snapshot }, id);
    },
  },
  unwatch_assessments: {
    local: true,
    handle({ hub, c, id }) {
      hub.unwatch(c);
      c.send('live_assessments', { test_id: null, assessments: [], start_requests: [] }, id);
    },
  },
  pause_assessment: { handle: (ctx, data) => staffCommand(ctx, data.assessment_id, 'pause', data.reason) },
  resume_assessment: { handle: (ctx, data) => staffCommand(ctx, data.assessment_id, 'resume', '') },
  terminate_assessment: { handle: (ctx, data) => staffCommand(ctx, data.assessment_id, 'terminate', data.reason) },
  approve_start: {
    async handle({ hub, c, caller, id, opts }, data) {
      c.send('start_approval', await hub.bus.request('assessmentApproveStart', { caller, ...data }, opts), id);
    },
  },
  extra_time: {
    async handle({ hub, c, caller, id, opts }, data) {
      c.send('assessment_status', await hub.bus.request('assessmentExtraTime', { caller, ...data }, opts), id);
    },
  },
};

/** Frame types answered by the gateway itself. */
export const LOCAL_FRAMES: ReadonlySet<ClientFrameType> = new Set(
  (Object.keys(routes) as ClientFrameType[]).filter((t) => routes[t].local === true),
);
