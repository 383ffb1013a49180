import { connect, nkeyAuthenticator } from '@nats-io/transport-node';
import { headers as natsHeaders, PermissionViolationError } from '@nats-io/transport-node';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { z } from 'zod';
import { AppError, endpointHandlerTimeout, endpointRoles, endpoints, events, isAppError, issueList, replySchema } from '@ap/protocol';
import type {
  Caller,
  EndpointName,
  ErrorBody,
  EventInputOf,
  EventKeyOf,
  EventName,
  EventOf,
  ParsedRequestOf,
  RequestOf,
  ResponseOf,
  Role,
} from '@ap/protocol';
import type { Logger } from '@ap/logging';
import { outboxFor } from './outbox.ts';
import type { Outbox } from './outbox.ts';
import { RequestFailed, requesterFor } from './requests.ts';
import type { Requester } from './requests.ts';

/** Header that carries a request id from the WebSocket frame to the service that handles it. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** What a request handler receives besides the request. */
export type HandlerContext = { subject: string; requestId: string | undefined; log: Logger };

export type Handler<E extends EndpointName> = (
  request: ParsedRequestOf<E>,
  context: HandlerContext,
) => Promise<ResponseOf<E>> | ResponseOf<E>;

export type RequestOptions = { timeoutMs?: number; requestId?: string };

/** Options of a bus; `unavailable` tells which handler errors mean a dependency is down (SERVICE_UNAVAILABLE). */
export type BusOptions = {
  timeoutMs?: number;
  unavailable?: (err: unknown) => boolean;
  /**
   * A handler still running after this long is answered SERVICE_UNAVAILABLE (it goes on, and its
   * late result is dropped), so callers are never left waiting when a dependency is stuck.
   * Keep it below the callers' request timeout. Default 4000 ms.
   */
  handlerTimeoutMs?: number;
  /** Where request timings and served outcomes are recorded (see @ap/metrics). */
  metrics?: BusMetrics;
};

/** What a bus reports: the reply time of each request it makes, and the outcome (`ok` or an error code) of each it answers. */
export type BusMetrics = {
  requestDone(subject: string, seconds: number): void;
  handled(subject: string, outcome: string): void;
};

/** Typed request/reply and events over one NATS connection. */
export type Bus = {
  readonly nc: NatsConnection;
  /** Sends a request to the endpoint's subject and returns the validated response, or throws AppError. */
  request<E extends EndpointName>(name: E, request: RequestOf<E>, options?: RequestOptions): Promise<ResponseOf<E>>;
  /** Serves an endpoint in the queue group of the owning service. */
  serve<E extends EndpointName>(name: E, queue: string, handler: Handler<E>): Subscription;
  /** Publishes an event from the registry in @ap/protocol to its subject (`key`: the addressee of a keyed event). */
  publish<E extends EventName>(name: E, key: EventKeyOf<E>, payload: EventInputOf<E>, options?: { requestId?: string }): void;
  /**
   * Subscribes to an event from the registry: one key, or every key with `'*'`. Payloads are
   * validated by the event's schema; bad ones are logged and dropped.
   */
  subscribe<E extends EventName>(
    name: E,
    key: EventKeyOf<E> | '*',
    handler: (event: EventOf<E>, subject: string) => void | Promise<void>,
    options?: { queue?: string },
  ): Subscription;
  /** Drains subscriptions and closes the connection. */
  close(): Promise<void>;
};

const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_HANDLER_TIMEOUT_MS = 4000;

const encoder = new TextEncoder();

function encode(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

function errorReply(error: ErrorBody): Uint8Array {
  return encode({ ok: false, error });
}

/**
 * Connects to NATS and returns a Bus on that connection. With `nkeySeed` (an NKEY user seed, `SU…`)
 * the connection authenticates as that user; without it, it connects anonymously.
 */
export async function connectBus(
  options: { servers: string; name: string; log: Logger; nkeySeed?: string | undefined } & BusOptions,
): Promise<Bus> {
  const nc = await connect({
    servers: options.servers.split(','),
    name: options.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    // Without it every request makes a RequestError and a TimeoutError with a captured stack in
    // case it fails: about a tenth of the gateway's CPU per frame (profiled); the bus's coded
    // errors never show those stacks.
    noAsyncTraces: true,
    ...(options.nkeySeed === undefined ? {} : { authenticator: nkeyAuthenticator(new TextEncoder().encode(options.nkeySeed)) }),
  });
  const log = options.log.child({ module: 'bus' });
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'error' && status.error instanceof PermissionViolationError) {
        // The server's authorization block does not allow this subject for this identity.
        log.error(
          { operation: status.error.operation, subject: status.error.subject },
          'nats permission violation (see libs/stack/src/nats-auth.ts)',
        );
      } else if (status.type === 'disconnect' || status.type === 'reconnect' || status.type === 'error') {
        log.warn({ status: status.type }, 'nats connection status');
      }
    }
  })();
  return createBus(nc, options.log, options);
}

