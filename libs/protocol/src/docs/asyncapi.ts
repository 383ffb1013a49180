import { z } from 'zod';
import { endpointRoles, endpoints, replySchema } from '../bus.ts';
import { events } from '../events.ts';
import type { EndpointName } from '../bus.ts';
import { errorBodySchema } from '../common.ts';
import { ERROR_CODES, HTTP_STATUS } from '../errors.ts';
import { CLIENT_FRAME_TYPES, MAX_FRAME_BYTES, clientFrameData, serverFrameData } from '../frames.ts';
import type { ClientFrameType, ServerFrameType } from '../frames.ts';
import { jsonSchema } from './json-schema.ts';

/** The gateway's WebSocket endpoints and their query parameters. */
export const WS_ENDPOINTS = {
  '/ws/assessment': { channel: 'assessmentSocket', query: 'test_id', title: 'Candidate socket' },
  '/ws/chat': { channel: 'chatSocket', query: 'room_id', title: 'Chat and staff socket' },
} as const;

/** What each client frame is for. */
const CLIENT_FRAME_SUMMARY: Record<ClientFrameType, string> = {
  auth: 'Authenticate the connection with a token (unless the upgrade carried one).',
  start_assessment: "Start the candidate's assessment of a test, or resume the one in progress.",
  get_test_info: "Read a test's public facts (and the caller's attempt, if any) without starting it: nothing is created, no clock runs.",
  get_question: 'Ask for the current question (never its key).',
  submit_answer: 'Answer the current question; idempotent, a different answer to an answered question is CONFLICT.',
  get_progress: 'Ask how far the assessment is.',
  chat_message: "Say something in a room (the assessment's room by default).",
  heartbeat: 'Keep the connection alive and read the server clock.',
  end_assessment: 'End the assessment now.',
  integrity_event: "Report something proctors should know about (the candidate's page lost focus, a paste…).",
  pause_assessment: 'Staff: pause an assessment (the clock stops).',
  resume_assessment: 'Staff: resume a paused assessment.',
  terminate_assessment: 'Staff: end an assessment, with a reason.',
  extra_time: 'Staff: give an assessment more time (retry-safe with `key`).',
  join_room: 'Join a chat room (membership is checked).',
  leave_room: 'Leave a chat room.',
  chat_history: "Read a room's messages, newest first, a page at a time.",
  typing: 'Tell the room that this user is typing (not stored, not answered).',
  open_support_room: 'Recruiters: open a support room with a candidate.',
  watch_assessments: "Staff: receive the live feed of their tests' in-progress assessments.",
  unwatch_assessments: 'Staff: stop the live feed.',
  approve_start: "Staff: approve a candidate's waiting start request (tests that require approval); the candidate is told and may start.",
};

/** The server frames that answer each client frame (`reply_to` = the frame's `id`); `error` may answer any. */
export const CLIENT_FRAME_REPLIES: Record<ClientFrameType, readonly ServerFrameType[]> = {
  auth: ['auth_success'],
  start_assessment: ['assessment_started', 'assessment_completed', 'start_approval'],
  get_test_info: ['test_info'],
  get_question: ['question', 'assessment_completed'],
  submit_answer: ['answer_feedback', 'assessment_completed'],
  get_progress: ['progress_update'],
  chat_message: ['chat_message'],
  heartbeat: ['heartbeat_ack'],
  end_assessment: ['assessment_completed'],
  integrity_event: ['integrity_recorded'],
  pause_assessment: ['assessment_status'],
  resume_assessment: ['assessment_status'],
  terminate_assessment: ['assessment_status'],
  extra_time: ['assessment_status'],
  join_room: ['room_joined'],
  leave_room: ['room_left'],
  chat_history: ['chat_history'],
  typing: [],
  open_support_room: ['room_opened'],
  watch_assessments: ['live_assessments'],
  unwatch_assessments: ['live_assessments'],
  approve_start: ['start_approval'],
};

