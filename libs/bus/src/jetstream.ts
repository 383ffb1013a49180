import { headers as natsHeaders } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import type { Logger } from '@ap/logging';
import { z } from 'zod';
import { requesterFor } from './requests.ts';

/** What JetStream answers a publish with: where it stored the message, or why not. */
const pubAckSchema = z.union([
  z.object({ stream: z.string(), seq: z.number(), duplicate: z.boolean().optional() }),
  z.object({ error: z.object({ code: z.number(), description: z.string().optional() }) }),
]);

/** How long a publish waits for JetStream's acknowledgement. */
const ACK_TIMEOUT_MS = 5000;

/** A JetStream stream that events are published to, de-duplicated by message id. */
export type EventStream = {
  /** Publishes with `Nats-Msg-Id` = msgId; resolves when JetStream stored it (or had it already). */
  publish(subject: string, payload: unknown, msgId: string): Promise<void>;
};

/**
 * Creates (or updates) a stream over `subjects` and returns a publisher for it. The duplicate window
 * makes a retried publish with the same message id a no-op, so a publish that got no
 * acknowledgement (the server it went through died, the stream was electing a leader) is sent
 * again, with backoff, for up to half the window.
 */
export async function openEventStream(
  nc: NatsConnection,
  options: {
    name: string;
    subjects: string[];
    maxAgeMs?: number;
    duplicateWindowMs?: number;
    /** Copies of the stream in a JetStream cluster (3 on a three-server cluster; 1 on a single server). */
    replicas?: number;
    log: Logger;
  },
): Promise<EventStream> {
  const jsm = await jetstreamManager(nc);
  const duplicateWindowMs = options.duplicateWindowMs ?? 2 * 60 * 1000;
  const config = {
    name: options.name,
    subjects: options.subjects,
    max_age: (options.maxAgeMs ?? 7 * 24 * 3600 * 1000) * 1_000_000,
    duplicate_window: duplicateWindowMs * 1_000_000,
    num_replicas: options.replicas ?? 1,
  };
  try {
    await jsm.streams.add(config);
  } catch {
    // Another replica created it first, or it exists with other limits: bring it to ours.
    await jsm.streams.update(options.name, {
      subjects: config.subjects,
      max_age: config.max_age,
      duplicate_window: config.duplicate_window,
      num_replicas: config.num_replicas,
    });
  }
  // Publishes are requests on the connection's shared reply subscription and outbox, so that an
  // event leaves in the same write as the reply it goes with (jetstream's own publish makes a
  // request object, timer and error per call).
  const requester = requesterFor(nc);
  const encoder = new TextEncoder();
  const log = options.log.child({ module: 'event-stream', stream: options.name });
  return {
    async publish(subject, payload, msgId) {
      const data = encoder.encode(JSON.stringify(payload));
      const giveUpAt = Date.now() + duplicateWindowMs / 2;
      for (let attempt = 1; ; attempt++) {
        try {
          const headers = natsHeaders();
          headers.set('Nats-Msg-Id', msgId);
          const msg = await requester.request(subject, data, { timeoutMs: ACK_TIMEOUT_MS, headers });
          const ack = pubAckSchema.parse(msg.json());
          if ('error' in ack) throw new Error(`stream refused the event: ${ack.error.code} ${ack.error.description ?? ''}`);
          return;
        } catch (err) {
          if (Date.now() >= giveUpAt || nc.isClosed()) throw err;
          log.warn({ err, msg_id: msgId, attempt }, 'event publish not acknowledged: sending it again');
          await new Promise((r) => setTimeout(r, retryDelayMs(attempt)));
        }
      }
    },
  };
}

/** Exponential backoff from 100 ms to 2 s, with full jitter. */
function retryDelayMs(attempt: number): number {
  return Math.random() * Math.min(2000, 100 * 2 ** attempt);
}

/** A lease held in a NATS KV bucket with a TTL: at most one holder at a time across replicas. */
export type Lease = {
  /** Takes the lease, or renews it when this holder has it; false when someone else holds it. */
  acquire(): Promise<boolean>;
  /** Gives the lease up early (best effort). */
  release(): Promise<void>;
};

/** Opens a lease named `key` in `bucket`; an unrenewed lease expires after `ttlMs`. `replicas`: copies of the bucket in a JetStream cluster. */
export async function openLease(
  nc: NatsConnection,
  options: { bucket: string; key: string; ttlMs: number; holder: string; replicas?: number },
): Promise<Lease> {
  const kv: KV = await new Kvm(nc).create(options.bucket, { ttl: options.ttlMs, history: 1, replicas: options.replicas ?? 1 });
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  let revision: number | undefined;

  async function acquire(): Promise<boolean> {
    if (revision !== undefined) {
      try {
        revision = await kv.update(options.key, encoder.encode(options.holder), revision);
        return true;
      } catch {
        revision = undefined; // expired and taken by someone else, or changed: start over
      }
    }
    try {
      revision = await kv.create(options.key, encoder.encode(options.holder));
      return true;
    } catch {
      const entry = await kv.get(options.key);
      if (entry !== null && entry.operation === 'PUT' && decoder.decode(entry.value) === options.holder) {
        revision = entry.revision;
        return true;
      }
      return false;
    }
  }

  async function release(): Promise<void> {
    if (revision === undefined) return;
    try {
      await kv.delete(options.key, { previousSeq: revision });
    } catch {
      // someone else holds it now
    }
    revision = undefined;
  }

  return { acquire, release };
}
