import type { JsMsg } from '@nats-io/jetstream';
import { startDelivery } from '@ap/bus';
import type { DeliveryOutcome } from '@ap/bus';
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
export function startXapiSender(deps: { nc: NatsConnection; db: Db; log: Logger; config: XapiConfig }): { close(): Promise<void> } {
  const { config } = deps;
  const log = deps.log.child({ module: 'xapi' });
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

  async function handle(m: JsMsg): Promise<DeliveryOutcome> {
    const event = finishedEvent.safeParse(m.json());
    if (!event.success) return { drop: 'finished event that does not parse' };
    const id = event.data.assessment_id;
    const a = await findAssessment(deps.db, { _id: id });
    if (a === null) return { drop: `finished assessment ${id} not found: no statements` };
    const test = await tests.findOne({ _id: a.test_id }, { projection: { title: 1 } });
    const statements = buildStatements(a, test?.title ?? a.test_title ?? a.test_id, config.identity);
    if (statements.length === 0) return { drop: `assessment ${id} has no result: no statements` };
    const sent = await post(statements);
    if (!sent.ok) return { retry: `the LRS did not take the statements of ${id} (${String(sent.status)})` };
    log.debug({ assessment_id: id, statements: statements.length }, 'xAPI statements stored');
    return { done: true };
  }

  const delivery = startDelivery({
    nc: deps.nc,
    log,
    stream: ASSESSMENT_STREAM.name,
    durable: XAPI_CONSUMER,
    subjects: [streamEvents.completed.subject, streamEvents.expired.subject],
    ackWaitMs: 3 * config.timeoutMs,
    retryMinMs: config.retryMinMs,
    retryMaxMs: config.retryMaxMs,
    handle,
  });
  log.info({ lrs: new URL(config.endpoint).host }, 'sending xAPI statements');
  return delivery;
}
