import { createInbox, PermissionViolationError } from '@nats-io/transport-node';
import type { Msg, MsgHdrs, NatsConnection, Subscription } from '@nats-io/transport-node';
import { outboxFor } from './outbox.ts';
import type { Outbox } from './outbox.ts';

/** Why a request got no reply. */
export type RequestFailure = 'timeout' | 'no_responders' | 'forbidden' | 'disconnected' | 'closed';

/** A request that got no reply; `reason` says why. */
export class RequestFailed extends Error {
  readonly reason: RequestFailure;
  constructor(reason: RequestFailure, subject: string) {
    super(`${subject}: ${reason.replace('_', ' ')}`);
    this.name = 'RequestFailed';
    this.reason = reason;
  }
}

/** Requests over one shared reply subscription. */
export type Requester = {
  request(subject: string, data: Uint8Array, options: { timeoutMs: number; headers?: MsgHdrs }): Promise<Msg>;
  /** Fails what is still waiting and stops listening for replies. */
  close(): void;
};

type Pending = { subject: string; deadline: number; resolve(msg: Msg): void; reject(err: RequestFailed): void };

/** How often deadlines are checked: a request times out at most this much late. */
const SWEEP_MS = 50;

/**
 * Request/reply over one wildcard inbox subscription, with one map entry per request and one timer
 * for all of them.
 *
 * Why not `nc.request`: it makes, per request, a timer and a deferred promise, and a RequestError
 * (with its stack) that it throws away on every successful reply: a tenth of the gateway's CPU per
 * frame in profiles. This keeps the same wire behaviour (the reply subject is an inbox under the
 * connection's prefix, and the server's 503 status means no responders) at the cost of deadlines
 * checked every {@link SWEEP_MS} ms instead of exactly.
 */
export function createRequester(nc: NatsConnection, outbox?: Outbox): Requester {
  const prefix = createInbox((nc as { options?: { inboxPrefix?: string } }).options?.inboxPrefix);
  const pending = new Map<string, Pending>();
  let next = 0;
  let closed = false;

  const sub: Subscription = nc.subscribe(`${prefix}.*`, {
    callback: (err, msg) => {
      if (err) return;
      const token = msg.subject.slice(prefix.length + 1);
      const p = pending.get(token);
      if (p === undefined) return; // late: it already timed out
      pending.delete(token);
      if (msg.data.length === 0 && msg.headers?.code === 503) p.reject(new RequestFailed('no_responders', p.subject));
      else p.resolve(msg);
    },
  });

  const sweep = setInterval(() => {
    if (pending.size === 0) return;
    const now = performance.now();
    for (const [token, p] of pending) {
      if (p.deadline > now) continue;
      pending.delete(token);
      p.reject(new RequestFailed('timeout', p.subject));
    }
  }, SWEEP_MS);
  sweep.unref();

  // A publish the server refuses is reported on the status stream, not on the request: fail the
  // requests to that subject at once instead of letting them time out.
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        // Replies sent while the connection is down are lost: fail the requests now, so that
        // callers retry on the next server at once instead of waiting for their timeout.
        for (const p of pending.values()) p.reject(new RequestFailed('disconnected', p.subject));
        pending.clear();
        continue;
      }
      if (status.type !== 'error' || !(status.error instanceof PermissionViolationError)) continue;
      const { operation, subject } = status.error;
      if (operation !== 'publish') continue;
      for (const [token, p] of pending) {
        if (p.subject !== subject) continue;
        pending.delete(token);
        p.reject(new RequestFailed('forbidden', p.subject));
      }
    }
  })().catch(() => undefined);

  const requester: Requester = {
    request(subject, data, options) {
      if (closed || nc.isClosed()) return Promise.reject(new RequestFailed('closed', subject));
      const token = (next++).toString(36);
      return new Promise<Msg>((resolve, reject) => {
        pending.set(token, { subject, deadline: performance.now() + options.timeoutMs, resolve, reject });
        const sent = { reply: `${prefix}.${token}`, ...(options.headers === undefined ? {} : { headers: options.headers }) };
        if (outbox !== undefined) {
          outbox.publish(subject, data, sent);
          return;
        }
        try {
          nc.publish(subject, data, sent);
        } catch (err) {
          pending.delete(token);
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
    },
    close() {
      if (closed) return;
      closed = true;
      clearInterval(sweep);
      for (const p of pending.values()) p.reject(new RequestFailed('closed', p.subject));
      pending.clear();
      sub.unsubscribe();
    },
  };
  // A closed connection answers nothing more: fail what waits and stop the sweep.
  void nc.closed().then(() => requester.close());
  return requester;
}

const requesters = new WeakMap<NatsConnection, Requester>();

/** The requester of a connection (one reply subscription per connection), sending through its shared outbox. */
export function requesterFor(nc: NatsConnection): Requester {
  let requester = requesters.get(nc);
  if (requester === undefined) {
    requester = createRequester(nc, outboxFor(nc));
    requesters.set(nc, requester);
  }
  return requester;
}
