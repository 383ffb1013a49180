import type { MsgHdrs, NatsConnection } from '@nats-io/transport-node';

/** Messages to publish, sent together once the current turn of the event loop has handled its input. */
export type Outbox = {
  publish(subject: string, data: Uint8Array, options?: { reply?: string; headers?: MsgHdrs }): void;
  /** Hands everything queued to the connection now (before draining or closing it). */
  flush(): void;
};

type Queued = { subject: string; data: Uint8Array; options: { reply?: string; headers?: MsgHdrs } | undefined };

/**
 * Coalesces publishes into one socket write per event-loop turn.
 *
 * The NATS client writes what it was given at the end of each microtask queue; the replies and
 * requests of a busy process are made in separate callbacks (one per socket read or database
 * reply), so each used to cost its own write syscall, the largest single cost of a frame in CPU
 * profiles. Queued here until `setImmediate` (which runs right after the event loop's poll phase),
 * everything one turn produced goes out in one write. Order is kept: messages leave in the order
 * they were queued. The delay is the rest of the current turn, well under a millisecond when idle.
 */
export function createOutbox(nc: NatsConnection): Outbox {
  let queue: Queued[] = [];
  let scheduled = false;

  function flush(): void {
    scheduled = false;
    const batch = queue;
    queue = [];
    for (const m of batch) {
      if (nc.isClosed()) return;
      try {
        if (m.options === undefined) nc.publish(m.subject, m.data);
        else nc.publish(m.subject, m.data, m.options);
      } catch {
        // A closed or draining connection: what was not sent is lost like any publish after close.
      }
    }
  }

  return {
    publish(subject, data, options) {
      queue.push({ subject, data, options });
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}

const outboxes = new WeakMap<NatsConnection, Outbox>();

/** The outbox of a connection, shared by everything that publishes on it, so that one turn's messages leave in one write. */
export function outboxFor(nc: NatsConnection): Outbox {
  let outbox = outboxes.get(nc);
  if (outbox === undefined) {
    outbox = createOutbox(nc);
    outboxes.set(nc, outbox);
  }
  return outbox;
}
