import { headers as natsHeaders } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import type { Logger } from '@ap/logging';

/** A JetStream stream that events are published to, de-duplicated by message id. */
export type EventStream = {
  /** Publishes with `Nats-Msg-Id` = msgId; resolves when JetStream stored it (or had it already). */
  publish(subject: string, payload: unknown, msgId: string): Promise<void>;
};

/**
 * Creates (or updates) a stream over `subjects` and returns a publisher for it. The duplicate window
 * makes a retried publish with the same message id a no-op.
 */
export async function openEventStream(
  nc: NatsConnection,
  options: { name: string; subjects: string[]; maxAgeMs?: number; duplicateWindowMs?: number; log: Logger },
): Promise<EventStream> {
  const jsm = await jetstreamManager(nc);
  const config = {
    name: options.name,
    subjects: options.subjects,
    max_age: (options.maxAgeMs ?? 7 * 24 * 3600 * 1000) * 1_000_000,
    duplicate_window: (options.duplicateWindowMs ?? 2 * 60 * 1000) * 1_000_000,
  };
  try {
    await jsm.streams.add(config);
  } catch {
    // Another replica created it first, or it exists with other limits: bring it to ours.
    await jsm.streams.update(options.name, { subjects: config.subjects, max_age: config.max_age, duplicate_window: config.duplicate_window });
  }
  const js = jetstream(nc);
  const encoder = new TextEncoder();
  return {
    async publish(subject, payload, msgId) {
      const h = natsHeaders();
      await js.publish(subject, encoder.encode(JSON.stringify(payload)), { msgID: msgId, headers: h });
    },
  };
}

/** A lease held in a NATS KV bucket with a TTL: at most one holder at a time across replicas. */
export type Lease = {
  /** Takes the lease, or renews it when this holder has it; false when someone else holds it. */
  acquire(): Promise<boolean>;
  /** Gives the lease up early (best effort). */
  release(): Promise<void>;
};

/** Opens a lease named `key` in `bucket`; an unrenewed lease expires after `ttlMs`. */
export async function openLease(nc: NatsConnection, options: { bucket: string; key: string; ttlMs: number; holder: string }): Promise<Lease> {
  const kv: KV = await new Kvm(nc).create(options.bucket, { ttl: options.ttlMs, history: 1 });
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