/** What the request, serve, event and close sides of one bus share. */
type BusCore = {
  nc: NatsConnection;
  log: Logger;
  defaults: BusOptions;
  outbox: Outbox;
  requester: Requester;
  /** Subscriptions of served endpoints, drained first on close. */
  served: Subscription[];
  /** Handlers running, awaited (up to a bound) on close. */
  inflight: Set<Promise<void>>;
};

/** Wraps an open NATS connection. */
export function createBus(nc: NatsConnection, rootLog: Logger, defaults: BusOptions = {}): Bus {
  // Shared with everything else on this connection (the event stream's publishes, other buses),
  // so that what one turn of the event loop produced leaves in one write.
  const core: BusCore = {
    nc,
    log: rootLog.child({ module: 'bus' }),
    defaults,
    outbox: outboxFor(nc),
    requester: requesterFor(nc),
    served: [],
    inflight: new Set(),
  };
  return {
    nc,
    request: (name, req, options) => sendRequest(core, name, req, options),
    serve: (name, queue, handler) => serveEndpoint(core, name, queue, handler),
    publish: (name, key, payload, options) => publishEvent(core, name, key, payload, options),
    subscribe: (name, key, handler, options) => subscribeEvent(core, name, key, handler, options),
    close: () => closeBus(core),
  };
}

/** Sends a request and returns its validated response; every failure is an AppError with a code. */
async function sendRequest<E extends EndpointName>(
  core: BusCore,
  name: E,
  req: RequestOf<E>,
  options: RequestOptions = {},
): Promise<ResponseOf<E>> {
  const endpoint = endpoints[name];
  const { metrics } = core.defaults;
  let headers;
  if (options.requestId !== undefined) {
    headers = natsHeaders();
    headers.set(REQUEST_ID_HEADER, options.requestId);
  }
  let msg: Msg;
  const sentAt = performance.now();
  try {
    msg = await core.requester.request(endpoint.subject, encode(req), {
      timeoutMs: options.timeoutMs ?? core.defaults.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      ...(headers === undefined ? {} : { headers }),
    });
    metrics?.requestDone(endpoint.subject, (performance.now() - sentAt) / 1000);
  } catch (err) {
    metrics?.requestDone(endpoint.subject, (performance.now() - sentAt) / 1000);
    throw requestError(endpoint.subject, err);
  }
  let body: unknown;
  try {
    body = msg.json();
  } catch (err) {
    throw new AppError('INTERNAL', `${endpoint.subject} replied with invalid JSON`, { cause: err });
  }
  const reply = replySchema.safeParse(body);
  if (!reply.success) throw new AppError('INTERNAL', `${endpoint.subject} replied with an invalid envelope`);
  if (!reply.data.ok) {
    const e = reply.data.error;
    throw new AppError(e.code, e.message, e.details === undefined ? {} : { details: e.details });
  }
  const data = endpoint.response.safeParse(reply.data.data);
  if (!data.success) {
    core.log.error({ subject: endpoint.subject, issues: issueList(data.error) }, 'invalid response payload');
    throw new AppError('INTERNAL', `${endpoint.subject} replied with an invalid payload`);
  }
  return data.data as ResponseOf<E>;
}

/** Subscribes to an endpoint's subject in `queue`; each request is answered by {@link answerRequest}. */
function serveEndpoint<E extends EndpointName>(core: BusCore, name: E, queue: string, handler: Handler<E>): Subscription {
  const { subject } = endpoints[name];
  const sub = core.nc.subscribe(subject, {
    queue,
    callback: (err, msg) => {
      if (err) {
        core.log.error({ err, subject }, 'subscription error');
        return;
      }
      const p = answerRequest(core, name, handler, msg);
      core.inflight.add(p);
      void p.finally(() => core.inflight.delete(p));
    },
  });
  core.served.push(sub);
  return sub;
}

