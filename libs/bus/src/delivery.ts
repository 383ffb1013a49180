import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '@ap/logging';
import { retryDelayMs } from '@ap/protocol';

/** What a delivery handler decided: done (acknowledged), dropped for good, or to be tried again later. */
export type DeliveryOutcome = { done: true } | { drop: string } | { retry: string };

/** A durable consumer that delivers each stored event to an outside system until it takes it. */
export type DeliveryOptions = {
  nc: NatsConnection;
  log: Logger;
  stream: string;
  /** The durable consumer's name: its position survives restarts and is shared by replicas. */
  durable: string;
  subjects: string[];
  /** How long one delivery may take before JetStream hands the event out again. */
  ackWaitMs: number;
  retryMinMs: number;
  retryMaxMs: number;
  /** Events handed out and not yet acknowledged, across replicas. */
  maxPending?: number;
  /** Deliveries running at once in this process (default 8). */
  concurrency?: number;
  /** How often to look again for a stream that another service has not created yet. */
  streamWaitMs?: number;
  handle(m: JsMsg): Promise<DeliveryOutcome>;
};

/**
 * Runs a retrying outbox over a JetStream stream: a durable consumer from new events on, each
 * acknowledged only when `handle` says the receiver took it; a refusal or an error brings the
 * event back after a growing, jittered delay, without limit, so an outage of the receiver loses
 * nothing. A stream that does not exist yet (its owner starts later) is waited for.
 */
export function startDelivery(options: DeliveryOptions): { close(): Promise<void> } {
  const { nc, log } = options;
  const config = {
    durable_name: options.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.New,
    filter_subjects: options.subjects,
    ack_wait: options.ackWaitMs * 1_000_000,
    max_deliver: -1,
    max_ack_pending: options.maxPending ?? 256,
  };
  const concurrency = Math.max(1, options.concurrency ?? 8);
  const run = { closed: false };
  // Read through a call: close() changes it while the loop awaits.
  const isClosed = () => run.closed;
  let stop: (() => Promise<void>) | undefined;
  let wake: (() => void) | undefined;

  async function openConsumer(): Promise<boolean> {
    const jsm = await jetstreamManager(nc);
    try {
      await jsm.streams.info(options.stream);
    } catch {
      return false;
    }
    try {
      await jsm.consumers.add(options.stream, config);
    } catch {
      // Another replica created it, or an older configuration exists: bring it to ours.
      await jsm.consumers.update(options.stream, options.durable, {
        filter_subjects: config.filter_subjects,
        ack_wait: config.ack_wait,
        max_deliver: config.max_deliver,
        max_ack_pending: config.max_ack_pending,
      });
    }
    return true;
  }

  async function deliver(m: JsMsg): Promise<void> {
    const retryIn = () => retryDelayMs(m.info.deliveryCount, { baseMs: options.retryMinMs, maxMs: options.retryMaxMs });
    try {
      const outcome = await options.handle(m);
      if ('done' in outcome) {
        await m.ackAck();
      } else if ('drop' in outcome) {
        log.warn({ seq: m.seq, subject: m.subject, reason: outcome.drop }, 'event dropped');
        m.term();
      } else {
        const delay = retryIn();
        log.warn(
          { seq: m.seq, reason: outcome.retry, attempt: m.info.deliveryCount, retry_in_ms: delay },
          'delivery refused: trying again',
        );
        m.nak(delay);
      }
    } catch (err) {
      const delay = retryIn();
      log.warn({ err, seq: m.seq, attempt: m.info.deliveryCount, retry_in_ms: delay }, 'delivery failed: trying again');
      m.nak(delay);
    }
  }

  const loop = (async () => {
    let waitLogged = false;
    while (!run.closed && !(await openConsumer().catch(() => false))) {
      if (!waitLogged) log.info({ stream: options.stream }, 'waiting for the stream to exist');
      waitLogged = true;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, options.streamWaitMs ?? 2000).unref();
      });
    }
    if (run.closed) return;
    const consumer = await jetstream(nc).consumers.get(options.stream, options.durable);
    const messages = await consumer.consume({ max_messages: 2 * concurrency });
    stop = () => messages.close().then(() => undefined);
    if (isClosed()) await stop();
    // Several deliveries at once, so that a receiver that hangs until its timeout (one LMS of
    // many) does not hold up the events for the others.
    const inFlight = new Set<Promise<void>>();
    for await (const m of messages) {
      const delivery: Promise<void> = deliver(m).finally(() => inFlight.delete(delivery));
      inFlight.add(delivery);
      if (inFlight.size >= concurrency) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  })().catch((err: unknown) => {
    if (!run.closed) log.error({ err }, 'delivery stopped');
  });

  return {
    async close() {
      run.closed = true;
      wake?.();
      await stop?.();
      await loop;
    },
  };
}
