/**
 * Summarizes V8 .cpuprofile files (written by `node --cpu-prof`): self time by function and by
 * origin (a package in node_modules, a workspace lib or service, Node internals, GC, idle).
 */
import { readFileSync } from 'node:fs';

type ProfileNode = {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
};
type CpuProfile = { nodes: ProfileNode[]; startTime: number; endTime: number; samples?: number[]; timeDeltas?: number[] };

export type ProfileSummary = {
  file: string;
  window: string;
  /** Profiled wall time, ms. */
  wallMs: number;
  /** Sampled time that was not idle, ms. */
  busyMs: number;
  byOrigin: { origin: string; ms: number; share: number }[];
  topFunctions: { fn: string; origin: string; ms: number; share: number }[];
};

/** Where a function comes from, from its script URL. */
export function originOf(url: string, functionName: string): string {
  if (url === '') {
    if (functionName.startsWith('(')) return functionName; // (garbage collector), (idle), (program), (root)
    return '(native)';
  }
  if (url.startsWith('node:')) return 'node-internals';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm?.[1] !== undefined) return nm[1];
  const ws = /\/(libs|services|test)\/([^/]+)\//.exec(url);
  if (ws?.[1] !== undefined && ws[2] !== undefined) return `${ws[1]}/${ws[2]}`;
  return url
    .replace(/^file:\/\//, '')
    .split('/')
    .slice(-2)
    .join('/');
}

/** A time range on the monotonic clock that both V8 profiles and process.hrtime() use, µs. */
export type ProfileWindow = { label: string; fromUs: number; toUs: number };

export function readProfile(file: string): CpuProfile {
  return JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
}

/** Self time by function and origin, over the whole profile or only the samples inside `window`. */
export function summarizeProfile(file: string, profile: CpuProfile, window?: ProfileWindow, top = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  // Self time per node: from samples and their time deltas when present, else hit counts.
  const selfUs = new Map<number, number>();
  if (profile.samples !== undefined && profile.timeDeltas !== undefined) {
    const { samples, timeDeltas } = profile;
    let t = profile.startTime;
    for (let i = 0; i < samples.length; i++) {
      t += timeDeltas[i] ?? 0;
      if (window !== undefined && (t < window.fromUs || t > window.toUs)) continue;
      const id = samples[i] as number;
      // The delta before the next sample is the time spent in this one.
      const dt = timeDeltas[i + 1] ?? 0;
      selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, dt));
    }
  } else {
    const total = profile.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0);
    const per = total > 0 ? (profile.endTime - profile.startTime) / total : 0;
    for (const n of profile.nodes) selfUs.set(n.id, (n.hitCount ?? 0) * per);
  }
  const origins = new Map<string, number>();
  const fns = new Map<string, { fn: string; origin: string; us: number }>();
  let busy = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const origin = originOf(url, functionName);
    origins.set(origin, (origins.get(origin) ?? 0) + us);
    if (origin === '(idle)') continue;
    busy += us;
    const name = functionName === '' ? '(anonymous)' : functionName;
    const key = `${name} ${url}:${lineNumber + 1}`;
    const e = fns.get(key) ?? { fn: `${name} (${url.split('/').slice(-1)[0] ?? ''}:${lineNumber + 1})`, origin, us: 0 };
    e.us += us;
    fns.set(key, e);
  }
  const share = (us: number): number => (busy > 0 ? Math.round((us / busy) * 1000) / 10 : 0);
  const wallUs =
    window === undefined
      ? profile.endTime - profile.startTime
      : Math.min(window.toUs, profile.endTime) - Math.max(window.fromUs, profile.startTime);
  return {
    file,
    window: window?.label ?? 'whole process',
    wallMs: Math.round(Math.max(0, wallUs) / 1000),
    busyMs: Math.round(busy / 1000),
    byOrigin: [...origins]
      .filter(([o]) => o !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([origin, us]) => ({ origin, ms: Math.round(us / 1000), share: share(us) })),
    topFunctions: [...fns.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ fn: f.fn, origin: f.origin, ms: Math.round(f.us / 1000), share: share(f.us) })),
  };
}