/** What each server frame says. */
const SERVER_FRAME_SUMMARY: Record<ServerFrameType, string> = {
  auth_success: 'The connection is authenticated.',
  test_info: "A test's public facts, and where the caller's attempt stands (null before it is started).",
  assessment_started: 'The assessment runs (or was resumed): the test, the deadline, and where the candidate is.',
  question: 'The current question.',
  answer_feedback: 'The answer was stored; correctness only when the test shows it.',
  progress_update: 'How far the assessment is.',
  assessment_completed: 'The assessment is over (answer to a frame, or pushed when the deadline or a proctor ends it).',
  heartbeat_ack: "The server's clock.",
  chat_message: 'A message in a room the connection is in (the sender gets it as the answer too).',
  time_warning: 'Pushed: this much time is left.',
  session_replaced: 'Pushed: another connection took over this assessment; this one closes.',
  assessment_paused: 'Pushed: a proctor paused the assessment.',
  assessment_resumed: 'Pushed: the assessment runs again, with its new deadline.',
  assessment_status: 'The state of an assessment after a staff command.',
  integrity_recorded: 'The integrity event was recorded.',
  time_extended: 'Pushed: the assessment got more time.',
  room_joined: 'The room was joined.',
  room_left: 'The room was left.',
  room_opened: 'A support room was opened (answer to the recruiter, pushed to the candidate).',
  chat_history: 'A page of messages, newest first.',
  typing: 'Pushed: someone in the room is typing.',
  live_assessments: 'The snapshot a watch starts with, with the candidates waiting for approval to start (empty after unwatch).',
  start_approval:
    "A start request on a test that requires a proctor's approval: the reply to a start that must wait, the push to the candidate when approved, the live row proctors see, and the reply to approve_start.",
  live_assessment: 'Pushed: a watched assessment changed.',
  error: 'A request failed or a frame was refused: a code from the closed list, a message, maybe details.',
};

/** Which service publishes and who listens, per event. The last token of a `*` subject is the id named here. */
const EVENT_DOCS: Record<keyof typeof events, { parameter: string | null; summary: string }> = {
  pushToUser: { parameter: 'user_id', summary: 'A frame for every socket of one user (only gateways that hold one subscribe).' },
  presence: { parameter: null, summary: 'Which assessments have a live connection on one gateway, sent periodically in batches.' },
  chatRoom: { parameter: 'room_id', summary: 'A message posted in a room, for the gateways with members of it.' },
  liveAssessment: { parameter: 'test_id', summary: 'An in-progress assessment changed, for proctors watching its test.' },
  startRequest: {
    parameter: 'test_id',
    summary: "A start request waits for (or got) a proctor's approval, for proctors watching its test.",
  },
  connection: { parameter: null, summary: 'A connection bound to (or released) an assessment on a gateway.' },
  chatTyping: { parameter: 'room_id', summary: 'Someone is typing in a room (not stored).' },
  reSignIn: { parameter: null, summary: 'A candidate signed in again with a named invitation code.' },
  assessmentCompleted: { parameter: null, summary: 'An assessment finished (also stored in the ASSESSMENT_EVENTS JetStream stream).' },
};

/** Events the assessment service stores in the JetStream stream `ASSESSMENT_EVENTS` besides `completed`. */
const STREAM_EVENTS = ['started', 'answered', 'expired'] as const;

const frameIdSchema = z.string().min(1).max(64);
const DRAFT_07 = 'application/schema+json;version=draft-07';

type Json = Record<string, unknown>;
const ref = (path: string): Json => ({ $ref: path });
const payload = (schema: z.ZodType, io: 'input' | 'output'): Json => ({
  schemaFormat: DRAFT_07,
  schema: jsonSchema(schema, { io, target: 'draft-07' }),
});

/** `{ok: true, data}` with the endpoint's response, or `{ok: false, error}`. */
function replyOf(response: z.ZodType): z.ZodType {
  return z.union([z.object({ ok: z.literal(true), data: response }), z.object({ ok: z.literal(false), error: errorBodySchema })]);
}

/** The error codes with their HTTP statuses, as a Markdown list. */
export function errorCodeList(): string {
  return ERROR_CODES.map((code) => `- \`${code}\` (HTTP ${HTTP_STATUS[code]})`).join('\n');
}

