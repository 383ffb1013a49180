import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WebSocket } from 'ws';
import { connectBus } from '@ap/bus';
import type { Bus } from '@ap/bus';
import { createLogger } from '@ap/logging';
import { AppError, events, isAppError } from '@ap/protocol';
import type { Caller, ClientFrameDataOf, ClientFrameType, EndpointName, EventName, ResponseOf, Room } from '@ap/protocol';
import { startNats } from '@ap/stack';
import type { NatsServer } from '@ap/stack';
import { Connection } from './connection.ts';
import type { Endpoint } from './connection.ts';
import type { FrameLimits } from './limits.ts';
import { LOCAL_FRAMES, routes } from './routes.ts';
import type { RouteHub } from './routes.ts';

// Each route is called as the hub calls it, with a Connection over a socket that records what it
// is sent. Bus requests go through a real nats-server to endpoints that record what they were
// asked and answer with valid replies; the hub's own bookkeeping (rooms, watches, bindings) is
// recorded by the RouteHub given to the routes.

const log = createLogger({ service: 'routes-table-test', level: 'silent' });
const iso = '2026-11-25T10:00:00.000Z';
const limits: FrameLimits = {
  socketPerSecond: 100,
  socketBurst: 100,
  userPerSecond: 100,
  userBurst: 100,
  maxInflightPerUser: 8,
  maxQueuedPerStaff: 8,
  maxSocketsPerUser: 4,
};

type Sent = { type: string; data: Record<string, unknown>; reply_to?: string };
type HubCall = [string, ...unknown[]];

const summary = {
  test_id: 't1',
  title: 'T',
  strategy: 'fixed' as const,
  time_limit_s: 600,
  planned_items: { min: 3, max: 3 },
  skills: [],
  show_feedback: false,
  time_warnings_s: [60],
  on_expiry: 'autosubmit' as const,
  grace_s: 0,
};
const question = {
  assessment_id: 'a1',
  question_id: 'q1',
  index: 0,
  type: 'single_choice' as const,
  stem: 'Which?',
  options: [{ id: 'A', text: 'a' }],
  skill: 's',
  time_remaining_s: 590,
};
const completed = { assessment_id: 'a1', status: 'completed' as const, reason: 'all_answered' as const, finished_at: iso };
const approval = {
  test_id: 't1',
  candidate_id: 'c1',
  candidate_name: 'Ada',
  status: 'approved' as const,
  requested_at: iso,
  approved_at: iso,
  approved_by: 'p1',
};
const status = { assessment_id: 'a1', status: 'paused' as const, deadline: iso, time_remaining_s: 60 };
const room: Room = { room_id: 'sup_1', kind: 'support', members: ['c1', 'r1'] };
const message = { message_id: 'm1', room_id: 'asm_a1', sender_id: 'c1', sender_role: 'candidate' as const, text: 'hi', created_at: iso };
const started: ResponseOf<'assessmentStart'> = {
  assessment_id: 'a1',
  test: summary,
  started_at: iso,
  deadline: iso,
  resumed: false,
  answered: 0,
  time_remaining_s: 600,
  status: 'in_progress',
  current_question_id: null,
  current_question: null,
  answered_question_ids: [],
};

/** What the stand-in services answer next, by endpoint (a function may throw). */
const replies: { [E in EndpointName]?: () => ResponseOf<E> } = {};
/** What they were asked: endpoint and request without the caller. */
const asked: { name: EndpointName; request: Record<string, unknown>; caller: Caller }[] = [];

function serveAll(bus: Bus): void {
  const names: EndpointName[] = [
    'testInfo',
    'assessmentStart',
    'assessmentQuestion',
    'assessmentAnswer',
    'assessmentProgress',
    'assessmentEnd',
    'assessmentIntegrity',
    'chatPost',
    'chatHistory',
    'chatOpenRoom',
    'assessmentLive',
    'assessmentCommand',
    'assessmentApproveStart',
    'assessmentExtraTime',
  ];
  for (const name of names) {
    bus.serve(name, 'stand-in', (req: Record<string, unknown>) => {
      const { caller, ...request } = req as { caller: Caller };
      asked.push({ name, request, caller });
      const reply = replies[name];
      if (reply === undefined) throw new AppError('INTERNAL', `no reply for ${name}`);
      return reply();
    });
  }
}

/** A socket that records the frames sent on it. */
function socket(sent: Sent[]): WebSocket {
  return {
    OPEN: 1,
    readyState: 1,
    send: (text: string) => sent.push(JSON.parse(text) as Sent),
  } as unknown as WebSocket;
}

