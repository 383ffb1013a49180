import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { findAssessments } from '../services/assessment/src/repository.ts';
import type { NatsClusterNode } from '@ap/stack';
import { z } from 'zod';
import { resilientCandidate, tallyRuns } from './support/candidate.ts';
import type { CandidateRun } from './support/candidate.ts';
import { openAuthed, setup } from './support/setup.ts';
import type { RawSocket, TestStack } from './support/setup.ts';

// Issue 16: the platform on a three-node NATS cluster (JetStream R3, as deploy/k8s runs it) loses
// one node to SIGKILL, gets it back, then loses another, with 200 candidates answering.
const CANDIDATES = 200;
const ITEMS = 10;
/** Candidates who stay connected throughout and receive pushes (time warnings, extra time). */
const SENTINELS = 4;
const STREAM = 'ASSESSMENT_EVENTS';

let stack: TestStack;
let testId: string;
let sentinelTestId: string;
let warnedTestId: string;

before(async () => {
  stack = await setup({
    natsCluster: 3,
    faults: true,
    replicas: { gateway: 2 },
    env: { REQUEST_TIMEOUT_MS: '10000', PRESENCE_INTERVAL_MS: '2000' },
  });
  testId = await stack.createTest({ id: 'cluster', title: 'Ten questions on a cluster', time_limit_s: 1800, strategy: 'random' }, ITEMS);
  sentinelTestId = await stack.createTest({ id: 'cluster-sentinel', title: 'Given extra time', time_limit_s: 1800, strategy: 'fixed' }, 3);
  // The first warning 5 s after the start, the next 5 s later (and far from the deadline, so no sweep ends it during the run).
  warnedTestId = await stack.createTest(
    { id: 'cluster-warned', title: 'Warned at once', time_limit_s: 600, strategy: 'fixed', time_warnings_s: [595, 590] },
    3,
  );
});

