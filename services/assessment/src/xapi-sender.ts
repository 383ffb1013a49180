import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '@ap/logging';
import { ASSESSMENT_STREAM, streamEvents } from '@ap/protocol';
import type { Db } from 'mongodb';
import { z } from 'zod';
import { findAssessment } from './repository.ts';
import type { TestDoc } from './store.ts';
import { XAPI_VERSION, buildStatements } from './xapi.ts';
import type { XapiIdentity } from './xapi.ts';

/** The durable JetStream consumer that sends statements; its position survives restarts. */
export const XAPI_CONSUMER = 'xapi';

/** Where and how statements are sent. */
export type XapiConfig = {
  /** The LRS endpoint, without `/statements`. */
  endpoint: string;
  /** The whole Authorization header value; never logged. */
  authorization?: string | undefined;
  identity: XapiIdentity;
  timeoutMs: number;
  retryMinMs: number;
  retryMaxMs: number;
};

/** The delay before delivery `attempt` (1-based) is tried again: exponential, capped, with jitter in its upper half. */
export function retryDelayMs(attempt: number, minMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

const finishedEvent = z.object({ assessment_id: z.string(), test_id: z.string() });

/**
 * Sends the xAPI statements of each finished assessment to a Learning Record Store. The outbox is
 * the ASSESSMENT_EVENTS stream itself: a durable consumer reads each `completed`/`expired` event
 * (every final status is published as one of them), reads the assessment by `_id`, posts its
 * statements and acknowledges the event only when the LRS took them (2xx, or 409 for ids it has);
 * otherwise the event comes back after a growing, jittered delay. Statement ids derive from the
 * assessment id and verb, so a statement sent again is the same statement. Off the candidate path:
 * the finish itself only publishes the event, as before.
 */
export async function startXapiSender(deps: { nc: NatsConnection; db: Db; log: Logger; config: XapiConfig }): Promise<{
  close(): Promise<void>;
}> {
  const { config } = deps;
  const log = deps.log.child({ module: 'xapi' });
  const jsm = await jetstreamManager(deps.nc);
  const consumerConfig = {
    durable_name: XAPI_CONSUMER,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.New,
    filter_subjects: [streamEvents.completed.subject, streamEvents.expired.subject],
    ack_wait: 3 * config.timeoutMs * 1_000_000,
    max_deliver: -1,
    max_ack_pending: 256,
  };
  try {
    await jsm.consumers.add(ASSESSMENT_STREAM.name, consumerConfig);
  } catch {
    // Another replica created it, or an older configuration exists: bring it to ours.
    await jsm.consumers.update(ASSESSMENT_STREAM.name, XAPI_CONSUMER, {
      filter_subjects: consumerConfig.filter_subjects,
      ack_wait: consumerConfig.ack_wait,
      max_deliver: consumerConfig.max_deliver,
      max_ack_pending: consumerConfig.max_ack_pending,
    });
  }
  const consumer = await jetstream(deps.nc).consumers.get(ASSESSMENT_STREAM.name, XAPI_CONSUMER);
  const messages = await consumer.consume({ max_messages: 16 });
  const tests = deps.db.collection<TestDoc>('tests');
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'X-Experience-API-Version': XAPI_VERSION,
    ...(config.authorization === undefined ? {} : { Authorization: config.authorization }),
  };

  async function post(body: unknown): Promise<{ ok: boolean; status: number | string }> {
    try {
      const res = await fetch(`${config.endpoint}/statements`, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(config.timeoutMs),
      });
      await res.body?.cancel();
      return { ok: res.ok || res.status === 409, status: res.status };
    } catch (err) {
      return { ok: false, status: err instanceof Error ? err.name : 'error' };
    }
  }

  async function handle(m: JsMsg): Promise<void> {
    const event = finishedEvent.safeParse(m.json());
    if (!event.success) {
      log.warn({ seq: m.seq }, 'finished event that does not parse: skipped');
      m.term();
      return;
    }
    const id = event.data.assessment_id;
    const a = await findAssessment(deps.db, { _id: id });
    if (a === null) {
      log.warn({ assessment_id: id }, 'finished assessment not found: no statements');
      m.term();
      return;
    }
    const test = await tests.findOne({ _id: a.test_id }, { projection: { title: 1 } });
    const statements = buildStatements(a, test?.title ?? a.test_title ?? a.test_id, config.identity);
    if (statements.length === 0) {
      m.term();
      return;
    }
    const sent = await post(statements);
    if (sent.ok) {
      await m.ackAck();
      log.debug({ assessment_id: id, statements: statements.length }, 'xAPI statements stored');
      return;
    }
    const delay = retryDelayMs(m.info.deliveryCount, config.retryMinMs, config.retryMaxMs);
    log.warn(
      { assessment_id: id, status: sent.status, attempt: m.info.deliveryCount, retry_in_ms: delay },
      'LRS did not take the statements',
    );
    m.nak(delay);
  }

  const loop = (async () => {
    for await (const m of messages) {
      try {
        await handle(m);
      } catch (err) {
        log.warn({ err, seq: m.seq }, 'xAPI statements not sent: trying again');
        m.nak(retryDelayMs(m.info.deliveryCount, config.retryMinMs, config.retryMaxMs));
      }
    }
  })();
  log.info({ lrs: new URL(config.endpoint).host }, 'sending xAPI statements');
  return {
    async close() {
      await messages.close();
      await loop;
    },
  };
}
