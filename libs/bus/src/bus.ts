import { connect, nkeyAuthenticator } from '@nats-io/transport-node';
import { headers as natsHeaders, PermissionViolationError } from '@nats-io/transport-node';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { z } from 'zod';
import { AppError, endpoints, events, isAppError, replySchema } from '@ap/protocol';
import type {
  EndpointName,
  ErrorBody,
  EventInputOf,
  EventKeyOf,
  EventName,
  EventOf,
  ParsedRequestOf,
  RequestOf,
  ResponseOf,
} from '@ap/protocol';
import type { Logger } from '@ap/logging';
import { createOutbox } from './outbox.ts';
import { createRequester, RequestFailed } from './requests.ts';

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

/** Wraps an open NATS connection. */
export function createBus(nc: NatsConnection, rootLog: Logger, defaults: BusOptions = {}): Bus {
  const log = rootLog.child({ module: 'bus' });
  const defaultTimeout = defaults.timeoutMs ?? 5000;
  const served: Subscription[] = [];
  const handlerTimeout = defaults.handlerTimeoutMs ?? 4000;
  const inflight = new Set<Promise<void>>();
  const outbox = createOutbox(nc);
  const requester = createRequester(nc, outbox);

  async function request<E extends EndpointName>(name: E, req: RequestOf<E>, options: RequestOptions = {}): Promise<ResponseOf<E>> {
    const endpoint = endpoints[name];
    let headers;
    if (options.requestId !== undefined) {
      headers = natsHeaders();
      headers.set(REQUEST_ID_HEADER, options.requestId);
    }
    let msg: Msg;
    const sentAt = performance.now();
    try {
      msg = await requester.request(endpoint.subject, encode(req), {
        timeoutMs: options.timeoutMs ?? defaultTimeout,
        ...(headers === undefined ? {} : { headers }),
      });
      defaults.metrics?.requestDone(endpoint.subject, (performance.now() - sentAt) / 1000);
    } catch (err) {
      defaults.metrics?.requestDone(endpoint.subject, (performance.now() - sentAt) / 1000);
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
      log.error({ subject: endpoint.subject, issues: data.error.issues.slice(0, 5) }, 'invalid response payload');
      throw new AppError('INTERNAL', `${endpoint.subject} replied with an invalid payload`);
    }
    return data.data as ResponseOf<E>;
  }

  function serve<E extends EndpointName>(name: E, queue: string, handler: Handler<E>): Subscription {
    const endpoint = endpoints[name];
    const sub = nc.subscribe(endpoint.subject, {
      queue,
      callback: (err, msg) => {
        if (err) {
          log.error({ err, subject: endpoint.subject }, 'subscription error');
          return;
        }
        const p = handle(msg);
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
      },
    });
    served.push(sub);
    return sub;

    async function handle(msg: Msg): Promise<void> {
      const requestId = msg.headers?.get(REQUEST_ID_HEADER) || undefined;
      const reqLog =
        requestId === undefined
          ? log.child({ subject: endpoint.subject })
          : log.child({ subject: endpoint.subject, request_id: requestId });
      let raw: unknown;
      try {
        raw = msg.json();
      } catch {
        reply(msg, errorReply({ code: 'INVALID_JSON', message: 'request is not valid JSON' }));
        defaults.metrics?.handled(endpoint.subject, 'INVALID_JSON');
        return;
      }
      const parsed = endpoint.request.safeParse(raw);
      if (!parsed.success) {
        const issues = parsed.error.issues.slice(0, 10).map((i) => ({ path: i.path.join('.'), message: i.message }));
        reply(msg, errorReply({ code: 'VALIDATION_FAILED', message: `invalid request for ${endpoint.subject}`, details: { issues } }));
        defaults.metrics?.handled(endpoint.subject, 'VALIDATION_FAILED');
        return;
      }
      let answered = false;
      const respond = (payload: Uint8Array, outcome: string) => {
        if (answered) return;
        answered = true;
        reply(msg, payload);
        defaults.metrics?.handled(endpoint.subject, outcome);
      };
      const timer = setTimeout(() => {
        reqLog.warn({ timeout_ms: handlerTimeout }, 'handler too slow: answered SERVICE_UNAVAILABLE');
        respond(
          errorReply({ code: 'SERVICE_UNAVAILABLE', message: 'the service is too slow to answer right now; retry shortly' }),
          'SERVICE_UNAVAILABLE',
        );
      }, handlerTimeout);
      try {
        const data = await handler(parsed.data as ParsedRequestOf<E>, { subject: endpoint.subject, requestId, log: reqLog });
        respond(encode({ ok: true, data }), 'ok');
        reqLog.debug('handled');
      } catch (err) {
        if (isAppError(err) && err.code !== 'INTERNAL') {
          const body: ErrorBody = { code: err.code, message: err.message };
          if (err.details !== undefined) body.details = err.details;
          respond(errorReply(body), err.code);
        } else if (!isAppError(err) && defaults.unavailable?.(err) === true) {
          reqLog.warn({ err }, 'dependency unavailable');
          respond(
            errorReply({ code: 'SERVICE_UNAVAILABLE', message: 'the service cannot reach its database; retry shortly' }),
            'SERVICE_UNAVAILABLE',
          );
        } else {
          // Never silent: every INTERNAL reply is an error line with the request id (null when the
          // caller sent none) and counts in nats_handled_total{outcome="INTERNAL"} by subject.
          reqLog.error({ err, ...(requestId === undefined ? { request_id: null } : {}) }, 'answered INTERNAL');
          respond(errorReply({ code: 'INTERNAL', message: isAppError(err) ? err.message : 'internal error' }), 'INTERNAL');
        }
      } finally {
        clearTimeout(timer);
      }
    }
  }

  function reply(msg: Msg, payload: Uint8Array): void {
    if (msg.reply !== undefined && msg.reply !== '') outbox.publish(msg.reply, payload);
  }

  function subjectOf(name: EventName, key: string | undefined): string {
    const event = events[name];
    if (!event.keyed) return event.wildcard;
    if (key === undefined || key === '') throw new AppError('INTERNAL', `event ${name} needs a key`);
    return key === '*' ? event.wildcard : event.subject(key);
  }

  function publish<E extends EventName>(name: E, key: EventKeyOf<E>, payload: EventInputOf<E>, options: { requestId?: string } = {}): void {
    const subject = subjectOf(name, key);
    if (options.requestId === undefined) {
      outbox.publish(subject, encode(payload));
      return;
    }
    const h = natsHeaders();
    h.set(REQUEST_ID_HEADER, options.requestId);
    outbox.publish(subject, encode(payload), { headers: h });
  }

  function subscribe<E extends EventName>(
    name: E,
    key: EventKeyOf<E> | '*',
    handler: (event: EventOf<E>, subject: string) => void | Promise<void>,
    options: { queue?: string } = {},
  ): Subscription {
    const subject = subjectOf(name, key);
    const schema: z.ZodType<EventOf<E>> = events[name].schema as z.ZodType<EventOf<E>>;
    return nc.subscribe(subject, {
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
          log.warn({ subject: msg.subject, issues: parsed.error.issues.slice(0, 5) }, 'dropped event: invalid payload');
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

  async function close(): Promise<void> {
    if (nc.isClosed()) return;
    // Stop taking requests, let the ones in flight reply, then drain the connection.
    await Promise.allSettled(served.map((s) => s.drain()));
    await Promise.race([Promise.allSettled([...inflight]), new Promise((r) => setTimeout(r, 10_000).unref())]);
    requester.close();
    outbox.flush();
    try {
      await nc.drain();
    } catch {
      await nc.close();
    }
  }

  return { nc, request, serve, publish, subscribe, close };
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
      case 'closed':
        break;
    }
  }
  if (err instanceof PermissionViolationError)
    return new AppError('INTERNAL', `this connection may not publish to ${subject}`, { cause: err });
  return new AppError('SERVICE_UNAVAILABLE', `request to ${subject} failed`, { cause: err });
}