/** Channel id of a request/reply endpoint, and of the channel its replies travel on. */
const endpointChannel = (name: EndpointName) => `bus_${name}`;
const replyChannel = (name: EndpointName) => `bus_${name}_reply`;

/** The messages, channels and operations of the document, filled in section by section. */
type Sections = { messages: Json; channels: Json; operations: Json };

/**
 * The AsyncAPI 3.0 document of the platform, generated from the zod schemas: the gateway's
 * WebSocket endpoints with every client and server frame, and the NATS subjects with every
 * request/reply and event.
 */
export function asyncApiDocument(): Json {
  const sections: Sections = { messages: {}, channels: {}, operations: {} };
  addFrameMessages(sections);
  addSockets(sections);
  addEndpoints(sections);
  addEvents(sections);
  addEventStream(sections);
  const { messages, channels, operations } = sections;

  return {
    asyncapi: '3.0.0',
    info: INFO,
    defaultContentType: 'application/json',
    servers: SERVERS,
    channels,
    operations,
    components: {
      messages,
      schemas: {
        ErrorCode: { type: 'string', enum: [...ERROR_CODES], description: errorCodeList() },
        Reply: jsonSchema(replySchema, { io: 'output', target: 'draft-07' }),
      },
      correlationIds: CORRELATION_IDS,
      securitySchemes: SECURITY_SCHEMES,
    },
  };
}

/** Every client and server frame, as a message of its own. */
function addFrameMessages({ messages }: Sections): void {
  for (const type of CLIENT_FRAME_TYPES) {
    messages[`client_${type}`] = {
      name: type,
      title: `${type} (client)`,
      summary: CLIENT_FRAME_SUMMARY[type],
      payload: payload(z.object({ type: z.literal(type), data: clientFrameData[type], id: frameIdSchema.optional() }).strict(), 'input'),
      correlationId: ref('#/components/correlationIds/frameId'),
    };
  }
  for (const type of Object.keys(serverFrameData) as ServerFrameType[]) {
    messages[`server_${type}`] = {
      name: type,
      title: `${type} (server)`,
      summary: SERVER_FRAME_SUMMARY[type],
      payload: payload(
        z.object({ type: z.literal(type), data: serverFrameData[type], reply_to: frameIdSchema.optional(), ts: z.string() }),
        'output',
      ),
      correlationId: ref('#/components/correlationIds/replyTo'),
    };
  }
}

