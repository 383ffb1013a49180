/**
 * Load tool for the platform: `npm run bench -- [options]` (`--help` lists them).
 *
 * Starts real infrastructure (nats-server, FerretDB or mongod) and the five services (one gateway),
 * seeds the demo, starts a bare `ws` echo server as the baseline and N client worker processes,
 * then runs the scenarios — idle sockets, heartbeat storm, answer path (open loop), next-item
 * selection — and writes bench-results/<timestamp>/{report.json, answer-latency.svg, summary.md}.
 * Everything runs on 127.0.0.1 and stops by itself; see test/load/README.md.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync, appendFileSync } from 'node:fs';
import os from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MongoClient } from 'mongodb';
import type { Db } from 'mongodb';
import { z } from 'zod';
import { connectBus } from '@ap/bus';
import type { Bus } from '@ap/bus';
import { DEMO_TEST_ID, seedDemo } from '@ap/demo';
import type { DemoSeed } from '@ap/demo';
import { createLogger } from '@ap/logging';
import { seedsOf, startInfra, startPlatform } from '@ap/stack';
import type { Infra, Platform } from '@ap/stack';
import { mergeHists, percentiles } from './hist.ts';
import { seedStoredAssessments } from './stored.ts';
import type { Percentiles } from './hist.ts';
import type { AnswersResult, Counts, HeartbeatResult, IdleCountResult, IdleReleaseResult, IdleResult, Target } from './messages.ts';
import { latencyPlot, timelinePlot } from './plot.ts';
import type { PlotPoint, TimelinePoint } from './plot.ts';
import { startEchoServer, WorkerPool } from './pool.ts';
import type { EchoServer } from './pool.ts';
import { comm, cpusAllowed, cpuSince, descendants, fdLimit, openFds, rssBytes, snapshotCpu } from './procfs.ts';
import { ProgressBar } from './progress.ts';
import { readProfile, summarizeProfile } from './profile.ts';
import type { ProfileSummary, ProfileWindow } from './profile.ts';
import { runSelectBench } from './select.ts';
import type { SelectResult } from './select.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const SCENARIOS = ['idle', 'heartbeat', 'answers', 'select'] as const;
type Scenario = (typeof SCENARIOS)[number];
/** Questions in the demo-fundamentals test: a candidate finishes after this many answers. */
const DEMO_ITEMS = 30;
/** The whole run is cut off after this long, whatever happens. */
const MAX_RUN_MS = 30 * 60_000;

const TARGETS = {
  heartbeatShareOfEcho: 0.7,
  idleSockets: 20_000,
  idleBytesPerSocket: 15 * 1024,
  answersSustained: 2000,
  answersP99Ms: 50,
  answersP99AtRate: 1000,
  /** The answer path's tail at a moderate load. */
  answersModerateP99Ms: 100,
  answersModerateRate: 250,
  selectMedianUs: 1000,
} as const;

// ---------------------------------------------------------------------------------------------
// options

const HELP = `npm run bench -- [options]

  --scenarios LIST   comma-separated subset of idle,heartbeat,answers,select (default: all)
  --quick            small sizes, whole run well under 2 minutes (smoke test)
  --connections N    idle scenario: sockets to open (default 20000; capped by the gateway's fd limit)
  --ramp N           idle scenario: new sockets per second (default 2500)
  --concurrency N    heartbeat scenario: sockets, one frame in flight each (default 200)
  --duration S       measured seconds per heartbeat run and per answer rate (default 15)
  --warmup S         unmeasured seconds before each of those (default 3)
  --spread S         answer scenario: candidate sessions start evenly over S seconds, the offered
                     rate rising with them, before the warm-up (default: the length of one test
                     at the step's rate, so that sessions stand at every stage of a test as real
                     candidates do; 0 starts them all at once and keeps them in step)
  --rates LIST       answer scenario: offered answers/s (default 200,500,1000,2000)
  --stored LIST      answer scenario: stored assessments before each round (default 0,1000,10000;
                     the first round runs every rate, later ones the best rate again after finished
                     assessments are added straight through the store)
  --sessions N       answer scenario: candidate sessions per step (default: from the rate and
                     the best rate reached so far)
  --workers N        client worker processes (default: available cores, at least 2)
  --no-echo          skip the echo-server baseline runs
  --cpu-prof         run the services with --cpu-prof and summarize where their time went
                     (profiling slows them: use it for a profile, not for the figures)
  --out DIR          results directory (default bench-results/<timestamp>)
`;

const positive = z.coerce.number().positive();
const count = z.coerce.number().int().positive();
const commaList = z.string().transform((s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== ''),
);

const argsSchema = z.object({
  scenarios: commaList.pipe(z.array(z.enum(SCENARIOS)).min(1)).optional(),
  quick: z.boolean().default(false),
  connections: count.max(200_000).optional(),
  ramp: positive.max(50_000).optional(),
  concurrency: count.max(10_000).optional(),
  duration: positive.max(600).optional(),
  warmup: z.coerce.number().min(0).max(60).optional(),
  spread: z.coerce.number().min(0).max(120).optional(),
  rates: commaList.pipe(z.array(z.string().transform(Number).pipe(z.number().positive().max(50_000))).min(1)).optional(),
  sessions: count.max(5000).optional(),
  stored: commaList.pipe(z.array(z.string().transform(Number).pipe(z.number().int().min(0).max(1_000_000))).min(1)).optional(),
  workers: count.max(64).optional(),
  'no-echo': z.boolean().default(false),
  'cpu-prof': z.boolean().default(false),
  out: z.string().optional(),
  help: z.boolean().default(false),
});

