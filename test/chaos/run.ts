/**
 * Chaos run: `npm run chaos -- [--candidates 500] [--duration 600] [--faults 50] [--seed chaos-1]`
 * (`--help` lists the options).
 *
 * Starts the platform on a three-node NATS cluster (JetStream R3) and a database, with two
 * gateways and two assessment replicas, and lets N candidates take a test for about the given
 * time while a seeded random schedule kills one process after another with SIGKILL (any service
 * replica, a gateway, a NATS node, the database) and starts it again. At the end it checks every
 * answer a candidate saw acknowledged against the database, every event against the stream, and
 * writes chaos-results/<time>/report.json and summary.txt. Everything runs on 127.0.0.1 and stops
 * by itself; the exit code is 1 when an acknowledged answer was lost or doubled, a candidate did
 * not finish, or fewer faults than asked for were injected.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { WebSocket } from 'ws';
import { z } from 'zod';
import { findAssessments } from '../../services/assessment/src/repository.ts';
import { createRng } from '@ap/cat';
import type { ServiceName } from '@ap/stack';
import { resilientCandidate, tallyRuns } from '../support/candidate.ts';
import type { CandidateRun } from '../support/candidate.ts';
import { setup } from '../support/setup.ts';
import type { TestStack } from '../support/setup.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const STREAM = 'ASSESSMENT_EVENTS';

const HELP = `npm run chaos -- [options]

  --candidates N   candidates taking the test at once (default 500)
  --duration S     seconds of faults; the candidates are paced to finish about then (default 600)
  --faults N       faults to inject, spread over the duration (default 50; at least this many are asked for)
  --items N        questions per candidate (default 20)
  --seed TEXT      seed of the fault schedule (default chaos-1): the same seed, the same schedule
  --out DIR        where the report goes (default chaos-results)
  --help           this text
`;

const optionsSchema = z.object({
  candidates: z.coerce.number().int().min(1).max(5000).default(500),
  duration: z.coerce
    .number()
    .int()
    .min(10)
    .max(6 * 3600)
    .default(600),
  faults: z.coerce.number().int().min(1).max(10_000).default(50),
  items: z.coerce.number().int().min(1).max(30).default(20),
  seed: z.string().min(1).max(200).default('chaos-1'),
  out: z.string().min(1).default('chaos-results'),
});
type Options = z.infer<typeof optionsSchema>;

/** One process the schedule may kill. */
type Target =
  | { kind: 'service'; service: ServiceName; index: number; name: string }
  | { kind: 'nats'; node: number; name: string }
  | { kind: 'database'; name: string };

/** What happened to one fault. */
type FaultRecord = {
  index: number;
  target: string;
  /** Seconds since the candidates started. */
  at_s: number;
  /** How long the process was gone (kill to restart). */
  down_ms: number;
  /** From the restart until the process itself was ready again. */
  ready_ms: number;
  /** From the kill until both gateways answered a candidate's get_progress again (null: not within the limit). */
  recover_ms: number | null;
  /** The same, from the restart. */
  recover_after_restart_ms: number | null;
  /** What went wrong restarting it, if anything did. */
  error?: string;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      candidates: { type: 'string' },
      duration: { type: 'string' },
      faults: { type: 'string' },
      items: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help === true) return undefined;
  return optionsSchema.parse(values);
}

const frameSchema = z.object({ type: z.string(), data: z.record(z.string(), z.unknown()), reply_to: z.string().optional() });

/**
 * One end-to-end request through a gateway: a new socket, start_assessment (a resume) and
 * get_progress for the probe candidate. True when both come back as they should.
 */
