/** HdrHistogram helpers: build, encode for IPC, merge, and summarize (values recorded in µs). */
import * as hdr from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';
import { HIST } from './messages.ts';

export type { Histogram };

export function newHist(): Histogram {
  return hdr.build({
    lowestDiscernibleValue: HIST.lowest,
    highestTrackableValue: HIST.highest,
    numberOfSignificantValueDigits: HIST.digits,
    bitBucketSize: 'packed',
    useWebAssembly: false,
  });
}

/** Records a duration given in milliseconds (performance.now() differences), clamped to the range. */
export function recordMs(h: Histogram, ms: number): void {
  const us = Math.round(ms * 1000);
  h.recordValue(Math.min(HIST.highest, Math.max(HIST.lowest, us)));
}

export function encodeHist(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

export function mergeHists(encoded: readonly string[]): Histogram {
  const total = newHist();
  for (const e of encoded) {
    const h = hdr.decodeFromCompressedBase64(e, 'packed', false);
    total.add(h);
    h.destroy();
  }
  return total;
}

/** Latency percentiles in milliseconds. */
export type Percentiles = { count: number; mean: number; p50: number; p90: number; p99: number; p999: number; max: number };

export function percentiles(h: Histogram): Percentiles {
  const ms = (us: number): number => Math.round(us) / 1000;
  if (h.totalCount === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
  return {
    count: h.totalCount,
    mean: ms(h.mean),
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
  };
}