function readOptions() {
  const { values } = parseArgs({
    options: {
      scenarios: { type: 'string' },
      quick: { type: 'boolean' },
      connections: { type: 'string' },
      ramp: { type: 'string' },
      concurrency: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      spread: { type: 'string' },
      rates: { type: 'string' },
      sessions: { type: 'string' },
      stored: { type: 'string' },
      workers: { type: 'string' },
      'no-echo': { type: 'boolean' },
      'cpu-prof': { type: 'boolean' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  const parsed = argsSchema.safeParse(values);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `  --${i.path.join('.')}: ${i.message}`).join('\n');
    process.stderr.write(`bad options:\n${issues}\n\n${HELP}`);
    process.exit(2);
  }
  const a = parsed.data;
  if (a.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const q = a.quick;
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace(/Z$/, '');
  return {
    scenarios: new Set<Scenario>(a.scenarios ?? SCENARIOS),
    quick: q,
    connections: a.connections ?? (q ? 1000 : 20_000),
    ramp: a.ramp ?? (q ? 1000 : 2500),
    concurrency: a.concurrency ?? (q ? 50 : 200),
    durationMs: Math.round((a.duration ?? (q ? 4 : 15)) * 1000),
    warmupMs: Math.round((a.warmup ?? (q ? 1 : 3)) * 1000),
    spreadMs: a.spread === undefined ? undefined : Math.round(a.spread * 1000),
    rates: a.rates ?? (q ? [100, 300] : [250, 500, 1000, 2000]),
    sessions: a.sessions,
    stored: [...new Set(a.stored ?? (q ? [0, 200] : [0, 1000, 10_000]))].sort((x, y) => x - y),
    workers: a.workers ?? Math.max(2, os.availableParallelism()),
    echo: !a['no-echo'],
    cpuProf: a['cpu-prof'],
    idleHoldMs: q ? 2000 : 5000,
    selectRuns: q ? 300 : 3000,
    out: a.out ?? join(REPO, 'bench-results', stamp),
  };
}
type Options = ReturnType<typeof readOptions>;

// ---------------------------------------------------------------------------------------------
// formatting

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const ms = (n: number): string => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
/** "×0.73 of echo": a figure as a ratio to its baseline. */
function ratio(value: number, base: number | undefined, what = 'echo'): string {
  if (base === undefined || base === 0 || !Number.isFinite(value / base)) return '';
  const r = value / base;
  return `×${r >= 10 ? r.toFixed(0) : r.toFixed(2)} of ${what}`;
}
function sumCounts(list: readonly Counts[]): Counts {
  const out: Counts = {};
  for (const c of list) for (const [k, v] of Object.entries(c)) out[k] = (out[k] ?? 0) + v;
  return out;
}
function countsText(c: Counts): string {
  const e = Object.entries(c).sort((a, b) => b[1] - a[1]);
  return e.length === 0 ? 'none' : e.map(([k, v]) => `${k} ${int(v)}`).join(', ');
}
function split(total: number, parts: number, i: number): number {
  return Math.floor(total / parts) + (i < total % parts ? 1 : 0);
}
const sleep = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));
/** Microseconds on the monotonic clock V8's CPU profiles use. */
const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

// ---------------------------------------------------------------------------------------------
// the run

type ProcInfo = { label: string; pid: number; cpus: string | undefined };
type CpuUse = Record<string, { seconds: number; coresUsed: number }>;

class Bench {
  readonly report: Record<string, unknown> = {};
  readonly summary: string[] = [];
  private readonly labels = new Map<number, string>();
  /** Time ranges of the measured gateway runs, to cut the services' CPU profiles by scenario. */
  readonly windows: ProfileWindow[] = [];
  /** CPU of the request path when nothing is offered (the threshold of `settle`). */
  private idlePathCores = 0;
  private idleBackgroundCores = 0;
  /** Answer-latency timelines written so far (their files are numbered in run order). */
  private timelines = 0;

  readonly opts: Options;
  readonly platform: Platform;
  readonly bus: Bus;
  readonly seed: DemoSeed;
  readonly pool: WorkerPool;
  readonly echo: EchoServer | undefined;
  readonly gatewayPid: number;
  readonly db: Db;
  /** FerretDB's metrics, where commands are counted by name; MongoDB's serverStatus otherwise. */
  dbMetricsUrl: string | undefined;

  constructor(
    opts: Options,
    platform: Platform,
    bus: Bus,
    seed: DemoSeed,
    pool: WorkerPool,
    echo: EchoServer | undefined,
    gatewayPid: number,
    db: Db,
  ) {
    this.db = db;
    this.opts = opts;
    this.platform = platform;
    this.bus = bus;
    this.seed = seed;
    this.pool = pool;
    this.echo = echo;
    this.gatewayPid = gatewayPid;
    for (const p of platform.processes) if (p.proc.pid !== undefined) this.labels.set(p.proc.pid, p.service);
    pool.pids().forEach((pid, i) => this.labels.set(pid, `client-worker-${i}`));
    if (echo?.child.pid !== undefined) this.labels.set(echo.child.pid, 'echo-server');
    this.labels.set(process.pid, 'bench (orchestrator)');
  }

  label(pid: number): string {
    return this.labels.get(pid) ?? comm(pid) ?? String(pid);
  }

  setLabel(pid: number, label: string): void {
    this.labels.set(pid, label);
  }

  processes(): ProcInfo[] {
    return [process.pid, ...descendants(process.pid)].map((pid) => ({ label: this.label(pid), pid, cpus: cpusAllowed(pid) }));
  }

  /** Pids of the server side: every descendant that is not a client worker, the echo server or a bench child. */
  serverPids(): number[] {
    const client = new Set([...this.pool.pids(), this.echo?.child.pid ?? -1]);
    return descendants(process.pid).filter((pid) => !client.has(pid) && !this.label(pid).startsWith('select'));
  }

  /**
   * Waits until the request path is quiet — gateway, auth, assessment, chat and NATS together under
   * 10% of one core over half a second — so that work left queued by an overloaded step does not
   * leak into the next one. The database and the cleanup service are left out of the criterion:
   * the cleanup sweep keeps the database busy in the background whatever the load (reported as
   * `backgroundDbCores`). Returns the seconds waited.
   */
  async settle(label: string, maxMs = 30_000): Promise<number> {
    const bar = new ProgressBar(`settle: ${label}`);
    const t0 = Date.now();
    const threshold = this.idlePathCores + 0.1;
    for (;;) {
      const { path, background } = await this.serverCpu(500);
      const waited = Date.now() - t0;
      bar.update(waited, maxMs, `request path ${Math.round(path * 100)}%, database + cleanup ${Math.round(background * 100)}% of a core`);
      const quiet = path < threshold && background < this.idleBackgroundCores + 0.4;
      if (quiet || waited > maxMs) {
        bar.done(
          quiet
            ? `quiet (database + cleanup ${Math.round(background * 100)}%)`
            : `still busy (request path ${Math.round(path * 100)}%, database + cleanup ${Math.round(background * 100)}%), going on`,
        );
        const settles = (this.report.settle ?? []) as unknown[];
        settles.push({
          label,
          seconds: Math.round(waited / 100) / 10,
          requestPathCores: Math.round(path * 100) / 100,
          backgroundDbCores: Math.round(background * 100) / 100,
        });
        this.report.settle = settles;
        return waited / 1000;
      }
    }
  }

  /** Cores used over `ms` by the request path (gateway, services, NATS) and by the database + cleanup sweep. */
  async serverCpu(ms: number): Promise<{ path: number; background: number }> {
    const before = snapshotCpu(this.serverPids());
    await sleep(ms);
    let path = 0;
    let background = 0;
    for (const [pid, secs] of cpuSince(before)) {
      const l = this.label(pid);
      if (l === 'cleanup' || l === 'ferretdb' || l === 'mongod') background += secs / (ms / 1000);
      else path += secs / (ms / 1000);
    }
    return { path, background };
  }

  /** Measures the request path's CPU with no load, the baseline `settle` waits for. */
  async calibrate(): Promise<void> {
    const { path, background } = await this.serverCpu(2000);
    this.idlePathCores = path;
    this.idleBackgroundCores = background;
    this.report.idleServerCores = { requestPath: Math.round(path * 100) / 100, databaseAndCleanup: Math.round(background * 100) / 100 };
  }

  line(s = ''): void {
    this.summary.push(s);
  }

  /** Runs `fn` and measures the CPU time every process of the run used meanwhile. */
  async measured<T>(fn: () => Promise<T>, window?: string): Promise<{ value: T; cpu: CpuUse; wallS: number }> {
    const before = snapshotCpu([process.pid, ...descendants(process.pid)]);
    const t0 = performance.now();
    const fromUs = monotonicUs();
    const value = await fn();
    if (window !== undefined) this.windows.push({ label: window, fromUs, toUs: monotonicUs() });
    const wallS = (performance.now() - t0) / 1000;
    const used = cpuSince(before);
    const cpu: CpuUse = {};
    for (const [pid, s] of used) {
      const label = this.label(pid);
      const prev = cpu[label]?.seconds ?? 0;
      cpu[label] = { seconds: Math.round((prev + s) * 100) / 100, coresUsed: Math.round(((prev + s) / wallS) * 100) / 100 };
    }
    return { value, cpu, wallS };
  }

  cpuLine(cpu: CpuUse, wallS: number): string {
    const entries = Object.entries(cpu)
      .filter(([, v]) => v.seconds >= 0.05)
      .sort((a, b) => b[1].seconds - a[1].seconds)
      .map(([k, v]) => `${k} ${v.seconds.toFixed(1)} s (${Math.round(v.coresUsed * 100)}%)`);
    return `CPU over ${wallS.toFixed(1)} s wall (% of one core): ${entries.join(', ')}`;
  }

  private nextAddress = 2;

  /** `k` loopback addresses not used before in this run (127.0.0.2, 127.0.0.3, … 127.0.1.0, …). */
  sourceAddrs(k: number): string[] {
    return Array.from({ length: k }, () => {
      const a = this.nextAddress++;
      return `127.0.${Math.floor(a / 256)}.${a % 256}`;
    });
  }

  /** Commands the database server has answered so far by name (its own counters), or undefined when it does not say. */
  async databaseCommands(): Promise<Record<string, number> | undefined> {
    try {
      const counts: Record<string, number> = {};
      if (this.dbMetricsUrl !== undefined) {
        const text = await (await fetch(this.dbMetricsUrl)).text();
        for (const m of text.matchAll(/^ferretdb_client_requests_total\{command="([^"]*)"[^}]*\} (\d+(?:\.\d+)?(?:e\+\d+)?)$/gm)) {
          const name = m[1] ?? '?';
          counts[name] = (counts[name] ?? 0) + Number(m[2]);
        }
        return counts;
      }
      const status = await this.db.admin().command({ serverStatus: 1 });
      const ops = status['opcounters'] as Record<string, number> | undefined;
      return ops === undefined ? undefined : { ...ops };
    } catch {
      return undefined;
    }
  }

  /** Assessment documents in the database (the answer path's cost on FerretDB grows with it). */
  async countAssessments(): Promise<number | undefined> {
    try {
      return await this.db.collection('assessments').estimatedDocumentCount({ maxTimeMS: 10_000 });
    } catch {
      return undefined;
    }
  }

  /** Invites and redeems `n` candidates for the demo test through the bus, `parallel` at a time. */
  async invite(n: number, label: string, maxMs = 180_000): Promise<string[]> {
    const bar = new ProgressBar(label);
    const tokens: string[] = [];
    const recruiter = { user_id: this.seed.recruiter.user_id, role: 'recruiter' as const };
    const run = randomBytes(3).toString('hex');
    let next = 0;
    let failures = 0;
    const t0 = performance.now();
    const lane = async (): Promise<void> => {
      while (next < n && failures < 50 && performance.now() - t0 < maxMs) {
        const i = next++;
        try {
          const inv = await this.bus.request('authInvite', {
            caller: recruiter,
            test_id: DEMO_TEST_ID,
            candidate_email: `load-${run}-${i}@bench.example`,
          });
          const red = await this.bus.request('authRedeem', { code: inv.code });
          tokens.push(red.token);
        } catch {
          failures++;
        }
        bar.update(tokens.length, n, `${failures} failed`);
      }
    };
    // Eight at a time: auth finds users and invitations by email and code, which FerretDB answers by
    // reading the whole collection; with more in parallel each one waits past the handler timeout
    // once a few thousand candidates were invited, and the step is left without candidates.
    await Promise.all(Array.from({ length: Math.min(8, n) }, lane));
    const secs = (performance.now() - t0) / 1000;
    bar.done(`${tokens.length} candidates, ${int(tokens.length / secs)}/s`);
    if (tokens.length === 0) throw new Error('could not invite any candidate');
    const invites = (this.report.invites ?? []) as unknown[];
    invites.push({ label, requested: n, got: tokens.length, failures, seconds: Math.round(secs * 10) / 10 });
    this.report.invites = invites;
    return tokens;
  }

  targets(): { gateway: Target; echo: Target | undefined } {
    const gw = this.platform.gatewayUrls[0] as string;
    return {
      gateway: { kind: 'gateway', url: `${gw.replace(/^http/, 'ws')}/ws/assessment` },
      echo: this.echo === undefined ? undefined : { kind: 'echo', url: `ws://127.0.0.1:${this.echo.port}/` },
    };
  }

  // --- scenario 1: idle sockets -----------------------------------------------------------------

  async idle(tokens: string[]): Promise<void> {
    const { opts, pool } = this;
    const limit = fdLimit(this.gatewayPid);
    const used = openFds(this.gatewayPid) ?? 0;
    // Leave room for what the gateway opens besides sockets (NATS reconnects, HTTP, files).
    const fdRoom = limit === undefined ? Number.POSITIVE_INFINITY : limit.soft - used - 64;
    const n = Math.max(1, Math.min(opts.connections, fdRoom));
    // At most 10,000 sockets per source address, from ports 10000 up (below the ephemeral range).
    const perAddress = 10_000;
    const firstPort = 10_000;
    const { gateway, echo } = this.targets();
    const runOne = async (target: Target, pid: number) => {
      const addrs = Array.from({ length: pool.size }, (_, w) =>
        this.sourceAddrs(Math.max(1, Math.ceil(split(n, pool.size, w) / perAddress))),
      );
      await this.settle(`before idle (${target.kind})`);
      const rssBefore = rssBytes(pid) ?? 0;
      const m = await this.measured(
        async () => {
          const ramp = await pool.run<IdleResult>(`idle: ${target.kind} ramp`, Math.ceil(n / opts.ramp) * 1000 + 60_000, (w) => ({
            cmd: 'idle',
            target,
            tokens,
            count: split(n, pool.size, w),
            rate: opts.ramp / pool.size,
            sourceAddrs: addrs[w] ?? ['127.0.0.1'],
            firstPort,
            maxPending: 256,
            rampTimeoutMs: Math.ceil((n / opts.ramp) * 1000 * 4) + 20_000,
            connectTimeoutMs: 15_000,
          }));
          const ready = ramp.reduce((a, r) => a + r.ready, 0);
          pool.barDone(`${int(ready)} of ${int(n)} ready`);
          // Hold: the sockets stay open while the server's RSS is sampled.
          const bar = new ProgressBar(`idle: ${target.kind} hold`);
          const samples: number[] = [];
          const t0 = Date.now();
          while (Date.now() - t0 < opts.idleHoldMs) {
            samples.push(rssBytes(pid) ?? 0);
            bar.update(Date.now() - t0, opts.idleHoldMs, `RSS ${mib(samples[samples.length - 1] ?? 0)}`);
            await sleep(250);
          }
          const rssHeld = rssBytes(pid) ?? 0;
          const counted = await pool.run<IdleCountResult>(undefined, 30_000, () => ({ cmd: 'idle-count' }));
          const held = counted.reduce((a, r) => a + r.open, 0);
          bar.done(`${int(held)} held, RSS ${mib(rssHeld)}`);
          await pool.run<IdleReleaseResult>(undefined, 60_000, () => ({ cmd: 'idle-release' }));
          return { ramp, held, rssHeld, rssPeak: Math.max(...samples, rssHeld) };
        },
        target.kind === 'gateway' ? 'idle sockets' : undefined,
      );
      await sleep(2000);
      const { ramp, held, rssHeld, rssPeak } = m.value;
      const connect = percentiles(mergeHists(ramp.map((r) => r.connectHist)));
      return {
        target: target.kind,
        requested: n,
        started: ramp.reduce((a, r) => a + r.started, 0),
        ready: ramp.reduce((a, r) => a + r.ready, 0),
        held,
        failed: sumCounts(ramp.map((r) => r.failed)),
        sourceAddrs: addrs.flat(),
        rampSeconds: Math.max(...ramp.map((r) => r.rampMs)) / 1000,
        connectMs: connect,
        rssBefore,
        rssHeld,
        rssPeak,
        rssAfterRelease: rssBytes(pid) ?? 0,
        bytesPerSocket: held > 0 ? (rssHeld - rssBefore) / held : 0,
        cpu: m.cpu,
        wallSeconds: m.wallS,
      };
    };
    const gw = await runOne(gateway, this.gatewayPid);
    const base = echo !== undefined && this.echo?.child.pid !== undefined ? await runOne(echo, this.echo.child.pid) : undefined;
    this.report.idle = {
      fdLimit: limit,
      gatewayFdsBefore: used,
      cappedByFdLimit: n < opts.connections,
      rampPerSecond: opts.ramp,
      gateway: gw,
      echo: base,
    };
    this.line('## Idle authenticated sockets (one gateway)');
    this.line();
    if (n < opts.connections) {
      this.line(
        `Asked for ${int(opts.connections)} sockets; the gateway's open-file limit is ${String(limit?.soft)} with ${used} in use, so ${int(n)} were opened.`,
      );
    }
    this.line(
      `- held: ${int(gw.held)} of ${int(n)} ${ratio(gw.held, base?.held)} (${int(gw.ready)} authenticated during the ramp, offered at ${int(opts.ramp)}/s, ` +
        `achieved ${int(gw.ready / gw.rampSeconds)}/s ${ratio(gw.ready / gw.rampSeconds, base === undefined ? undefined : base.ready / base.rampSeconds)}; ` +
        `failures: ${countsText(gw.failed)}; from ${gw.sourceAddrs.length} source addresses)`,
    );
    this.line(
      `- gateway RSS: ${mib(gw.rssBefore)} before, ${mib(gw.rssHeld)} holding, ${mib(gw.rssAfterRelease)} after release; ` +
        `**${kib(gw.bytesPerSocket)} per socket** ${ratio(gw.bytesPerSocket, base?.bytesPerSocket)}`,
    );
    this.line(
      `- connect + authenticate: p50 ${ms(gw.connectMs.p50)} ms, p99 ${ms(gw.connectMs.p99)} ms ${ratio(gw.connectMs.p99, base?.connectMs.p99, 'echo p99')}`,
    );
    if (base !== undefined)
      this.line(`- echo server: ${int(base.held)} held, ${kib(base.bytesPerSocket)} per socket, connect p99 ${ms(base.connectMs.p99)} ms`);
    this.line(`- ${this.cpuLine(gw.cpu, gw.wallSeconds)}`);
    this.line();
  }

  // --- scenario 2: heartbeat storm ----------------------------------------------------------------

  async heartbeat(tokens: string[]): Promise<void> {
    const { opts, pool } = this;
    const { gateway, echo } = this.targets();
    const runOne = async (target: Target) => {
      await this.settle(`before heartbeat (${target.kind})`);
      const m = await this.measured(
        () =>
          pool.run<HeartbeatResult>(`heartbeat: ${target.kind}`, opts.warmupMs + opts.durationMs + 120_000, (w) => ({
            cmd: 'heartbeat',
            target,
            tokens,
            connections: Math.max(1, split(opts.concurrency, pool.size, w)),
            warmupMs: opts.warmupMs,
            durationMs: opts.durationMs,
            connectTimeoutMs: 15_000,
          })),
        target.kind === 'gateway' ? 'heartbeat storm' : undefined,
      );
      const frames = m.value.reduce((a, r) => a + r.frames, 0);
      const perSecond = frames / (opts.durationMs / 1000);
      pool.barDone(`${int(perSecond)} frames/s`);
      await sleep(1000);
      return {
        target: target.kind,
        connections: m.value.reduce((a, r) => a + r.connected, 0),
        failed: sumCounts(m.value.map((r) => r.failed)),
        framesPerSecond: perSecond,
        latencyMs: percentiles(mergeHists(m.value.map((r) => r.hist))),
        errors: sumCounts(m.value.map((r) => r.errors)),
        cpu: m.cpu,
        wallSeconds: m.wallS,
      };
    };
    const gw = await runOne(gateway);
    const base = echo === undefined ? undefined : await runOne(echo);
    this.report.heartbeat = { concurrency: opts.concurrency, durationSeconds: opts.durationMs / 1000, gateway: gw, echo: base };
    const l = gw.latencyMs;
    this.line(`## Heartbeat storm (closed loop, ${int(gw.connections)} sockets, one frame in flight each)`);
    this.line();
    const cpuPerFrame = (r: typeof gw, label: string): number =>
      ((r.cpu[label]?.seconds ?? 0) * 1e6) / Math.max(1, r.framesPerSecond * r.wallSeconds);
    const gwUs = cpuPerFrame(gw, 'gateway');
    const echoUs = base === undefined ? undefined : cpuPerFrame(base, 'echo-server');
    this.line(
      `- gateway: **${int(gw.framesPerSecond)} frames/s** ${ratio(gw.framesPerSecond, base?.framesPerSecond)}; errors: ${countsText(gw.errors)}`,
    );
    this.line(
      `- server CPU per frame (user + system over the run, warm-up included): gateway ${gwUs.toFixed(0)} µs ${ratio(gwUs, echoUs)}` +
        (echoUs === undefined ? '' : `, echo server ${echoUs.toFixed(0)} µs`),
    );
    this.line(
      `- latency: p50 ${ms(l.p50)} ms ${ratio(l.p50, base?.latencyMs.p50)}, p90 ${ms(l.p90)} ms ${ratio(l.p90, base?.latencyMs.p90)}, ` +
        `p99 ${ms(l.p99)} ms ${ratio(l.p99, base?.latencyMs.p99)}, p99.9 ${ms(l.p999)} ms ${ratio(l.p999, base?.latencyMs.p999)}`,
    );
    if (base !== undefined) {
      const b = base.latencyMs;
      this.line(
        `- echo server: ${int(base.framesPerSecond)} frames/s, p50 ${ms(b.p50)} ms, p90 ${ms(b.p90)} ms, p99 ${ms(b.p99)} ms, p99.9 ${ms(b.p999)} ms`,
      );
      this.line(`- echo: ${this.cpuLine(base.cpu, base.wallSeconds)}`);
    }
    this.line(`- gateway run: ${this.cpuLine(gw.cpu, gw.wallSeconds)}`);
    this.line();
  }

  // --- scenario 3: answer path ----------------------------------------------------------------------

  async answers(): Promise<void> {
    const { opts, pool } = this;
    const { gateway, echo } = this.targets();
    const drainMs = 5000;
    // The echo baseline is steady: a shorter window is enough.
    const echoDurationMs = Math.min(opts.durationMs, 8000);
    type Step = ReturnType<typeof summarizeAnswers> & {
      offered: number;
      sessions: number;
      /** Seconds over which the sessions started, before the warm-up. */
      spreadSeconds: number;
      /** Latency second by second (gateway runs; also drawn in answer-timeline-*.svg). */
      timeline: TimelinePoint[] | undefined;
      candidates: number;
      cpu: CpuUse;
      wallSeconds: number;
      /** Database commands per answer, from the server's own counters: in all, and by command. */
      dbCommandsPerAnswer: number | undefined;
      dbCommands: Record<string, number> | undefined;
    };
    const steps: { offered: number; gateway: Step & { assessmentsBefore: number | undefined }; echo: Step | undefined }[] = [];
    const rounds: { stored: number; offered: number; gateway: Step & { assessmentsBefore: number | undefined } }[] = [];
    const summarizeAnswers = (rs: AnswersResult[], windowMs: number) => {
      const completedInWindow = rs.reduce((a, r) => a + r.completedInWindow, 0);
      return {
        achieved: completedInWindow / (windowMs / 1000),
        windowSeconds: windowMs / 1000,
        scheduled: rs.reduce((a, r) => a + r.scheduled, 0),
        completed: rs.reduce((a, r) => a + r.completed, 0),
        answeredAll: rs.reduce((a, r) => a + r.answeredAll, 0),
        /** Scheduled in the window, never answered: in the latency figures with their age at the end. */
        unfinished: rs.reduce((a, r) => a + r.censored, 0),
        latencyMs: percentiles(mergeHists(rs.map((r) => r.hist))),
        questionMs: percentiles(mergeHists(rs.map((r) => r.questionHist))),
        setupMs: percentiles(mergeHists(rs.map((r) => r.setupHist))),
        sessionsStarted: rs.reduce((a, r) => a + r.sessionsStarted, 0),
        sessionsFinished: rs.reduce((a, r) => a + r.sessionsFinished, 0),
        backlogAtEnd: rs.reduce((a, r) => a + r.backlogAtEnd, 0),
        noReplyAtEnd: rs.reduce((a, r) => a + r.noReplyAtEnd, 0),
        maxBacklog: rs.reduce((a, r) => a + r.maxBacklog, 0),
        errors: sumCounts(rs.map((r) => r.errors)),
      };
    };
    // Highest rate the platform managed when it could not keep up: no need to invite candidates
    // for far more answers than that in later steps (inviting is itself slow on a loaded database).
    let saturatedAt = Number.POSITIVE_INFINITY;
    /** Sessions of the first step that saturated: later steps keep at least as many (see below). */
    let saturatedSessions = 0;
    const rates = [...opts.rates];
    let autoRate: number | undefined;
    /** One measured step at `rate` on the gateway (what each round repeats). */
    const gatewayStep = async (rate: number) => {
      // Enough sessions that each needs at most ~8 answers/s (a cycle of 125 ms), at least 2 per
      // worker; past the rate at which the platform saturated, more sessions only add timeouts.
      // But never fewer than the first saturated step had: a saturated platform answers each
      // session in turn, so fewer sessions alone would lower what the next step achieves (measured:
      // 13, 25 and 50 sessions at 500/s offered achieved 25, 30 and 36 answers/s on an empty
      // database) and hide how the database's growth slows it.
      const expected = Math.min(rate, 1.5 * saturatedAt + 20);
      const sessions = opts.sessions ?? Math.max(2 * pool.size, saturatedSessions, Math.ceil(Math.min(rate, 2 * saturatedAt + 40) / 8));
      // One test's length at this rate: the time in which each session answers DEMO_ITEMS.
      const spreadMs = opts.spreadMs ?? Math.min(60_000, Math.round((DEMO_ITEMS * sessions * 1000) / rate));
      const seconds = (spreadMs + opts.warmupMs + opts.durationMs + drainMs) / 1000;
      const need = Math.ceil(((expected * seconds) / DEMO_ITEMS) * 1.15) + sessions + 10 * pool.size;
      await this.settle(`before answers ${rate}/s`);
      const tokens = await this.invite(need, `answers ${rate}/s: invite`);
      const runOne = async (target: Target, toks: string[], durationMs: number): Promise<Step> => {
        await this.settle(`answers ${rate}/s (${target.kind})`);
        const commandsBefore = target.kind === 'gateway' ? await this.databaseCommands() : undefined;
        const m = await this.measured(
          () =>
            pool.run<AnswersResult>(
              `answers ${rate}/s: ${target.kind}`,
              spreadMs + opts.warmupMs + durationMs + drainMs + 120_000,
              (w) => ({
                cmd: 'answers',
                target,
                testId: DEMO_TEST_ID,
                tokens: toks.filter((_, i) => i % pool.size === w),
                itemsPerSession: DEMO_ITEMS,
                rate: rate / pool.size,
                sessions: Math.max(1, split(sessions, pool.size, w)),
                spreadMs,
                warmupMs: opts.warmupMs,
                durationMs,
                drainMs,
                replyTimeoutMs: 10_000,
                connectTimeoutMs: 15_000,
              }),
            ),
          target.kind === 'gateway' ? `answers ${rate}/s` : undefined,
        );
        const s = summarizeAnswers(m.value, durationMs);
        const timeline = target.kind === 'gateway' ? this.writeTimeline(m.value, rate, spreadMs, durationMs) : undefined;
        const commandsAfter = commandsBefore === undefined ? undefined : await this.databaseCommands();
        const dbCommands =
          commandsBefore === undefined || commandsAfter === undefined || s.answeredAll === 0
            ? undefined
            : Object.fromEntries(
                Object.entries(commandsAfter)
                  .map(([name, n]) => [name, (n - (commandsBefore[name] ?? 0)) / s.answeredAll] as const)
                  .filter(([, n]) => n > 0),
              );
        const dbCommandsPerAnswer = dbCommands === undefined ? undefined : Object.values(dbCommands).reduce((a, b) => a + b, 0);
        pool.barDone(`${int(s.achieved)}/s, p99 ${ms(s.latencyMs.p99)} ms`);
        return {
          ...s,
          offered: rate,
          sessions,
          spreadSeconds: spreadMs / 1000,
          timeline,
          candidates: toks.length,
          cpu: m.cpu,
          wallSeconds: m.wallS,
          dbCommandsPerAnswer,
          dbCommands,
        };
      };
      const assessmentsBefore = await this.countAssessments();
      const gw = { ...(await runOne(gateway, tokens, opts.durationMs)), assessmentsBefore };
      if (gw.achieved < 0.9 * rate) {
        if (!Number.isFinite(saturatedAt)) saturatedSessions = sessions;
        saturatedAt = Math.min(saturatedAt, Math.max(gw.achieved, 1));
      }
      return { gw, runOne };
    };
    for (let r = 0; r < rates.length; r++) {
      const rate = rates[r] as number;
      const { gw, runOne } = await gatewayStep(rate);
      const base = echo === undefined ? undefined : await runOne(echo, [], echoDurationMs);
      steps.push({ offered: rate, gateway: gw, echo: base });
      // If even the lowest rate saturated the platform, add one step at half of what it managed, so
      // the report also shows the latency of a platform that keeps up.
      if (r === rates.length - 1 && autoRate === undefined && Number.isFinite(saturatedAt) && saturatedAt < 0.9 * Math.min(...opts.rates)) {
        autoRate = Math.max(1, Math.round(saturatedAt / 2));
        rates.push(autoRate);
      }
    }
    steps.sort((a, b) => a.offered - b.offered);
    // Rounds: the best rate again once more finished assessments are stored (added through the
    // store, as the service leaves them), to show whether the answer path slows as data grows.
    const best = steps.reduce<(typeof steps)[number] | undefined>(
      (b, x) => (b === undefined || x.gateway.achieved > b.gateway.achieved ? x : b),
      undefined,
    );
    if (best !== undefined) rounds.push({ stored: best.gateway.assessmentsBefore ?? 0, offered: best.offered, gateway: best.gateway });
    for (const target of opts.stored.filter((n) => n > 0)) {
      if (best === undefined) break;
      const bar = new ProgressBar(`stored assessments → ${int(target)}`);
      const added = await seedStoredAssessments(this.db, DEMO_TEST_ID, target, (done, total) => {
        bar.update(done, total, `${int(done)} of ${int(total)} added`);
      });
      bar.done(`${int(added)} added`);
      const { gw } = await gatewayStep(best.offered);
      rounds.push({ stored: target, offered: best.offered, gateway: gw });
    }
    this.report.answers = {
      autoRate,
      test: DEMO_TEST_ID,
      items: DEMO_ITEMS,
      durationSeconds: opts.durationMs / 1000,
      echoDurationSeconds: echoDurationMs / 1000,
      warmupSeconds: opts.warmupMs / 1000,
      steps,
      rounds,
    };
    const points: PlotPoint[] = steps.map((s) => ({
      offered: s.offered,
      achieved: s.gateway.achieved,
      gateway: s.gateway.latencyMs,
      echo: s.echo?.latencyMs,
    }));
    const svg = latencyPlot(points, {
      title: 'Answer path: latency vs offered load',
      targetMs: TARGETS.answersP99Ms,
      targetAt: TARGETS.answersP99AtRate,
    });
    writeFileSync(join(opts.out, 'answer-latency.svg'), svg);
    this.line('## Answer path (open loop, latency from the scheduled send time)');
    this.line();
    this.line(
      'Each answer is scheduled at a fixed rate and sent on the next free candidate session (which has already fetched its question); ' +
        'latency runs from the scheduled time to `answer_feedback`. Answers that never completed count with their age at the end of the run. ' +
        `The sessions start evenly over the first ${steps.map((x) => `${x.gateway.spreadSeconds.toFixed(1)} s`).join(', ')} of each step ` +
        `(${opts.spreadMs === undefined ? 'one test’s length at its rate' : '--spread'}), the offered rate rising with them, so that they stand at every stage of a test ` +
        `as candidates do; then ${opts.warmupMs / 1000} s of warm-up, then the measured ${opts.durationMs / 1000} s.` +
        (autoRate === undefined ? '' : ` The ${autoRate}/s step was added by the tool: every requested rate saturated the platform.`),
    );
    this.line();
    this.line(
      '| offered/s | achieved/s | p50 ms | p90 ms | p99 ms | p99.9 ms | unfinished | get_question p50 / p99 ms | sessions (started) | assessments in db before | errors | gateway CPU |',
    );
    this.line('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |');
    for (const s of steps) {
      const g = s.gateway;
      const e = s.echo?.latencyMs;
      const cell = (v: number, b: number | undefined): string => `${ms(v)}${b === undefined ? '' : ` (${ratio(v, b)})`}`;
      this.line(
        `| ${int(s.offered)} | ${int(g.achieved)}${s.echo === undefined ? '' : ` (${ratio(g.achieved, s.echo.achieved)})`} | ${cell(g.latencyMs.p50, e?.p50)} | ${cell(g.latencyMs.p90, e?.p90)} | ` +
          `${cell(g.latencyMs.p99, e?.p99)} | ${cell(g.latencyMs.p999, e?.p999)} | ${int(g.unfinished)} of ${int(g.scheduled)} | ` +
          `${ms(g.questionMs.p50)} / ${ms(g.questionMs.p99)} | ${int(g.sessions)} (${int(g.sessionsStarted)}) | ` +
          `${g.assessmentsBefore === undefined ? '?' : int(g.assessmentsBefore)} | ${countsText(g.errors)} | ` +
          `${Math.round((g.cpu.gateway?.coresUsed ?? 0) * 100)}% |`,
      );
    }
    this.line();
    if (steps.some((s) => s.echo !== undefined)) {
      this.line(`Echo baseline (same client code and frames, echoed back; ${echoDurationMs / 1000} s windows):`);
      this.line();
      this.line('| offered/s | achieved/s | p50 ms | p90 ms | p99 ms | p99.9 ms | unfinished |');
      this.line('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
      for (const s of steps) {
        if (s.echo === undefined) continue;
        const e = s.echo;
        this.line(
          `| ${int(s.offered)} | ${int(e.achieved)} | ${ms(e.latencyMs.p50)} | ${ms(e.latencyMs.p90)} | ${ms(e.latencyMs.p99)} | ${ms(e.latencyMs.p999)} | ${int(e.unfinished)} |`,
        );
      }
      this.line();
    }
    for (const s of steps) this.line(`- ${int(s.offered)}/s on the gateway: ${this.cpuLine(s.gateway.cpu, s.gateway.wallSeconds)}`);
    this.line();
    this.line('### As stored assessments accumulate');
    this.line();
    this.line(
      'The best rate again after finished assessments were added through the store. CPU is per answer of the whole run (every ' +
        'process, the spread, the warm-up and session set-up included, over every answer acknowledged in it); database commands are ' +
        'the server’s own count divided by the same answers.',
    );
    this.line();
    const procs = ['gateway', 'assessment', 'nats-server', 'ferretdb', 'mongod'].filter((p) =>
      rounds.some((r) => r.gateway.cpu[p] !== undefined),
    );
    this.line(
      `| stored before | offered/s | achieved/s | p50 ms | p99 ms | errors | db commands / answer | ${procs.map((p) => `${p} CPU ms / answer`).join(' | ')} |`,
    );
    this.line(`| ---: | ---: | ---: | ---: | ---: | --- | ---: | ${procs.map(() => '---:').join(' | ')} |`);
    for (const r of rounds) {
      const g = r.gateway;
      const perAnswer = (p: string): string => {
        const used = g.cpu[p]?.seconds;
        return used === undefined || g.answeredAll === 0 ? '?' : ms((1000 * used) / g.answeredAll);
      };
      this.line(
        `| ${g.assessmentsBefore === undefined ? int(r.stored) : int(g.assessmentsBefore)} | ${int(r.offered)} | ${int(g.achieved)} | ${ms(g.latencyMs.p50)} | ${ms(g.latencyMs.p99)} | ` +
          `${countsText(g.errors)} | ${g.dbCommandsPerAnswer === undefined ? '?' : g.dbCommandsPerAnswer.toFixed(2)} | ${procs.map(perAnswer).join(' | ')} |`,
      );
    }
    this.line();
    for (const r of rounds) {
      const by = r.gateway.dbCommands;
      if (by === undefined) continue;
      const parts = Object.entries(by)
        .sort((a, b) => b[1] - a[1])
        .map(([name, n]) => `${name} ${n.toFixed(2)}`);
      this.line(`- database commands per answer with ${int(r.gateway.assessmentsBefore ?? r.stored)} stored: ${parts.join(', ')}`);
    }
    this.line();
  }

  /** Merges the workers' per-second histograms of one step and draws them; returns the points. */
  private writeTimeline(results: readonly AnswersResult[], rate: number, spreadMs: number, durationMs: number): TimelinePoint[] {
    const seconds = Math.max(0, ...results.map((r) => r.timeline.length));
    const points: TimelinePoint[] = [];
    for (let second = 0; second < seconds; second++) {
      const p = percentiles(mergeHists(results.flatMap((r) => r.timeline.slice(second, second + 1))));
      points.push({ second, count: p.count, p50: p.p50, p99: p.p99, max: p.max });
    }
    const n = ++this.timelines;
    const windowStartS = (spreadMs + this.opts.warmupMs) / 1000;
    const svg = timelinePlot(points, {
      title: `Answer latency second by second at ${int(rate)}/s offered (step ${n})`,
      spreadS: spreadMs / 1000,
      windowStartS,
      windowEndS: windowStartS + durationMs / 1000,
      target:
        rate <= TARGETS.answersModerateRate
          ? {
              ms: TARGETS.answersModerateP99Ms,
              label: `target p99 ≤ ${TARGETS.answersModerateP99Ms} ms at ${TARGETS.answersModerateRate}/s`,
            }
          : { ms: TARGETS.answersP99Ms, label: `target p99 ≤ ${TARGETS.answersP99Ms} ms at ${TARGETS.answersP99AtRate}/s` },
    });
    writeFileSync(join(this.opts.out, `answer-timeline-${String(n).padStart(2, '0')}-${rate}.svg`), svg);
    return points;
  }

  // --- scenario 4: next-item selection -----------------------------------------------------------------

  async select(): Promise<void> {
    const bar = new ProgressBar('select: 5,000-item bank');
    bar.update(0, 1, 'running libs/cat/bench/select.bench.ts');
    const r = await runSelectBench({
      items: 5000,
      runs: this.opts.selectRuns,
      timeoutMs: 300_000,
      onPid: (pid) => this.setLabel(pid, 'select-bench'),
    });
    const main = r.scenarios[r.scenarios.length - 1];
    bar.done(main === undefined ? 'no figures parsed' : `median ${main.medianUs} µs`);
    this.report.select = r;
    this.line(`## Next-item selection (5,000-item bank, ${int(r.runs)} timed runs, one process)`);
    this.line();
    if (r.baseline !== undefined)
      this.line(`- baseline loop (3PL information over the bank + argmax): median ${r.baseline.medianUs} µs, p99 ${r.baseline.p99Us} µs`);
    for (const s of r.scenarios) {
      this.line(
        `- ${s.name}: **median ${s.medianUs} µs**, p99 ${s.p99Us} µs ${ratio(s.medianUs, r.baseline?.medianUs, 'baseline loop')}` +
          (s.coldMedianUs === undefined ? '' : `; new bank array per call: median ${s.coldMedianUs} µs`),
      );
    }
    if (r.scenarios.length === 0) for (const l of r.output) this.line(`    ${l}`);
    this.line();
  }

  // --- targets ------------------------------------------------------------------------------------------

  targetsTable(): void {
    type Row = { target: string; measured: string; met: boolean | undefined; note: string };
    const rows: Row[] = [];
    const idle = this.report.idle as { gateway: { held: number; bytesPerSocket: number }; cappedByFdLimit: boolean } | undefined;
    if (idle !== undefined) {
      const held = idle.gateway.held;
      rows.push({
        target: `≥ ${int(TARGETS.idleSockets)} authenticated sockets on one gateway`,
        measured: int(held),
        met: held >= TARGETS.idleSockets,
        note:
          held >= TARGETS.idleSockets
            ? ''
            : `short by ${int(TARGETS.idleSockets - held)} (${((1 - held / TARGETS.idleSockets) * 100).toFixed(1)}%)${idle.cappedByFdLimit ? '; capped by the open-file limit' : ''}`,
      });
      const b = idle.gateway.bytesPerSocket;
      rows.push({
        target: '≤ 15 KiB gateway RSS per socket',
        measured: kib(b),
        met: b <= TARGETS.idleBytesPerSocket,
        note:
          b <= TARGETS.idleBytesPerSocket
            ? `${((1 - b / TARGETS.idleBytesPerSocket) * 100).toFixed(0)}% headroom`
            : `over by ${kib(b - TARGETS.idleBytesPerSocket)} (×${(b / TARGETS.idleBytesPerSocket).toFixed(2)})`,
      });
    }
    const hb = this.report.heartbeat as { gateway: { framesPerSecond: number }; echo?: { framesPerSecond: number } } | undefined;
    if (hb !== undefined) {
      const share = hb.echo === undefined ? undefined : hb.gateway.framesPerSecond / hb.echo.framesPerSecond;
      rows.push({
        target: 'heartbeat ≥ 70% of echo frames/s',
        measured:
          share === undefined
            ? `${int(hb.gateway.framesPerSecond)}/s (no echo run)`
            : `${(share * 100).toFixed(0)}% (${int(hb.gateway.framesPerSecond)}/s vs ${int(hb.echo?.framesPerSecond ?? 0)}/s)`,
        met: share === undefined ? undefined : share >= TARGETS.heartbeatShareOfEcho,
        note:
          share === undefined || share >= TARGETS.heartbeatShareOfEcho
            ? ''
            : `short by ${((TARGETS.heartbeatShareOfEcho - share) * 100).toFixed(0)} points`,
      });
    }
    type AStep = { offered: number; gateway: { achieved: number; latencyMs: Percentiles; errors: Counts; completed: number } };
    const ans = this.report.answers as { steps: AStep[] } | undefined;
    if (ans !== undefined) {
      // Sustained: the highest offered rate served at ≥ 95% with < 1% errors.
      const ok = ans.steps.filter(
        (s) => s.gateway.achieved >= 0.95 * s.offered && sumErr(s.gateway.errors) < 0.01 * Math.max(1, s.gateway.completed),
      );
      const sustained = ok.length === 0 ? 0 : Math.max(...ok.map((s) => s.gateway.achieved));
      const best = Math.max(...ans.steps.map((s) => s.gateway.achieved));
      const tried = Math.max(...ans.steps.map((s) => s.offered));
      rows.push({
        target: `≥ ${int(TARGETS.answersSustained)} answers/s sustained`,
        measured: `${int(sustained)}/s sustained (best ${int(best)}/s)`,
        met: sustained >= 0.95 * TARGETS.answersSustained && tried >= TARGETS.answersSustained,
        note:
          tried < TARGETS.answersSustained
            ? `not offered (highest rate ${int(tried)}/s)`
            : sustained >= 0.95 * TARGETS.answersSustained
              ? ''
              : `short by ${int(TARGETS.answersSustained - sustained)}/s (${((1 - sustained / TARGETS.answersSustained) * 100).toFixed(0)}%)`,
      });
      const at = ans.steps.find((s) => s.offered === TARGETS.answersP99AtRate);
      rows.push({
        target: `p99 ≤ ${TARGETS.answersP99Ms} ms at ${int(TARGETS.answersP99AtRate)} answers/s`,
        measured: at === undefined ? 'not measured' : `${ms(at.gateway.latencyMs.p99)} ms (achieved ${int(at.gateway.achieved)}/s)`,
        met: at === undefined ? undefined : at.gateway.latencyMs.p99 <= TARGETS.answersP99Ms && at.gateway.achieved >= 0.95 * at.offered,
        note:
          at === undefined
            ? `add ${TARGETS.answersP99AtRate} to --rates`
            : at.gateway.latencyMs.p99 <= TARGETS.answersP99Ms
              ? ''
              : `over by ${ms(at.gateway.latencyMs.p99 - TARGETS.answersP99Ms)} ms (×${(at.gateway.latencyMs.p99 / TARGETS.answersP99Ms).toFixed(1)})`,
      });
    }
    const sel = this.report.select as SelectResult | undefined;
    const selMain = sel?.scenarios[sel.scenarios.length - 1];
    if (sel !== undefined) {
      rows.push({
        target: 'selection ≤ 1 ms median (5,000 items)',
        measured: selMain === undefined ? 'no figures' : `${selMain.medianUs} µs (${selMain.name})`,
        met: selMain === undefined ? undefined : selMain.medianUs <= TARGETS.selectMedianUs,
        note:
          selMain === undefined
            ? ''
            : selMain.medianUs <= TARGETS.selectMedianUs
              ? `${(TARGETS.selectMedianUs / selMain.medianUs).toFixed(1)}× headroom`
              : `over by ${selMain.medianUs - TARGETS.selectMedianUs} µs`,
      });
    }
    this.report.targets = rows;
    const head = ['## Targets', '', '| target | measured | met | note |', '| --- | --- | :---: | --- |'];
    const body = rows.map((r) => `| ${r.target} | ${r.measured} | ${r.met === undefined ? '?' : r.met ? 'yes' : '**no**'} | ${r.note} |`);
    this.summary.unshift(...head, ...body, '');
  }
}

function sumErr(c: Counts): number {
  return Object.values(c).reduce((a, b) => a + b, 0);
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const opts = readOptions();
  const killer = setTimeout(() => {
    process.stderr.write(`bench: still running after ${MAX_RUN_MS / 60_000} minutes, giving up\n`);
    process.exit(4);
  }, MAX_RUN_MS);
  killer.unref();
  mkdirSync(opts.out, { recursive: true });
  const profileDir = join(opts.out, 'profiles');
  if (opts.cpuProf) mkdirSync(profileDir, { recursive: true });
  const serviceLog = join(opts.out, 'services.log');
  const log = (line: string): void => appendFileSync(serviceLog, `${line}\n`);
  const started = Date.now();
  process.stderr.write(`bench: results in ${relative(process.cwd(), opts.out) || '.'}\n`);

  const boot = new ProgressBar('start: nats, db, services');
  boot.update(0, 3, 'infrastructure');
  let infra: Infra | undefined;
  let platform: Platform | undefined;
  let bus: Bus | undefined;
  let pool: WorkerPool | undefined;
  let echo: EchoServer | undefined;
  let bench: Bench | undefined;
  let mongo: MongoClient | undefined;
  try {
    // NATS_URL / MONGO_URL point the run at existing servers (e.g. a real MongoDB) instead of local ones.
    infra = await startInfra({ docker: false, log, natsUrl: process.env.NATS_URL, mongoUrl: process.env.MONGO_URL });
    boot.update(1, 3, 'services');
    const dbName = `bench_${randomBytes(4).toString('hex')}`;
    platform = await startPlatform({
      natsUrl: infra.natsUrl,
      mongoUrl: infra.mongoUrl,
      dbName,
      inheritEnv: process.env,
      natsSeeds: infra.natsIdentities === undefined ? undefined : seedsOf(infra.natsIdentities),
      log,
      env: {
        LOG_LEVEL: 'warn',
        // The idle and heartbeat scenarios share a few candidate tokens over thousands of sockets;
        // the per-user socket cap (10 by default) is not what they measure.
        MAX_SOCKETS_PER_USER: '1000000',
        ...(opts.cpuProf ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profileDir}` } : {}),
      },
      readyTimeoutMs: 60_000,
    });
    const gatewayPid = platform.processes.find((p) => p.service === 'gateway')?.proc.pid;
    if (gatewayPid === undefined) throw new Error('no gateway process');
    bus = await connectBus({
      servers: infra.natsUrl,
      nkeySeed: infra.natsIdentities?.cli.seed ?? process.env.NATS_NKEY_SEED,
      name: 'bench',
      log: createLogger({ service: 'bench', level: 'warn' }),
    });
    const seed = await seedDemo(bus);
    boot.update(2, 3, 'echo server and client workers');
    echo = opts.echo ? await startEchoServer() : undefined;
    pool = await WorkerPool.start(opts.workers);
    boot.done(`${infra.natsSource} + ${infra.mongoSource}, ${pool.size} client workers`);
    mongo = new MongoClient(infra.mongoUrl);
    await mongo.connect();
    bench = new Bench(opts, platform, bus, seed, pool, echo, gatewayPid, mongo.db(dbName));
    bench.dbMetricsUrl = infra.mongoMetricsUrl;

    const cpus = os.cpus();
    bench.report.machine = {
      availableParallelism: os.availableParallelism(),
      cpuModel: cpus[0]?.model,
      memoryBytes: os.totalmem(),
      platform: `${os.type()} ${os.release()} ${os.arch()}`,
      node: process.version,
      fdLimit: fdLimit(process.pid),
      infra: { nats: infra.natsSource, mongo: infra.mongoSource },
    };
    bench.report.options = { ...opts, scenarios: [...opts.scenarios] };
    bench.report.processes = bench.processes();
    await bench.calibrate();

    const shared =
      opts.scenarios.has('idle') || opts.scenarios.has('heartbeat')
        ? await bench.invite(opts.quick ? 5 : 20, 'invite shared candidates')
        : [];
    if (opts.scenarios.has('idle')) await bench.idle(shared);
    if (opts.scenarios.has('heartbeat')) await bench.heartbeat(shared);
    if (opts.scenarios.has('answers')) await bench.answers();
    if (opts.scenarios.has('select')) await bench.select();
  } finally {
    const stop = new ProgressBar('stop');
    stop.update(0, 1, 'workers, echo, services, infrastructure');
    await pool?.close().catch(() => undefined);
    await echo?.close().catch(() => undefined);
    await bus?.close().catch(() => undefined);
    await mongo?.close().catch(() => undefined);
    await platform?.close().catch(() => undefined);
    await infra?.close().catch(() => undefined);
    stop.done();
  }

  if (opts.cpuProf) {
    // One summary per service and measured gateway run (samples cut by time), plus the whole process.
    const profiles: (ProfileSummary & { service: string })[] = [];
    for (const f of readdirSync(profileDir).filter((x) => x.endsWith('.cpuprofile'))) {
      const pid = Number(/\.(\d+)\.\d+\.\d+\.cpuprofile$/.exec(f)?.[1]);
      const service = platform.processes.find((p) => p.proc.pid === pid)?.service ?? `pid ${pid}`;
      const file = join(profileDir, f);
      const profile = readProfile(file);
      for (const w of [...bench.windows, undefined]) profiles.push({ service, ...summarizeProfile(relative(REPO, file), profile, w) });
    }
    bench.report.profiles = profiles;
    bench.line('## CPU profiles (services run with --cpu-prof; self time as a share of non-idle samples)');
    bench.line();
    bench.line('Profiling slows the services: read the shares, not the figures above, from a --cpu-prof run.');
    bench.line();
    for (const w of bench.windows) {
      bench.line(`### During ${w.label}`);
      bench.line();
      const inWindow = profiles.filter((p) => p.window === w.label && p.busyMs > 0.05 * p.wallMs).sort((a, b) => b.busyMs - a.busyMs);
      for (const p of inWindow) {
        bench.line(
          `- **${p.service}** busy ${int(p.busyMs)} ms of ${int(p.wallMs)} ms (${Math.round((p.busyMs / Math.max(1, p.wallMs)) * 100)}% of a core)`,
        );
        bench.line(
          `  - by origin: ${p.byOrigin
            .slice(0, 8)
            .map((o) => `${o.origin} ${o.share}%`)
            .join(', ')}`,
        );
        bench.line(
          `  - top functions: ${p.topFunctions
            .slice(0, 8)
            .map((f) => `${f.fn} [${f.origin}] ${f.share}%`)
            .join('; ')}`,
        );
      }
      if (inWindow.length === 0) bench.line('- no service was more than 5% busy');
      bench.line();
    }
  }

  bench.targetsTable();
  const m = bench.report.machine as {
    availableParallelism: number;
    cpuModel?: string;
    memoryBytes: number;
    node: string;
    infra: { nats: string; mongo: string };
  };
  const procs = bench.report.processes as ProcInfo[];
  const cpuSets = new Set(procs.map((p) => p.cpus));
  const header = [
    `# Load run ${new Date(started).toISOString()}${opts.quick ? ' (--quick)' : ''}`,
    '',
    `Machine: ${m.availableParallelism} cores (${m.cpuModel ?? '?'}), ${(m.memoryBytes / 2 ** 30).toFixed(0)} GiB, Node ${m.node}; ` +
      `NATS: ${m.infra.nats}, database: ${m.infra.mongo}. Server side: nats, database, auth, assessment, chat, cleanup, one gateway; ` +
      `client side: ${opts.workers} worker processes and the orchestrator. ` +
      (cpuSets.size === 1
        ? `Every process may run on CPUs ${[...cpuSets][0] ?? '?'}: client and server share the same cores.`
        : `CPU sets: ${procs.map((p) => `${p.label} ${p.cpus ?? '?'}`).join(', ')}.`),
    '',
  ];
  bench.summary.unshift(...header);
  const wall = (Date.now() - started) / 1000;
  bench.line(
    `Run took ${wall.toFixed(0)} s. Report: ${relative(process.cwd(), join(opts.out, 'report.json'))}, plot: ${relative(process.cwd(), join(opts.out, 'answer-latency.svg'))}.`,
  );
  bench.report.wallSeconds = wall;
  writeFileSync(join(opts.out, 'report.json'), `${JSON.stringify(bench.report, null, 2)}\n`);
  const text = `${bench.summary.join('\n')}\n`;
  writeFileSync(join(opts.out, 'summary.md'), text);
  process.stdout.write(`\n${text}`);
  clearTimeout(killer);
}

await main();