/**
 * Answers one request: parses it, checks the caller's role against the endpoint's `roles`, runs the
 * handler (answering SERVICE_UNAVAILABLE if it is too slow), and replies with its result or error
 * code. Every outcome is counted by subject.
 */
async function answerRequest<E extends EndpointName>(core: BusCore, name: E, handler: Handler<E>, msg: Msg): Promise<void> {
  const { subject } = endpoints[name];
  const { metrics } = core.defaults;
  const requestId = msg.headers?.get(REQUEST_ID_HEADER) || undefined;
  const reqLog = requestId === undefined ? core.log.child({ subject }) : core.log.child({ subject, request_id: requestId });
  let answered = false;
  const respond = (payload: Uint8Array, outcome: string) => {
    if (answered) return;
    answered = true;
    replyTo(core, msg, payload);
    metrics?.handled(subject, outcome);
  };
  const refuse = (body: ErrorBody) => respond(errorReply(body), body.code);

  let raw: unknown;
  try {
    raw = msg.json();
  } catch {
    refuse({ code: 'INVALID_JSON', message: 'request is not valid JSON' });
    return;
  }
  const parsed = endpoints[name].request.safeParse(raw);
  if (!parsed.success) {
    refuse({ code: 'VALIDATION_FAILED', message: `invalid request for ${subject}`, details: { issues: issueList(parsed.error) } });
    return;
  }
  const request = parsed.data as ParsedRequestOf<E>;
  const refused = roleRefusal(name, request);
  if (refused !== undefined) {
    refuse(refused);
    return;
  }
  const handlerTimeout = endpointHandlerTimeout(name) ?? core.defaults.handlerTimeoutMs ?? DEFAULT_HANDLER_TIMEOUT_MS;
  const timer = setTimeout(() => {
    reqLog.warn({ timeout_ms: handlerTimeout }, 'handler too slow: answered SERVICE_UNAVAILABLE');
    refuse({ code: 'SERVICE_UNAVAILABLE', message: 'the service is too slow to answer right now; retry shortly' });
  }, handlerTimeout);
  try {
    const data = await handler(request, { subject, requestId, log: reqLog });
    respond(encode({ ok: true, data }), 'ok');
    reqLog.debug('handled');
  } catch (err) {
    refuse(failureBody(core, err, reqLog, requestId));
  } finally {
    clearTimeout(timer);
  }
}

/** FORBIDDEN when the endpoint declares roles and the request's caller has none of them. */
function roleRefusal<E extends EndpointName>(name: E, request: ParsedRequestOf<E>): ErrorBody | undefined {
  const roles = endpointRoles(name);
  if (roles === undefined) return undefined;
  const caller = (request as { caller?: Caller }).caller;
  if (caller !== undefined && roles.includes(caller.role)) return undefined;
  return {
    code: 'FORBIDDEN',
    message: `only ${roleList(roles)} may use ${endpoints[name].subject}`,
    details: { roles: [...roles] },
  };
}

/** `['recruiter', 'admin']` → "recruiters and admins". */
function roleList(roles: readonly Role[]): string {
  const plural = roles.map((r) => `${r}s`);
  return plural.length <= 1 ? plural.join('') : `${plural.slice(0, -1).join(', ')} and ${plural.at(-1) ?? ''}`;
}

/** The error reply for a handler's failure: its own code, SERVICE_UNAVAILABLE for a dependency that is down, else INTERNAL. */
function failureBody(core: BusCore, err: unknown, reqLog: Logger, requestId: string | undefined): ErrorBody {
  if (isAppError(err) && err.code !== 'INTERNAL') {
    const body: ErrorBody = { code: err.code, message: err.message };
    if (err.details !== undefined) body.details = err.details;
    return body;
  }
  if (!isAppError(err) && core.defaults.unavailable?.(err) === true) {
    reqLog.warn({ err }, 'dependency unavailable');
    return { code: 'SERVICE_UNAVAILABLE', message: 'the service cannot reach its database; retry shortly' };
  }
  // Never silent: every INTERNAL reply is an error line with the request id (null when the
  // caller sent none) and counts in nats_handled_total{outcome="INTERNAL"} by subject.
  reqLog.error({ err, ...(requestId === undefined ? { request_id: null } : {}) }, 'answered INTERNAL');
  return { code: 'INTERNAL', message: isAppError(err) ? err.message : 'internal error' };
}