/** The gateway's WebSocket endpoints: every frame on each, client frames answered by their replies. */
function addSockets({ messages, channels, operations }: Sections): void {
  for (const [address, socket] of Object.entries(WS_ENDPOINTS)) {
    const channelMessages: Json = {};
    for (const key of Object.keys(messages)) channelMessages[key] = ref(`#/components/messages/${key}`);
    const channelRef = ref(`#/channels/${socket.channel}`);
    const messageRef = (key: string) => ref(`#/channels/${socket.channel}/messages/${key}`);
    channels[socket.channel] = {
      address,
      title: socket.title,
      description:
        `WebSocket endpoint \`${address}\` (optional query \`${socket.query}\`). Frames are JSON text of at most ${MAX_FRAME_BYTES} bytes ` +
        '(larger ones close the socket with 1009). Authenticate with `Authorization: Bearer <token>` on the upgrade, the `token` query ' +
        'parameter, or an `auth` frame within a few seconds (until then other frames get `error` AUTH_REQUIRED). A client frame may carry ' +
        '`id`; the frames that answer it carry it back as `reply_to`. Close codes: 1001 server shutting down, 1008 policy, 4401 no ' +
        'authentication in time, 4402 token expired, 4408 idle, 4409 session replaced, 4429 abuse.',
      servers: [ref('#/servers/gateway')],
      messages: channelMessages,
      bindings: {
        ws: {
          method: 'GET',
          query: {
            type: 'object',
            properties: {
              [socket.query]: { type: 'string', maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' },
              token: { type: 'string', description: 'A bearer token, for clients that cannot set headers (browsers).' },
            },
          },
          bindingVersion: '0.1.0',
        },
      },
    };
    for (const type of CLIENT_FRAME_TYPES) {
      const replies = CLIENT_FRAME_REPLIES[type];
      operations[`${socket.channel}_${type}`] = {
        action: 'receive',
        channel: channelRef,
        summary: CLIENT_FRAME_SUMMARY[type],
        messages: [messageRef(`client_${type}`)],
        ...(replies.length === 0
          ? {}
          : { reply: { channel: channelRef, messages: [...replies, 'error'].map((r) => messageRef(`server_${r}`)) } }),
      };
    }
    operations[`${socket.channel}_push`] = {
      action: 'send',
      channel: channelRef,
      summary: 'Every frame the gateway sends: answers (with `reply_to`) and pushed frames (without).',
      messages: Object.keys(serverFrameData).map((t) => messageRef(`server_${t}`)),
    };
  }
}

/** Who may call an endpoint, as its channel describes it. */
function callersOf(name: EndpointName): string {
  const roles = endpointRoles(name);
  if (roles === undefined) return '';
  const list = roles.map((r) => `\`${r}\``).join(', ');
  return ` Roles: ${list} (checked by the bus before the handler runs; other callers are answered FORBIDDEN).`;
}

/** Every NATS request/reply subject, with its queue group and the roles that may call it. */
function addEndpoints({ messages, channels, operations }: Sections): void {
  for (const name of Object.keys(endpoints) as EndpointName[]) {
    const endpoint = endpoints[name];
    const service = endpoint.subject.split('.')[0] ?? '';
    messages[`request_${name}`] = {
      name: `${endpoint.subject} request`,
      title: `${endpoint.subject} request`,
      payload: payload(endpoint.request, 'input'),
    };
    messages[`reply_${name}`] = {
      name: `${endpoint.subject} reply`,
      title: `${endpoint.subject} reply`,
      summary: '`{ok: true, data}` or `{ok: false, error: {code, message}}`.',
      payload: payload(replyOf(endpoint.response), 'output'),
    };
    channels[endpointChannel(name)] = {
      address: endpoint.subject,
      title: endpoint.subject,
      description: `Request/reply, served by the ${service} service (queue group \`${service}\`). The caller's identity travels in \`caller\`, set by the gateway from a verified token.${callersOf(name)}`,
      servers: [ref('#/servers/nats')],
      messages: { request: ref(`#/components/messages/request_${name}`) },
    };
    channels[replyChannel(name)] = {
      address: null,
      title: `${endpoint.subject} reply`,
      description:
        "The requester's reply subject (`_INBOX.>`), chosen per request. No responder maps to SERVICE_UNAVAILABLE, no answer in time to TIMEOUT.",
      servers: [ref('#/servers/nats')],
      messages: { reply: ref(`#/components/messages/reply_${name}`) },
    };
    operations[name] = {
      action: 'receive',
      channel: ref(`#/channels/${endpointChannel(name)}`),
      summary: `${service} answers ${endpoint.subject}.`,
      messages: [ref(`#/channels/${endpointChannel(name)}/messages/request`)],
      reply: { channel: ref(`#/channels/${replyChannel(name)}`), messages: [ref(`#/channels/${replyChannel(name)}/messages/reply`)] },
      bindings: { nats: { queue: service, bindingVersion: '0.1.0' } },
    };
  }
}

/** Every event subject family of the registry. */
function addEvents({ messages, channels, operations }: Sections): void {
  for (const name of Object.keys(events) as (keyof typeof events)[]) {
    const event = events[name];
    const { parameter, summary } = EVENT_DOCS[name];
    const wildcard: string = event.wildcard;
    if (wildcard.includes('*') !== (parameter !== null)) throw new Error(`event ${name}: ${wildcard} and its parameter disagree`);
    const address = parameter === null ? wildcard : wildcard.replace('*', `{${parameter}}`);
    messages[`event_${name}`] = { name: wildcard, title: name, summary, payload: payload(event.schema, 'output') };
    channels[`event_${name}`] = {
      address,
      title: wildcard,
      description: summary,
      servers: [ref('#/servers/nats')],
      ...(parameter === null ? {} : { parameters: { [parameter]: { description: `The ${parameter} the event is addressed to.` } } }),
      messages: { event: ref(`#/components/messages/event_${name}`) },
    };
    operations[`event_${name}`] = {
      action: 'send',
      channel: ref(`#/channels/event_${name}`),
      summary,
      messages: [ref(`#/channels/event_${name}/messages/event`)],
    };
  }
}

/** The assessment service's JetStream stream. */
function addEventStream({ messages, channels, operations }: Sections): void {
  messages['stream_event'] = {
    name: 'assessment.v1.events.*',
    title: 'assessment stream event',
    summary: 'An assessment event with the assessment id, candidate, test and `at`; published with `Nats-Msg-Id` for de-duplication.',
    payload: { schemaFormat: DRAFT_07, schema: { type: 'object', properties: { at: { type: 'string' } }, additionalProperties: true } },
  };
  channels['stream_assessmentEvents'] = {
    address: 'assessment.v1.events.{event}',
    title: 'ASSESSMENT_EVENTS',
    description:
      'The JetStream stream `ASSESSMENT_EVENTS` over `assessment.v1.events.>`: events that must not be lost, de-duplicated by `Nats-Msg-Id`; consumers ack after their own write. `completed` is described on its own channel.',
    servers: [ref('#/servers/nats')],
    parameters: { event: { enum: [...STREAM_EVENTS], description: 'What happened to the assessment.' } },
    messages: { event: ref('#/components/messages/stream_event') },
  };
  operations['stream_assessmentEvents'] = {
    action: 'send',
    channel: ref('#/channels/stream_assessmentEvents'),
    summary: 'The assessment service stores an event in the stream.',
    messages: [ref('#/channels/stream_assessmentEvents/messages/event')],
  };
}

const INFO: Json = {
  title: 'Assessment platform: WebSocket protocol v1 and NATS bus',
  version: '1.0.0',
  description:
    'Generated from the zod schemas in libs/protocol (`npm run docs`); do not edit by hand.\n\n' +
    'Clients talk to the gateway over WebSockets: client frames `{type, data, id?}`, server frames `{type, data, reply_to?, ts}`. ' +
    'The services talk over NATS: requests on `<service>.v1.<command>` answered `{ok: true, data}` or `{ok: false, error}`, ' +
    'events on `<service>.v1.events.<event>` and on subjects whose last token is the addressee.\n\n' +
    `Error codes (\`error\` frames, bus replies, HTTP bodies):\n\n${errorCodeList()}`,
  license: { name: 'Apache-2.0' },
};

const SERVERS: Json = {
  gateway: {
    host: '127.0.0.1:8080',
    protocol: 'ws',
    description: 'The gateway as `npm start` runs it (PORT, default 8080); behind TLS use wss.',
    security: [ref('#/components/securitySchemes/bearer'), ref('#/components/securitySchemes/tokenQuery')],
  },
  nats: {
    host: '127.0.0.1:4222',
    protocol: 'nats',
    description: "The internal bus (NATS_URL). Only the platform's NKEY users connect, each with its service's permissions.",
    security: [ref('#/components/securitySchemes/nkey')],
  },
};

const CORRELATION_IDS: Json = {
  frameId: { description: "The client's request id; the answering frames carry it as `reply_to`.", location: '$message.payload#/id' },
  replyTo: {
    description: 'The `id` of the client frame this frame answers (absent on pushed frames).',
    location: '$message.payload#/reply_to',
  },
};

const SECURITY_SCHEMES: Json = {
  bearer: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'A token from the auth service, on the upgrade request.',
  },
  tokenQuery: { type: 'httpApiKey', name: 'token', in: 'query', description: 'The same token as the `token` query parameter.' },
  nkey: { type: 'asymmetricEncryption', description: 'A NATS NKEY user per service (NATS_NKEY_SEED).' },
};