describe('route table', () => {
  let nats: NatsServer;
  let gatewayBus: Bus;
  let serviceBus: Bus;

  before(async () => {
    nats = await startNats();
    gatewayBus = await connectBus({ servers: nats.url, name: 'gateway', log });
    serviceBus = await connectBus({ servers: nats.url, name: 'services', log });
    serveAll(serviceBus);
    await serviceBus.nc.flush();
  });

  after(async () => {
    await gatewayBus.close();
    await serviceBus.close();
    await nats.close();
  });

  type Setup = {
    caller?: Caller;
    endpoint?: Endpoint;
    query?: { testId?: string; roomId?: string };
    assessmentId?: string;
    rooms?: string[];
  };

  /** Runs one frame through its route; returns what was sent, asked and done to the hub. */
  async function run<T extends ClientFrameType>(
    type: T,
    data: ClientFrameDataOf<T>,
    setup: Setup = {},
  ): Promise<{ sent: Sent[]; asked: typeof asked; hub: HubCall[]; c: Connection }> {
    const sent: Sent[] = [];
    const calls: HubCall[] = [];
    const rooms = new Set(setup.rooms ?? []);
    const c = new Connection(
      socket(sent),
      setup.endpoint ?? 'assessment',
      { testId: setup.query?.testId, roomId: setup.query?.roomId },
      log,
      { limits, maxBadFramesPerMinute: 10 },
    );
    c.assessmentId = setup.assessmentId;
    const hub: RouteHub = {
      bus: gatewayBus,
      publish: (name: EventName, key: unknown, payload: unknown) => calls.push(['publish', name, key, payload]),
      bindAssessment: (_c, id) => {
        calls.push(['bindAssessment', id]);
      },
      joinRoom: (_c, who, roomId, requestId) => {
        calls.push(['joinRoom', who.user_id, roomId, requestId]);
        return Promise.resolve({ room_id: roomId, kind: 'assessment' });
      },
      enterRoom: (_c, roomId) => {
        calls.push(['enterRoom', roomId]);
        rooms.add(roomId);
      },
      leaveRoom: (_c, roomId) => {
        calls.push(['leaveRoom', roomId]);
      },
      inRoom: (_c, roomId) => rooms.has(roomId),
      watch: (_c, subjects) => {
        calls.push(['watch', [...subjects]]);
      },
      unwatch: () => {
        calls.push(['unwatch']);
      },
    };
    const caller = setup.caller ?? { user_id: 'c1', role: 'candidate', tests: ['t1'] };
    const from = asked.length;
    await routes[type].handle({ hub, c, caller, id: 'r1', opts: { requestId: 'req-1', timeoutMs: 2000 } }, data);
    return { sent, asked: asked.slice(from), hub: calls, c };
  }

  async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
    try {
      await p;
    } catch (err) {
      assert.ok(isAppError(err), String(err));
      return { code: err.code, message: err.message };
    }
    assert.fail('the frame was accepted');
  }

  const frames = (r: { sent: Sent[] }) => r.sent.map((f) => [f.type, f.reply_to]);
  const staff: Caller = { user_id: 'p1', role: 'proctor', tests: ['t1', 't2'] };

  test('local frames are those the gateway answers itself', () => {
    assert.deepEqual([...LOCAL_FRAMES].sort(), ['auth', 'heartbeat', 'leave_room', 'typing', 'unwatch_assessments']);
    for (const type of Object.keys(routes) as ClientFrameType[]) assert.equal(LOCAL_FRAMES.has(type), routes[type].local === true, type);
  });

  test('auth is handled before routing; a heartbeat is acknowledged with the server time', async () => {
    const auth = await run('auth', { token: 't' });
    assert.deepEqual([auth.sent, auth.asked, auth.hub], [[], [], []]);
    const before = Date.now();
    const beat = await run('heartbeat', {});
    assert.deepEqual(frames(beat), [['heartbeat_ack', 'r1']]);
    const at = Date.parse(String(beat.sent[0]?.data['server_time']));
    assert.ok(at >= before - 1000 && at <= Date.now() + 1000);
    assert.deepEqual(beat.asked, []);
  });

  test('frames about the bound assessment ask its endpoint and reply with their frame', async () => {
    replies.assessmentProgress = () => ({
      assessment_id: 'a1',
      status: 'in_progress',
      answered: 1,
      planned: 3,
      planned_range: { min: 3, max: 3 },
      percent: 33,
      time_remaining_s: 60,
      skills: [],
    });
    replies.assessmentEnd = () => completed;
    replies.assessmentIntegrity = () => ({ assessment_id: 'a1', kind: 'paste', incidents: 1 });
    replies.assessmentQuestion = () => ({ question });
    replies.assessmentAnswer = () => ({
      feedback: { assessment_id: 'a1', question_id: 'q1', accepted: true, selected_option: 'A', answered: 1, finished: false },
    });
    const table: [ClientFrameType, Record<string, unknown>, EndpointName, Record<string, unknown>, string[]][] = [
      ['get_question', {}, 'assessmentQuestion', { assessment_id: 'a1' }, ['question']],
      [
        'submit_answer',
        { question_id: 'q1', selected_option: 'A' },
        'assessmentAnswer',
        { assessment_id: 'a1', question_id: 'q1', selected_option: 'A' },
        ['answer_feedback'],
      ],
      ['get_progress', {}, 'assessmentProgress', { assessment_id: 'a1' }, ['progress_update']],
      ['end_assessment', {}, 'assessmentEnd', { assessment_id: 'a1' }, ['assessment_completed']],
      [
        'integrity_event',
        { kind: 'paste', at: iso },
        'assessmentIntegrity',
        { assessment_id: 'a1', kind: 'paste', at: iso },
        ['integrity_recorded'],
      ],
    ];
    for (const [type, data, name, request, replyTypes] of table) {
      const r = await run(type, data as never, { assessmentId: 'a1' });
      assert.deepEqual(
        r.asked.map((a) => [a.name, a.request, a.caller.user_id]),
        [[name, request, 'c1']],
        type,
      );
      assert.deepEqual(
        frames(r),
        replyTypes.map((t) => [t, 'r1']),
        type,
      );
      // Without a bound assessment nothing is asked.
      assert.deepEqual(await refusal(run(type, data as never)), {
        code: 'ASSESSMENT_NOT_ACTIVE',
        message: 'no assessment on this connection: send start_assessment first',
      });
    }
  });

  test('a question or an answer that ends the assessment also sends its completion', async () => {
    replies.assessmentQuestion = () => ({ question: null, completed });
    const q = await run('get_question', {}, { assessmentId: 'a1' });
    assert.deepEqual(frames(q), [['assessment_completed', 'r1']]);
    assert.deepEqual(q.sent[0]?.data, completed);
    replies.assessmentQuestion = () => ({ question: null });
    assert.deepEqual((await run('get_question', {}, { assessmentId: 'a1' })).sent, []);
    replies.assessmentAnswer = () => ({
      feedback: { assessment_id: 'a1', question_id: 'q1', accepted: true, selected_option: 'A', answered: 3, finished: true },
      completed,
    });
    const a = await run('submit_answer', { question_id: 'q1', selected_option: 'A' }, { assessmentId: 'a1' });
    assert.deepEqual(frames(a), [
      ['answer_feedback', 'r1'],
      ['assessment_completed', 'r1'],
    ]);
    assert.equal(a.sent[0]?.data['finished'], true);
  });

  test('the test of a frame: its test_id, else the URL query, else the token’s only test', async () => {
    replies.testInfo = () => ({
      test: summary,
      description: '',
      proctored: false,
      start_requires_approval: false,
      start_approval: null,
      practice: null,
      attempt: null,
    });
    const testIds = async (data: { test_id?: string }, setup: Setup) =>
      (await run('get_test_info', data, setup)).asked.map((a) => a.request['test_id']);
    const two: Caller = { user_id: 'c1', role: 'candidate', tests: ['t1', 't2'] };
    assert.deepEqual(await testIds({ test_id: 'given' }, { query: { testId: 'q' } }), ['given']);
    assert.deepEqual(await testIds({}, { query: { testId: 'q' }, caller: two }), ['q']);
    assert.deepEqual(await testIds({}, {}), ['t1']);
    const r = await run('get_test_info', {}, {});
    assert.deepEqual(frames(r), [['test_info', 'r1']]);
    for (const caller of [two, { user_id: 'c1', role: 'candidate' as const }, { user_id: 'c1', role: 'candidate' as const, tests: [] }])
      assert.deepEqual(await refusal(run('get_test_info', {}, { caller })), {
        code: 'VALIDATION_FAILED',
        message: 'test_id is required (in data or the test_id query)',
      });
    assert.equal((await refusal(run('start_assessment', {}, { caller: two }))).code, 'VALIDATION_FAILED');
  });

  test('a start binds the assessment, replaces older sessions and replies with it', async () => {
    replies.assessmentStart = () => started;
    const r = await run('start_assessment', { test_id: 't1' });
    assert.deepEqual(
      r.asked.map((a) => [a.name, a.request]),
      [['assessmentStart', { test_id: 't1' }]],
    );
    assert.deepEqual(r.hub, [
      ['bindAssessment', 'a1'],
      [
        'publish',
        'pushToUser',
        'c1',
        { type: 'session_replaced', data: { assessment_id: 'a1' }, assessment_id: 'a1', except_connection: r.c.id },
      ],
    ]);
    assert.deepEqual(frames(r), [['assessment_started', 'r1']]);
    assert.equal(r.sent[0]?.data['assessment_id'], 'a1');
  });

  test('a start that waits for approval binds nothing and replies with the request', async () => {
    replies.assessmentStart = () => ({ start_approval: { ...approval, status: 'waiting', approved_at: null, approved_by: null } });
    const r = await run('start_assessment', { test_id: 't1' });
    assert.deepEqual(r.hub, []);
    assert.deepEqual(frames(r), [['start_approval', 'r1']]);
    assert.equal(r.sent[0]?.data['status'], 'waiting');
  });

  test('a start of a finished assessment shows its outcome; other refusals pass through', async () => {
    replies.assessmentStart = () => {
      throw new AppError('ASSESSMENT_NOT_ACTIVE', 'finished', { details: { completed } });
    };
    const done = await run('start_assessment', { test_id: 't1' });
    assert.deepEqual(frames(done), [['assessment_completed', 'r1']]);
    assert.deepEqual(done.sent[0]?.data, completed);
    assert.deepEqual(done.hub, []);
    replies.assessmentStart = () => {
      throw new AppError('ASSESSMENT_NOT_ACTIVE', 'finished', { details: { completed: { assessment_id: 'a1' } } });
    };
    assert.deepEqual(await refusal(run('start_assessment', { test_id: 't1' })), { code: 'ASSESSMENT_NOT_ACTIVE', message: 'finished' });
    replies.assessmentStart = () => {
      throw new AppError('ASSESSMENT_NOT_ACTIVE', 'not yet');
    };
    assert.equal((await refusal(run('start_assessment', { test_id: 't1' }))).message, 'not yet');
    replies.assessmentStart = () => {
      throw new AppError('NOT_FOUND', 'no such test', { details: { completed } });
    };
    assert.deepEqual(await refusal(run('start_assessment', { test_id: 't1' })), { code: 'NOT_FOUND', message: 'no such test' });
  });

  test('a chat message goes to the assessment room on /ws/assessment, entering it once', async () => {
    replies.chatPost = () => message;
    const r = await run('chat_message', { message: 'hi' }, { assessmentId: 'a1' });
    assert.deepEqual(
      r.asked.map((a) => [a.name, a.request]),
      [['chatPost', { room_id: 'asm_a1', message: 'hi' }]],
    );
    assert.deepEqual(r.hub, [['enterRoom', 'asm_a1']]);
    assert.deepEqual(frames(r), [['chat_message', 'r1']]);
    // The message the room will echo is known as delivered.
    assert.equal(r.c.deliver('m1'), false);
    const again = await run('chat_message', { message: 'hi' }, { assessmentId: 'a1', rooms: ['asm_a1'] });
    assert.deepEqual(again.hub, []);
    const named = await run('chat_message', { message: 'hi', room_id: 'sup_1' }, { assessmentId: 'a1' });
    assert.equal(named.asked[0]?.request['room_id'], 'sup_1');
  });

  test('on /ws/chat the room is the frame’s or the URL’s, and one is required', async () => {
    replies.chatPost = () => message;
    const fromQuery = await run('chat_message', { message: 'hi' }, { endpoint: 'chat', query: { roomId: 'sup_9' } });
    assert.equal(fromQuery.asked[0]?.request['room_id'], 'sup_9');
    const given = await run('chat_message', { message: 'hi', room_id: 'sup_2' }, { endpoint: 'chat', query: { roomId: 'sup_9' } });
    assert.equal(given.asked[0]?.request['room_id'], 'sup_2');
    assert.deepEqual(await refusal(run('chat_message', { message: 'hi' }, { endpoint: 'chat', assessmentId: 'a1' })), {
      code: 'VALIDATION_FAILED',
      message: 'room_id is required on /ws/chat',
    });
    // On /ws/assessment without a bound assessment there is no room either.
    assert.equal((await refusal(run('chat_message', { message: 'hi' }))).code, 'ASSESSMENT_NOT_ACTIVE');
  });

  test('chat history passes the cursor only when given and names the room in its reply', async () => {
    replies.chatHistory = () => ({ messages: [message], next_cursor: null });
    const first = await run('chat_history', { limit: 20 }, { assessmentId: 'a1' });
    assert.deepEqual(
      first.asked.map((a) => [a.name, a.request]),
      [['chatHistory', { room_id: 'asm_a1', limit: 20 }]],
    );
    assert.deepEqual(first.sent[0], {
      type: 'chat_history',
      data: { room_id: 'asm_a1', messages: [message], next_cursor: null },
      reply_to: 'r1',
      ts: first.sent[0]?.['ts' as keyof Sent],
    });
    const next = await run('chat_history', { room_id: 'r9', before: 'm5', limit: 50 }, { assessmentId: 'a1' });
    assert.deepEqual(next.asked[0]?.request, { room_id: 'r9', before: 'm5', limit: 50 });
  });

  test('join and leave go through the hub', async () => {
    const join = await run('join_room', { room_id: 'sup_1' }, { caller: staff });
    assert.deepEqual(join.hub, [['joinRoom', 'p1', 'sup_1', 'req-1']]);
    assert.deepEqual(frames(join), [['room_joined', 'r1']]);
    const leave = await run('leave_room', { room_id: 'sup_1' });
    assert.deepEqual(leave.hub, [['leaveRoom', 'sup_1']]);
    assert.deepEqual(
      leave.sent.map((f) => [f.type, f.data, f.reply_to]),
      [['room_left', { room_id: 'sup_1' }, 'r1']],
    );
  });

  test('typing needs the room joined, carries the name when known and is sent at most every 2 s', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
    assert.deepEqual(await refusal(run('typing', { room_id: 'sup_1' })), { code: 'FORBIDDEN', message: 'join room sup_1 first' });
    const named: Caller = { user_id: 'c1', role: 'candidate', name: 'Ada' };
    const r = await run('typing', {}, { assessmentId: 'a1', rooms: ['asm_a1'], caller: named });
    assert.deepEqual(r.hub, [['publish', 'chatTyping', 'asm_a1', { room_id: 'asm_a1', user_id: 'c1', role: 'candidate', name: 'Ada' }]]);
    assert.equal(r.c.lastTypingMs, 1_000_000);
    assert.deepEqual(r.sent, []);
    const anonymous = await run('typing', { room_id: 'sup_1' }, { rooms: ['sup_1'], caller: staff });
    assert.deepEqual(anonymous.hub, [['publish', 'chatTyping', 'sup_1', { room_id: 'sup_1', user_id: 'p1', role: 'proctor' }]]);

    // The same connection: a second notice within 2 s is dropped, one 2 s later is sent.
    const sent: Sent[] = [];
    const calls: HubCall[] = [];
    const c = new Connection(socket(sent), 'chat', { testId: undefined, roomId: 'sup_1' }, log, { limits, maxBadFramesPerMinute: 10 });
    const hub = {
      bus: gatewayBus,
      publish: (name: string) => calls.push(['publish', name]),
      inRoom: () => true,
    } as unknown as RouteHub;
    const typing = () => routes.typing.handle({ hub, c, caller: staff, id: undefined, opts: {} }, {});
    await typing();
    t.mock.timers.tick(1999);
    await typing();
    assert.equal(calls.length, 1);
    t.mock.timers.tick(1);
    await typing();
    assert.equal(calls.length, 2);
    assert.equal(c.lastTypingMs, 1_002_000);
  });

  test('a support room is opened by the chat service and entered', async () => {
    replies.chatOpenRoom = () => room;
    const r = await run('open_support_room', { candidate_id: 'c1', topic: 'results' }, { caller: { user_id: 'r1', role: 'recruiter' } });
    assert.deepEqual(
      r.asked.map((a) => [a.name, a.request]),
      [['chatOpenRoom', { candidate_id: 'c1', topic: 'results' }]],
    );
    assert.deepEqual(r.hub, [['enterRoom', 'sup_1']]);
    assert.deepEqual(frames(r), [['room_opened', 'r1']]);
  });

  test('watching: one test, all of a proctor’s tests, or everything for admins and unrestricted staff', async () => {
    replies.assessmentLive = () => ({ assessments: [], start_requests: [approval] });
    const one = await run('watch_assessments', { test_id: 't2' }, { caller: staff });
    assert.deepEqual(one.hub, [['watch', [events.liveAssessment.subject('t2')]]]);
    assert.deepEqual(
      one.asked.map((a) => [a.name, a.request]),
      [['assessmentLive', { test_id: 't2', limit: 500 }]],
    );
    assert.deepEqual(one.sent[0]?.data, { test_id: 't2', assessments: [], start_requests: [approval] });
    const mine = await run('watch_assessments', {}, { caller: staff });
    assert.deepEqual(mine.hub, [['watch', ['assessment.v1.live.t1', 'assessment.v1.live.t2']]]);
    assert.deepEqual(mine.asked[0]?.request, { limit: 500 });
    assert.equal(mine.sent[0]?.data['test_id'], null);
    const admin = await run('watch_assessments', {}, { caller: { user_id: 'a', role: 'admin', tests: ['t1'] } });
    assert.deepEqual(admin.hub, [['watch', ['assessment.v1.live.*']]]);
    const unrestricted = await run('watch_assessments', {}, { caller: { user_id: 'r', role: 'recruiter' } });
    assert.deepEqual(unrestricted.hub, [['watch', ['assessment.v1.live.*']]]);
    assert.deepEqual(await refusal(run('watch_assessments', {}, {})), { code: 'FORBIDDEN', message: 'only staff watch assessments' });
    assert.deepEqual(await refusal(run('watch_assessments', { test_id: 't3' }, { caller: staff })), {
      code: 'FORBIDDEN',
      message: 'not allowed to watch this test',
    });
    const unwatch = await run('unwatch_assessments', {});
    assert.deepEqual(unwatch.hub, [['unwatch']]);
    assert.deepEqual(
      unwatch.sent.map((f) => [f.type, f.data]),
      [['live_assessments', { test_id: null, assessments: [], start_requests: [] }]],
    );
  });

  test('staff commands become assessment commands with their reason', async () => {
    replies.assessmentCommand = () => status;
    const table: [ClientFrameType, Record<string, unknown>, Record<string, unknown>][] = [
      ['pause_assessment', { assessment_id: 'a1', reason: 'noise' }, { assessment_id: 'a1', command: 'pause', reason: 'noise' }],
      ['resume_assessment', { assessment_id: 'a1' }, { assessment_id: 'a1', command: 'resume', reason: '' }],
      ['terminate_assessment', { assessment_id: 'a1', reason: 'phone' }, { assessment_id: 'a1', command: 'terminate', reason: 'phone' }],
    ];
    for (const [type, data, request] of table) {
      const r = await run(type, data as never, { caller: staff });
      assert.deepEqual(
        r.asked.map((a) => [a.name, a.request, a.caller.user_id]),
        [['assessmentCommand', request, 'p1']],
        type,
      );
      assert.deepEqual(
        r.sent.map((f) => [f.type, f.data, f.reply_to]),
        [['assessment_status', status, 'r1']],
        type,
      );
    }
    // The service checks the role: a candidate's command is refused there.
    assert.equal((await refusal(run('pause_assessment', { assessment_id: 'a1', reason: '' }))).code, 'FORBIDDEN');
  });

  test('approvals and extra time are passed to the assessment service as given', async () => {
    replies.assessmentApproveStart = () => approval;
    replies.assessmentExtraTime = () => ({ ...status, status: 'in_progress' });
    const approve = await run('approve_start', { candidate_id: 'c1', test_id: 't1' }, { caller: staff });
    assert.deepEqual(
      approve.asked.map((a) => [a.name, a.request]),
      [['assessmentApproveStart', { candidate_id: 'c1', test_id: 't1' }]],
    );
    assert.deepEqual(frames(approve), [['start_approval', 'r1']]);
    const extra = await run('extra_time', { assessment_id: 'a1', seconds: 60, reason: 'r', key: 'k1' }, { caller: staff });
    assert.deepEqual(
      extra.asked.map((a) => [a.name, a.request]),
      [['assessmentExtraTime', { assessment_id: 'a1', seconds: 60, reason: 'r', key: 'k1' }]],
    );
    assert.deepEqual(
      extra.sent.map((f) => [f.type, f.data['status']]),
      [['assessment_status', 'in_progress']],
    );
  });
});