function probeGateway(wsUrl: string, token: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${wsUrl}/ws/assessment?token=${encodeURIComponent(token)}`);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      ws.terminate();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    ws.on('error', () => done(false));
    ws.on('close', () => done(false));
    ws.on('open', () => ws.send(JSON.stringify({ type: 'start_assessment', data: {}, id: 'p1' })));
    ws.on('message', (raw: Buffer) => {
      const parsed = frameSchema.safeParse(JSON.parse(raw.toString('utf8')));
      if (!parsed.success) return;
      const f = parsed.data;
      if (f.reply_to === 'p1') {
        if (f.type === 'assessment_started') ws.send(JSON.stringify({ type: 'get_progress', data: {}, id: 'p2' }));
        else done(false);
      } else if (f.reply_to === 'p2') done(f.type === 'progress_update');
    });
  });
}

async function waitReady(url: string, limitMs: number, gone: () => boolean): Promise<boolean> {
  const until = Date.now() + limitMs;
  while (Date.now() < until && !gone()) {
    try {
      if ((await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) })).ok) return true;
    } catch {
      // not yet
    }
    await sleep(100);
  }
  return false;
}

/** Every message id in the event stream (an ordered consumer from the first message). */
async function streamMessageIds(stack: TestStack): Promise<string[]> {
  const info = await (await jetstreamManager(stack.bus.nc)).streams.info(STREAM);
  const ids: string[] = [];
  if (info.state.messages === 0) return ids;
  const consumer = await jetstream(stack.bus.nc).consumers.get(STREAM);
  const messages = await consumer.consume();
  for await (const m of messages) {
    ids.push(m.headers?.get('Nats-Msg-Id') ?? `(no id: seq ${m.seq})`);
    if (m.seq >= info.state.last_seq) break;
  }
  return ids;
}

function table(rows: (string | number)[][]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => String(r[c] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((v, c) => String(v).padEnd(widths[c] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  // Nearest rank: the median of two values is the lower one.
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? null;
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  if (options === undefined) {
    process.stdout.write(HELP);
    return 0;
  }
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const rng = createRng(options.seed);
  const startedAt = new Date();
  log(
    `chaos: ${options.candidates} candidates, ${options.items} questions each, ${options.faults} faults over ${options.duration} s, seed ${options.seed}`,
  );

  const stack = await setup({
    restartable: true,
    natsCluster: 3,
    metricsPorts: true,
    replicas: { gateway: 2, assessment: 2, auth: 1, chat: 1, cleanup: 1 },
    env: { REQUEST_TIMEOUT_MS: '10000', PRESENCE_INTERVAL_MS: '5000' },
  });
  // Whatever happens, the run ends: the stack is closed and the process exits.
  const hardStop = setTimeout(
    () => {
      log('chaos: the run took too long; stopping');
      void stack.close().finally(() => process.exit(2));
    },
    (options.duration + 900) * 1000,
  );
  hardStop.unref();
  try {
    const testId = await stack.createTest(
      { id: 'chaos', title: 'Questions under chaos', time_limit_s: Math.min(24 * 3600, options.duration * 3 + 1800), strategy: 'random' },
      options.items,
    );
    const wsUrls = stack.platform.gatewayUrls.map((u) => u.replace(/^http/, 'ws'));
    const invitedAt = Date.now();
    const [probe, ...candidates] = await stack.inviteCandidates(options.candidates + 1, testId);
    if (probe === undefined) throw new Error('no probe candidate');
    log(`chaos: ${options.candidates + 1} candidates invited in ${Date.now() - invitedAt} ms`);
    for (const url of wsUrls)
      if (!(await probeGateway(url, probe.token, 10_000))) throw new Error(`the probe fails on ${url} before any fault`);

    // Candidates think so that they finish about when the faults end; they start over the first tenth.
    const paceMs = (options.duration * 1000) / options.items;
    const runStartedAt = Date.now();
    const runs: Promise<CandidateRun>[] = candidates.map(async (c, i) => {
      await sleep((i / candidates.length) * options.duration * 100);
      return resilientCandidate({
        wsUrl: wsUrls[i % wsUrls.length] as string,
        wsUrls,
        token: c.token,
        deadlineMs: options.duration * 1000 + 300_000,
        thinkMs: Math.round(paceMs * (0.6 + (0.3 * ((i * 7919) % 100)) / 100)),
        requestTimeoutMs: 12_000,
        choose: (qid, ids) => ids[(qid.length + i) % ids.length] as string,
      });
    });

    const targets: Target[] = [
      ...stack.platform.processes.map((p): Target => ({
        kind: 'service',
        service: p.service,
        index: p.index,
        name: `${p.service}-${p.index}`,
      })),
      ...(stack.natsNodes ?? []).map((n, node): Target => ({ kind: 'nats', node, name: `nats-${n.name}` })),
      { kind: 'database', name: 'database' },
    ];
    /** Kills the target with SIGKILL, waits `downMs`, starts it again; resolves with how long it took to be ready. */
    const killAndRestart = async (target: Target, downMs: number, restarted: () => number): Promise<number> => {
      if (target.kind === 'service') {
        await stack.platform.kill(target.service, target.index);
        await sleep(downMs);
        const restartedAt = restarted();
        const entry = () => stack.platform.processes.find((p) => p.service === target.service && p.index === target.index);
        // As a supervisor (Kubernetes) would: a process that exits while starting is started again.
        for (let attempt = 1; ; attempt++) {
          await stack.platform.restart(target.service, target.index);
          const metricsUrl = entry()?.metricsUrl;
          if (metricsUrl === undefined || (await waitReady(metricsUrl, 60_000, () => entry()?.proc.exited() === true)))
            return Date.now() - restartedAt;
          const proc = entry()?.proc;
          const why = `${target.name} ${proc?.exited() === true ? proc.exitReason() : 'not ready within 60 s'}: ${(proc?.tail() ?? []).slice(-3).join(' | ').slice(0, 600)}`;
          log(`chaos: ${why}`);
          if (attempt >= 3) throw new Error(why);
          await sleep(1000);
        }
      }
      if (target.kind === 'nats') {
        const node = stack.natsNodes?.[target.node];
        if (node === undefined) throw new Error(`no NATS node ${target.node}`);
        await node.kill();
        await sleep(downMs);
        const restartedAt = restarted();
        await node.start();
        return Date.now() - restartedAt;
      }
      await stack.killDatabase();
      await sleep(downMs);
      const restartedAt = restarted();
      await stack.startDatabase();
      return Date.now() - restartedAt;
    };
    const faults: FaultRecord[] = [];
    const gapMs = (options.duration * 1000) / options.faults;
    for (let k = 0; k < options.faults; k++) {
      // The k-th fault at its place in the schedule, or once the one before has recovered.
      const plannedAt = runStartedAt + gapMs * (k + 0.5 * rng.next());
      await sleep(Math.max(0, plannedAt - Date.now()));
      const target = targets[rng.nextInt(targets.length)] as Target;
      const downMs = 500 + rng.nextInt(3500);
      const killedAt = Date.now();
      let readyMs = 0;
      let restartedAt = 0;
      let error: string | undefined;
      try {
        readyMs = await killAndRestart(target, downMs, () => (restartedAt = Date.now()));
      } catch (err) {
        error = err instanceof Error ? err.message.split('\n')[0] : String(err);
      }
      const downFor = (restartedAt === 0 ? Date.now() : restartedAt) - killedAt;
      // Recovered once a candidate is served end to end on every gateway again.
      let recoverMs: number | null = null;
      const limit = Date.now() + 60_000;
      while (recoverMs === null && Date.now() < limit) {
        const ok = await Promise.all(wsUrls.map((u) => probeGateway(u, probe.token, 5000)));
        if (ok.every(Boolean)) recoverMs = Date.now() - killedAt;
        else await sleep(200);
      }
      const record: FaultRecord = {
        index: k + 1,
        target: target.name,
        at_s: Math.round((killedAt - runStartedAt) / 100) / 10,
        down_ms: downFor,
        ready_ms: readyMs,
        recover_ms: recoverMs,
        recover_after_restart_ms: recoverMs === null ? null : Math.max(0, recoverMs - downFor),
        ...(error === undefined ? {} : { error }),
      };
      faults.push(record);
      log(
        `chaos: fault ${record.index}/${options.faults} at ${record.at_s} s: SIGKILL ${record.target}, down ${record.down_ms} ms, ready ${record.ready_ms} ms after restart, recovered ${record.recover_ms ?? 'never'} ms after the kill${error === undefined ? '' : ` (${error})`}`,
      );
    }

    log('chaos: faults done; waiting for the candidates to finish');
    const results = await Promise.all(runs);
    const runMs = Date.now() - runStartedAt;
    const tally = await tallyRuns(
      stack.db,
      candidates.map((c) => c.user_id),
      results,
      options.items,
    );

    // Every event of the run against what the database holds.
    const expected = new Set<string>();
    for (const a of await findAssessments(stack.db, { test_id: testId })) {
      expected.add(`${a._id}:started`);
      for (const r of a.responses) expected.add(`${a._id}:answered:${r.item_id}`);
      if (['completed', 'expired', 'abandoned', 'terminated'].includes(a.status)) expected.add(`${a._id}:finished`);
    }
    let ids: string[] = [];
    try {
      ids = await streamMessageIds(stack);
    } catch (err) {
      log(`chaos: the event stream could not be read (${err instanceof Error ? err.message : String(err)})`);
    }
    const seen = new Map<string, number>();
    for (const id of ids) seen.set(id, (seen.get(id) ?? 0) + 1);
    const internal = stack.internalReplies();
    const internalBySubject: Record<string, number> = {};
    for (const line of internal) {
      const subject = /"subject":"([^"]+)"/.exec(line)?.[1] ?? '?';
      internalBySubject[subject] = (internalBySubject[subject] ?? 0) + 1;
    }
    const recovered = faults
      .map((f) => f.recover_ms)
      .filter((v): v is number => v !== null)
      .sort((a, b) => a - b);
    const byKind = new Map<string, number[]>();
    for (const f of faults) {
      const kind = f.target.replace(/-\w+$/, '');
      if (f.recover_ms !== null) byKind.set(kind, [...(byKind.get(kind) ?? []), f.recover_ms]);
    }

    const report = {
      started_at: startedAt.toISOString(),
      options,
      topology: { nats_nodes: stack.natsNodes?.length ?? 1, stream_replicas: 3, processes: targets.map((t) => t.name) },
      run_ms: runMs,
      candidates: options.candidates,
      answers: {
        acknowledged: tally.acknowledged,
        stored: tally.stored,
        lost: tally.lost,
        duplicates: tally.duplicates,
      },
      finished: options.candidates - tally.unfinished,
      unfinished: tally.unfinished,
      client: { reconnects: tally.reconnects, timeouts: tally.timeouts, errors: tally.errors },
      events: {
        expected: expected.size,
        in_stream: ids.length,
        missing: [...expected].filter((id) => !seen.has(id)).length,
        twice: [...seen.values()].filter((n) => n > 1).length,
        unexpected: [...seen.keys()].filter((id) => !expected.has(id)).length,
      },
      internal_replies: { total: internal.length, by_subject: internalBySubject },
      faults: {
        injected: faults.length,
        recovered: recovered.length,
        recover_ms: { p50: quantile(recovered, 0.5), p90: quantile(recovered, 0.9), max: recovered.at(-1) ?? null },
        by_target: Object.fromEntries(
          [...byKind].map(([kind, ms]) => [
            kind,
            {
              count: ms.length,
              max_ms: Math.max(...ms),
              median_ms: quantile(
                [...ms].sort((a, b) => a - b),
                0.5,
              ),
            },
          ]),
        ),
        list: faults,
      },
    };

    const summary = [
      `chaos run ${startedAt.toISOString()} (seed ${options.seed}): ${options.candidates} candidates x ${options.items} questions, ${faults.length} SIGKILLs in ${Math.round(runMs / 1000)} s`,
      '',
      table([
        ['acknowledged', 'stored', 'lost', 'duplicates', 'finished', 'events missing', 'events twice', 'INTERNAL'],
        [
          tally.acknowledged,
          tally.stored,
          tally.lost,
          tally.duplicates,
          `${options.candidates - tally.unfinished}/${options.candidates}`,
          report.events.missing,
          report.events.twice,
          internal.length,
        ],
      ]),
      '',
      table([
        ['killed', 'faults', 'recovered in (median)', '(max)'],
        ...[...byKind].sort().map(([kind, ms]) => [
          kind,
          ms.length,
          `${
            quantile(
              [...ms].sort((a, b) => a - b),
              0.5,
            ) ?? '-'
          } ms`,
          `${Math.max(...ms)} ms`,
        ]),
        ['all', faults.length, `${report.faults.recover_ms.p50 ?? '-'} ms`, `${report.faults.recover_ms.max ?? '-'} ms`],
      ]),
      '',
      `client side: ${tally.reconnects} reconnects, ${tally.timeouts} timeouts, errors ${JSON.stringify(tally.errors)}`,
      '',
    ].join('\n');
    const dir = join(REPO, options.out, startedAt.toISOString().replace(/[:.]/g, '-'));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(join(dir, 'summary.txt'), summary);
    log(`\n${summary}`);
    log(`chaos: report in ${relative(process.cwd(), join(dir, 'report.json'))}`);
    const ok = tally.lost === 0 && tally.duplicates === 0 && tally.unfinished === 0 && faults.length >= options.faults;
    return ok ? 0 : 1;
  } finally {
    clearTimeout(hardStop);
    await stack.close().catch((err: unknown) => log(`chaos: closing: ${err instanceof Error ? err.message : String(err)}`));
  }
}

process.exitCode = await main();
