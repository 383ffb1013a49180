import { randomBytes } from 'node:crypto';
import type { Clock } from '@ap/protocol';

/** Random bytes, injected so that ids are reproducible in tests. */
export type RandomBytes = (size: number) => Uint8Array;

const TIME_WIDTH = 9; // base-36 milliseconds: enough until the year 5188
const SEQ_WIDTH = 4; // base-36 counter within one millisecond

/**
 * Returns a generator of message ids that sort by creation time as strings: fixed-width base-36
 * milliseconds, a per-generator sequence within the millisecond, then random characters so that
 * replicas do not collide. The time never goes backwards within one generator.
 */
export function createMessageIdGenerator(clock: Clock, random: RandomBytes = randomBytes): () => string {
  let lastMs = -1;
  let seq = 0;
  return () => {
    const nowMs = Math.max(clock().getTime(), lastMs);
    seq = nowMs === lastMs ? seq + 1 : 0;
    lastMs = nowMs;
    if (seq >= 36 ** SEQ_WIDTH) {
      // More than 1.6 million ids in one millisecond: borrow the next millisecond.
      lastMs += 1;
      seq = 0;
    }
    const time = lastMs.toString(36).padStart(TIME_WIDTH, '0');
    const sequence = seq.toString(36).padStart(SEQ_WIDTH, '0');
    const suffix = Buffer.from(random(6)).toString('base64url');
    return `${time}${sequence}${suffix}`;
  };
}