function replyTo(core: BusCore, msg: Msg, payload: Uint8Array): void {
  if (msg.reply !== undefined && msg.reply !== '') core.outbox.publish(msg.reply, payload);
}

function subjectOf(name: EventName, key: string | undefined): string {
  const event = events[name];
  if (!event.keyed) return event.wildcard;
  if (key === undefined || key === '') throw new AppError('INTERNAL', `event ${name} needs a key`);
  return key === '*' ? event.wildcard : event.subject(key);
}

function publishEvent<E extends EventName>(
  core: BusCore,
  name: E,
  key: EventKeyOf<E>,
  payload: EventInputOf<E>,
  options: { requestId?: string } = {},
): void {
  const subject = subjectOf(name, key);
  if (options.requestId === undefined) {
    core.outbox.publish(subject, encode(payload));
    return;
  }
  const h = natsHeaders();
  h.set(REQUEST_ID_HEADER, options.requestId);
  core.outbox.publish(subject, encode(payload), { headers: h });
}

function subscribeEvent<E extends EventName>(
  core: BusCore,
  name: E,
  key: EventKeyOf<E> | '*',
  handler: (event: EventOf<E>, subject: string) => void | Promise<void>,
  options: { queue?: string } = {},
): Subscription {
  const { log } = core;
  const subject = subjectOf(name, key);
  const schema: z.ZodType<EventOf<E>> = events[name].schema as z.ZodType<EventOf<E>>;
  return core.nc.subscribe(subject, {
    ...(options.queue === undefined ? {} : { queue: options.queue }),
    callback: (err, msg) => {
      if (err) {
        log.error({ err, subject }, 'subscription error');
        return;
      }
      let raw: unknown;
      try {
        raw = msg.json();
      } catch {
        log.warn({ subject: msg.subject }, 'dropped event: invalid JSON');
        return;
      }
      const parsed = schema.safeParse(raw);
      if (!parsed.success) {
        log.warn({ subject: msg.subject, issues: issueList(parsed.error) }, 'dropped event: invalid payload');
        return;
      }
      try {
        Promise.resolve(handler(parsed.data, msg.subject)).catch((e: unknown) => {
          log.error({ err: e, subject: msg.subject }, 'event handler failed');
        });
      } catch (e) {
        log.error({ err: e, subject: msg.subject }, 'event handler failed');
      }
    },
  });
}

async function closeBus(core: BusCore): Promise<void> {
  const { nc } = core;
  if (nc.isClosed()) return;
  // Stop taking requests, let the ones in flight reply, then drain the connection.
  await Promise.allSettled(core.served.map((s) => s.drain()));
  await Promise.race([Promise.allSettled([...core.inflight]), new Promise((r) => setTimeout(r, 10_000).unref())]);
  // The requester is the connection's: it fails what still waits when the connection closes.
  core.outbox.flush();
  try {
    await nc.drain();
  } catch {
    await nc.close();
  }
}

/** The coded error for a request that got no reply. */
function requestError(subject: string, err: unknown): AppError {
  if (err instanceof RequestFailed) {
    switch (err.reason) {
      case 'forbidden':
        return new AppError('INTERNAL', `this connection may not publish to ${subject}`, { cause: err });
      case 'no_responders':
        return new AppError('SERVICE_UNAVAILABLE', `no service answers ${subject}`, { cause: err });
      case 'timeout':
        return new AppError('TIMEOUT', `${subject} did not answer in time`, { cause: err });
      case 'disconnected':
        return new AppError('SERVICE_UNAVAILABLE', `the connection to NATS was lost while ${subject} was asked; retry`, { cause: err });
      case 'closed':
        break;
    }
  }
  if (err instanceof PermissionViolationError)
    return new AppError('INTERNAL', `this connection may not publish to ${subject}`, { cause: err });
  return new AppError('SERVICE_UNAVAILABLE', `request to ${subject} failed`, { cause: err });
}