after(async () => {
  await (stack as TestStack | undefined)?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nodes = (): NatsClusterNode[] => stack.natsNodes ?? [];

const PLATFORM_CLIENTS = new Set(['gateway', 'assessment', 'auth', 'chat', 'cleanup', 'test']);

/** Waits until the running nodes hold `expected` platform connections again; resolves with how long that took. */
async function awaitFailover(expected: number, timeoutMs = 30_000): Promise<number> {
  const startedAt = Date.now();
  for (;;) {
    const found = [...(await clientsByNode()).values()].flat().filter((name) => PLATFORM_CLIENTS.has(name)).length;
    if (found >= expected) return Date.now() - startedAt;
    assert.ok(Date.now() - startedAt < timeoutMs, `only ${found} of ${expected} connections back within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/**
 * Waits until the event stream has a leader and both other replicas are online and current. While
 * a node rejoins, the JetStream API may not answer in time: that is "not yet" too.
 */
async function awaitStreamCurrent(timeoutMs = 30_000): Promise<void> {
  const jsm = await jetstreamManager(stack.bus.nc);
  const giveUp = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const cluster = (await jsm.streams.info(STREAM)).cluster;
      const replicas = cluster?.replicas ?? [];
      if (cluster?.leader !== undefined && replicas.length === 2 && replicas.every((r) => r.current && !r.offline)) return;
      last = cluster;
    } catch (err) {
      last = String(err);
    }
    assert.ok(
      Date.now() < giveUp,
      `the event stream was not current on three nodes within ${String(timeoutMs)} ms: ${JSON.stringify(last)}`,
    );
    await sleep(100);
  }
}

const connzSchema = z.object({ connections: z.array(z.object({ name: z.string().optional() })).default([]) });

/** The platform's connections on each node (client names: gateway, assessment, ...), from its /connz. */
async function clientsByNode(): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const node of nodes()) {
    if (!node.running()) continue;
    const res = await fetch(`${node.monitorUrl}/connz?limit=1000`);
    out.set(
      node.name,
      connzSchema.parse(await res.json()).connections.map((c) => c.name ?? '?'),
    );
  }
  return out;
}

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
/** Sum of the samples of `name` in a Prometheus text exposition whose labels contain every `labels` pair. */
function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const m = sampleLine.exec(line);
    if (m?.[1] !== name) continue;
    if (Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) total += z.coerce.number().parse(m[3]);
  }
  return total;
}

async function acknowledgedSoFar(): Promise<number> {
  let n = 0;
  for (const p of stack.platform.processes.filter((q) => q.service === 'gateway')) {
    const res = await fetch(`${p.metricsUrl ?? ''}/metrics`);
    n += metricSum(await res.text(), 'ws_frames_total', { direction: 'out', type: 'answer_feedback' });
  }
  return n;
}

async function waitForAnswers(count: number, timeoutMs = 180_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until && (await acknowledgedSoFar()) < count) await sleep(250);
}

/** Every message of the stream: its Nats-Msg-Id, read with an ordered consumer. */
async function streamMessageIds(): Promise<string[]> {
  const jsm = await jetstreamManager(stack.bus.nc);
  const info = await jsm.streams.info(STREAM);
  const consumer = await jetstream(stack.bus.nc).consumers.get(STREAM);
  const ids: string[] = [];
  if (info.state.messages === 0) return ids;
  const messages = await consumer.consume();
  for await (const m of messages) {
    ids.push(m.headers?.get('Nats-Msg-Id') ?? `(no id: seq ${m.seq})`);
    if (m.seq >= info.state.last_seq) break;
  }
  return ids;
}

type Sentinel = { socket: RawSocket; assessmentId: string; userId: string; gateway: number };

const subszSchema = z.object({ subscriptions_list: z.array(z.object({ subject: z.string() })).optional() });
const routezSchema = z.object({ routes: z.array(z.object({ subscriptions_list: z.array(z.string()).optional() })).optional() });

/**
 * Waits until every running node knows where each user's pushes go: a subscription to the user's
 * push subject on the node itself (its /subsz) or sent to it over a route (its /routez). A gateway
 * that reconnected after a failover subscribes again, and the other nodes learn of it over their
 * routes a moment later; a push published on a node that has not yet learnt of it goes nowhere.
 */
async function awaitPushInterest(userIds: readonly string[], timeoutMs = 15_000): Promise<void> {
  const giveUp = Date.now() + timeoutMs;
  for (;;) {
    const missing: string[] = [];
    for (const node of nodes()) {
      if (!node.running()) continue;
      const routez = routezSchema.parse(await (await fetch(`${node.monitorUrl}/routez?subs=1`)).json());
      const routed = new Set((routez.routes ?? []).flatMap((r) => r.subscriptions_list ?? []));
      for (const userId of userIds) {
        const subject = `gateway.v1.push.user.${userId}`;
        if ([...routed].some((s) => s === subject || s.endsWith(` ${subject}`))) continue;
        const subsz = subszSchema.parse(await (await fetch(`${node.monitorUrl}/subsz?subs=1&test=${subject}`)).json());
        if ((subsz.subscriptions_list ?? []).length > 0) continue;
        missing.push(`${node.name}: ${userId}`);
      }
    }
    if (missing.length === 0) return;
    assert.ok(Date.now() < giveUp, `push subscriptions unknown after ${timeoutMs} ms on ${missing.join(', ')}`);
    await sleep(50);
  }
}

/**
 * A proctor gives a sentinel 60 s more (retrying what a failover times out): the command crosses
 * NATS to the assessment service, whose push crosses back to the sentinel's gateway, and the
 * live row reaches the proctor's watch. Resolves with how long the push took.
 */
async function pushProbe(proctor: RawSocket, s: Sentinel, key: string, refusals: string[]): Promise<number> {
  const sentAt = Date.now();
  const sinceCandidate = s.socket.frames.length;
  const sinceProctor = proctor.frames.length;
  for (let attempt = 0; ; attempt++) {
    const id = `${key}-${attempt}`;
    proctor.send({ type: 'extra_time', data: { assessment_id: s.assessmentId, seconds: 60, key }, id });
    const reply = await proctor.reply(id, 15_000);
    if (reply.type === 'assessment_status') break;
    refusals.push(`${String(reply.data['code'])}@${Date.now() - sentAt}ms`);
    assert.ok(attempt < 10 && ['TIMEOUT', 'SERVICE_UNAVAILABLE'].includes(String(reply.data['code'])), JSON.stringify(reply));
    await sleep(500);
  }
  await s.socket.waitFor((f) => s.socket.frames.indexOf(f) >= sinceCandidate && f.type === 'time_extended', 15_000);
  const took = Date.now() - sentAt;
  await proctor.waitFor(
    (f) => proctor.frames.indexOf(f) >= sinceProctor && f.type === 'live_assessment' && f.data['assessment_id'] === s.assessmentId,
    15_000,
  );
  return took;
}

describe('cluster: three NATS nodes, one killed at a time', () => {
  test(`${CANDIDATES} candidates over two gateways: two nodes killed with SIGKILL and restarted in turn; nothing lost, every event in the R3 stream once, pushes still arrive`, async () => {
    const [urlA, urlB] = stack.platform.gatewayUrls.map((u) => u.replace(/^http/, 'ws')) as [string, string];
    const jsm = await jetstreamManager(stack.bus.nc);
    const before = await jsm.streams.info(STREAM);
    assert.equal(before.config.num_replicas, 3, 'the event stream is kept on all three nodes');

    // Sentinels and a proctor who watches both tests' live rows.
    const proctorToken = await stack.staffToken('cluster-proctor@test.example', 'proctor', [testId, sentinelTestId, warnedTestId]);
    const proctor = await openAuthed(`${urlA}/ws/chat`, proctorToken);
    proctor.send({ type: 'watch_assessments', data: {}, id: 'watch' });
    assert.equal((await proctor.reply('watch')).type, 'live_assessments');
    const startSentinels = async (count: number, test: string): Promise<Sentinel[]> => {
      const out: Sentinel[] = [];
      for (const [i, c] of (await stack.inviteCandidates(count, test)).entries()) {
        const socket = await openAuthed(`${i % 2 === 0 ? urlA : urlB}/ws/assessment`, c.token);
        for (let attempt = 0; ; attempt++) {
          socket.send({ type: 'start_assessment', data: {}, id: `start-${attempt}` });
          const started = await socket.reply(`start-${attempt}`, 15_000);
          if (started.type === 'assessment_started') {
            out.push({ socket, assessmentId: String(started.data['assessment_id']), userId: c.user_id, gateway: i % 2 });
            break;
          }
          assert.ok(attempt < 10 && ['TIMEOUT', 'SERVICE_UNAVAILABLE'].includes(String(started.data['code'])), JSON.stringify(started));
          await sleep(500);
        }
      }
      return out;
    };
    const sentinels = await startSentinels(SENTINELS, sentinelTestId);
    const warned: Sentinel[] = [];

    const candidates = await stack.inviteCandidates(CANDIDATES, testId);
    const startedAt = Date.now();
    const runs: Promise<CandidateRun>[] = candidates.map((c, i) =>
      resilientCandidate({
        wsUrl: i % 2 === 0 ? urlA : urlB,
        token: c.token,
        deadlineMs: 150_000,
        // At least 15 s per candidate whatever the machine's speed, so that both kills land mid-run.
        thinkMs: 1500,
        requestTimeoutMs: 12_000,
        choose: (qid, ids) => ids[(qid.length + i) % ids.length] as string,
      }),
    );

    // The platform's NATS connections (five services, two gateways, the test's own), found on the nodes.
    const platformConnections = [...(await clientsByNode()).values()].flat().filter((name) => PLATFORM_CLIENTS.has(name)).length;
    assert.equal(platformConnections, 7);
    const faults: {
      node: string;
      why: string;
      clients: string[];
      killedAtAnswers: number;
      downMs: number;
      healthyMs: number;
      failoverMs: number;
      pushMs: number[];
      refusals: string[];
    }[] = [];
    const killAndRestart = async (victim: NatsClusterNode, why: string, probeKey: string) => {
      const clients = (await clientsByNode()).get(victim.name) ?? [];
      const killedAtAnswers = await acknowledgedSoFar();
      const killedAt = Date.now();
      await victim.kill();
      // Failover: every process that was on it has reconnected to another node. Pushes are core
      // NATS (at most once): one published while its gateway is still reconnecting is lost, and
      // the page's next sync repairs what it said.
      const failoverMs = await awaitFailover(platformConnections);
      await awaitPushInterest(sentinels.map((s) => s.userId));
      // While it is down (two of three remain, a quorum): pushes arrive.
      const refusals: string[] = [];
      const pushMs = await Promise.all(sentinels.map((s, i) => pushProbe(proctor, s, `${probeKey}-down-${i}`, refusals)));
      await sleep(Math.max(0, 3000 - (Date.now() - killedAt)));
      const restartedAt = Date.now();
      await victim.start();
      const healthyMs = Date.now() - restartedAt;
      pushMs.push(...(await Promise.all(sentinels.map((s, i) => pushProbe(proctor, s, `${probeKey}-up-${i}`, refusals)))));
      // Candidates who start now get their time warnings on both gateways (checked at the end).
      warned.push(...(await startSentinels(2, warnedTestId)));
      faults.push({
        node: victim.name,
        why,
        clients,
        killedAtAnswers,
        downMs: restartedAt - killedAt,
        healthyMs,
        failoverMs,
        pushMs,
        refusals,
      });
    };

    // First the node that leads the event stream, after a tenth of the answers.
    await waitForAnswers((CANDIDATES * ITEMS) / 10);
    const leader = (await jsm.streams.info(STREAM)).cluster?.leader;
    const first = nodes().find((n) => n.name === leader) ?? nodes()[0];
    assert.ok(first !== undefined);
    await killAndRestart(first, 'event stream leader', 'first');

    // Then, once a quarter of them are in (at once, if the first fault took longer), the other
    // node with the most platform connections.
    await waitForAnswers(CANDIDATES * ITEMS * 0.25);
    // Not before the restarted node holds a current copy of the stream again, so that two
    // current replicas remain when the second one dies.
    await awaitStreamCurrent();
    const clients = await clientsByNode();
    const second = nodes()
      .filter((n) => n !== first)
      .sort((x, y) => (clients.get(y.name)?.length ?? 0) - (clients.get(x.name)?.length ?? 0))[0] as NatsClusterNode;
    await killAndRestart(second, 'most connections', 'second');

    await Promise.all(warned.map((s) => s.socket.waitFor((f) => f.type === 'time_warning', 15_000)));
    const results = await Promise.all(runs);
    const runMs = Date.now() - startedAt;
    const { acknowledged, stored, duplicates, lost, unfinished, reconnects, timeouts, errors } = await tallyRuns(
      stack.db,
      candidates.map((c) => c.user_id),
      results,
      ITEMS,
    );

    // Every event of the run, by message id, against what the database holds.
    const expected = new Set<string>();
    for (const a of await findAssessments(stack.db, {})) {
      expected.add(`${a._id}:started`);
      for (const r of a.responses) expected.add(`${a._id}:answered:${r.item_id}`);
      if (['completed', 'expired', 'abandoned', 'terminated'].includes(a.status)) expected.add(`${a._id}:finished`);
    }
    // Publishes still being retried settle within seconds once every node is back.
    let ids: string[];
    const settleUntil = Date.now() + 30_000;
    do {
      ids = await streamMessageIds();
      if (ids.length >= expected.size) break;
      await sleep(1000);
    } while (Date.now() < settleUntil);
    const seen = new Map<string, number>();
    for (const id of ids) seen.set(id, (seen.get(id) ?? 0) + 1);
    const missing = [...expected].filter((id) => !seen.has(id));
    const twice = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
    const unexpected = [...seen.keys()].filter((id) => !expected.has(id));
    const after = await jsm.streams.info(STREAM);

    const warnings = warned.map((s) => s.socket.frames.filter((f) => f.type === 'time_warning').length);
    const liveRows = proctor.frames.filter((f) => f.type === 'live_assessment').length;

    process.stdout.write(
      `# ${CANDIDATES} candidates x ${ITEMS} items on a 3-node NATS cluster (stream R${after.config.num_replicas}), two gateways: played in ${runMs} ms\n` +
        `# acknowledged=${acknowledged} stored=${stored} duplicates=${duplicates} lost=${lost} unfinished=${unfinished} reconnects=${reconnects} timeouts=${timeouts} errors=${JSON.stringify(errors)}\n` +
        faults
          .map(
            (f) =>
              `# SIGKILL ${f.node} (${f.why}; ${f.clients.length} clients: ${f.clients.join(',')}) after ${f.killedAtAnswers} answers: all its clients on other nodes ${f.failoverMs} ms after the kill, down ${f.downMs} ms, healthy again ${f.healthyMs} ms after restart; pushes (extra time, then its live row) ${f.pushMs.join('/')} ms${f.refusals.length > 0 ? ` after ${f.refusals.join(', ')}` : ''}\n`,
          )
          .join('') +
        `# stream: ${ids.length} messages, ${expected.size} events expected, missing=${missing.length} twice=${twice.length} unexpected=${unexpected.length}; leader ${String(after.cluster?.leader)}, replicas current ${String(after.cluster?.replicas?.filter((r) => r.current).length)}\n` +
        `# pushes: time warnings to candidates started after each restart ${warnings.join('/')}, live rows to the proctor ${liveRows}; INTERNAL replies ${stack.internalReplies().length}\n`,
    );

    assert.equal(lost, 0, 'every acknowledged answer is stored');
    assert.equal(duplicates, 0, 'no answer is stored twice');
    assert.equal(unfinished, 0, 'every candidate finished');
    assert.equal(acknowledged, CANDIDATES * ITEMS);
    assert.deepEqual(missing.slice(0, 5), [], `${missing.length} events missing from the stream`);
    assert.deepEqual(twice.slice(0, 5), [], 'no event stored twice');
    assert.deepEqual(unexpected.slice(0, 5), [], 'no event the database does not explain');
    assert.equal(faults.length, 2);
    assert.ok(
      faults.every((f) => f.killedAtAnswers < CANDIDATES * ITEMS * 0.9),
      `both nodes died while candidates were answering (${faults.map((f) => f.killedAtAnswers).join(', ')} answers in)`,
    );
    assert.ok(
      warnings.length === 4 && warnings.every((n) => n > 0),
      `every candidate started after a restart got its time warning (${warnings.join(', ')})`,
    );
    assert.ok(liveRows > 0);
    for (const s of [...sentinels, ...warned]) s.socket.ws.close();
    proctor.ws.close();
  });
});
