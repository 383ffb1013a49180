/** Reading processes from /proc (Linux): memory, CPU time, open files, limits, the process tree. */
import { readFileSync, readdirSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on every mainstream Linux). */
const CLK_TCK = 100;

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** A field of /proc/<pid>/status, e.g. VmRSS (in kB) or Cpus_allowed_list. */
export function statusField(pid: number, field: string): string | undefined {
  const status = read(`/proc/${pid}/status`);
  if (status === undefined) return undefined;
  const m = new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(status);
  return m?.[1]?.trim();
}

/** Resident set size in bytes (VmRSS), or undefined if the process is gone. */
export function rssBytes(pid: number): number | undefined {
  const v = statusField(pid, 'VmRSS');
  if (v === undefined) return undefined;
  return Number.parseInt(v, 10) * 1024;
}

type Stat = { comm: string; ppid: number; cpuSeconds: number };

function stat(pid: number): Stat | undefined {
  const s = read(`/proc/${pid}/stat`);
  if (s === undefined) return undefined;
  // comm may contain spaces and parentheses: it ends at the last ')'.
  const close = s.lastIndexOf(')');
  const comm = s.slice(s.indexOf('(') + 1, close);
  const rest = s.slice(close + 2).split(' ');
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  const ppid = Number(rest[1]);
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return { comm, ppid, cpuSeconds: (utime + stime) / CLK_TCK };
}

/** User + system CPU time of a process so far, in seconds. */
export function cpuSeconds(pid: number): number | undefined {
  return stat(pid)?.cpuSeconds;
}

/** Every live descendant of `root` (children, grandchildren…). */
export function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = stat(Number(name));
    if (st !== undefined) parent.set(Number(name), st.ppid);
  }
  const out: number[] = [];
  const seen = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of parent) {
      if (!seen.has(pid) && seen.has(ppid)) {
        seen.add(pid);
        out.push(pid);
        grew = true;
      }
    }
  }
  return out;
}

export function comm(pid: number): string | undefined {
  return stat(pid)?.comm;
}

/** Open file descriptors of a process. */
export function openFds(pid: number): number | undefined {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}

/** Soft and hard limit on open files (RLIMIT_NOFILE) of a process. */
export function fdLimit(pid: number): { soft: number; hard: number } | undefined {
  const limits = read(`/proc/${pid}/limits`);
  const m = limits === undefined ? null : /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  if (m === null) return undefined;
  const n = (v: string | undefined): number => (v === 'unlimited' ? Number.POSITIVE_INFINITY : Number(v));
  return { soft: n(m[1]), hard: n(m[2]) };
}

/** Which CPUs a process may run on, e.g. "0-1". */
export function cpusAllowed(pid: number): string | undefined {
  return statusField(pid, 'Cpus_allowed_list');
}

/** CPU time per named process between two snapshots. */
export type CpuSnapshot = Map<number, number>;

export function snapshotCpu(pids: Iterable<number>): CpuSnapshot {
  const snap = new Map<number, number>();
  for (const pid of pids) {
    const c = cpuSeconds(pid);
    if (c !== undefined) snap.set(pid, c);
  }
  return snap;
}

/** CPU seconds used by each process between `before` and now (processes that ended are left out). */
export function cpuSince(before: CpuSnapshot): Map<number, number> {
  const out = new Map<number, number>();
  for (const [pid, c0] of before) {
    const c1 = cpuSeconds(pid);
    if (c1 !== undefined) out.set(pid, Math.max(0, c1 - c0));
  }
  return out;
}
