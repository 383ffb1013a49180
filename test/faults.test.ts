import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { resilientCandidate, tallyRuns } from './support/candidate.ts';
import type { CandidateRun } from './support/candidate.ts';
import { setup } from './support/setup.ts';
import type { TestStack } from './support/setup.ts';

const CANDIDATES = 50;
const ITEMS = 10;
let stack: TestStack;
let testId: string;

before(async () => {
  stack = await setup({ restartable: true, env: { REQUEST_TIMEOUT_MS: '10000', SWEEP_INTERVAL_MS: '1000' } });
  testId = await stack.createTest({ id: 'faults', title: 'Ten questions under fire', time_limit_s: 1800, strategy: 'random' }, ITEMS);
});

after(async () => {
  await (stack as TestStack | undefined)?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Answers acknowledged after a restart (by the new process) before the next fault. */
const ANSWERS_BETWEEN_FAULTS = 25;
/** SERVICE_UNAVAILABLE replies to candidates that the database outage lasts for. */
const UNAVAILABLE_DURING_OUTAGE = 10;

/** How many SERVICE_UNAVAILABLE errors the gateway has sent, from its Prometheus metrics. */
async function unavailableAnswers(): Promise<number> {
  const gateway = stack.platform.processes.find((p) => p.service === 'gateway');
  assert.ok(gateway?.metricsUrl !== undefined, 'the gateway serves metrics');
  const text = await (await fetch(`${gateway.metricsUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('errors_total{') && l.includes('code="SERVICE_UNAVAILABLE"'));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** What a fault can wait for: answers acknowledged to the candidates. */
type Traffic = {
  /** Resolves once `count` more answers were acknowledged than now; fails when the runs end first. */
  answers(count: number): Promise<void>;
};

/**
 * Runs CANDIDATES candidates through the test and starts `fault` once a tenth of all answers were
 * acknowledged (so it lands while answers are in flight), then checks every acknowledged answer
 * against the database and what the candidates were told afterwards.
 */
async function underFault(label: string, fault: (traffic: Traffic) => Promise<void>): Promise<CandidateRun[]> {
  const tokens = await stack.inviteCandidates(CANDIDATES, testId);
  let acks = 0;
  const waiting = new Set<{ at: number; resolve: () => void }>();
  const onAcknowledged = () => {
    acks += 1;
    for (const w of waiting)
      if (acks >= w.at) {
        waiting.delete(w);
        w.resolve();
      }
  };
  const atAcks = (at: number): Promise<void> => {
    if (acks >= at) return Promise.resolve();
    const reached = new Promise<void>((resolve) => waiting.add({ at, resolve }));
    const ended = runs.then(() => {
      if (acks < at) assert.fail(`${label}: the runs ended with ${String(acks)} answers acknowledged, before ${String(at)}`);
    });
    return Promise.race([reached, ended]);
  };
  const traffic: Traffic = { answers: (count) => atAcks(acks + count) };
  const runs = Promise.all(
    tokens.map((c, i) =>
      resilientCandidate({
        wsUrl: stack.wsUrl,
        token: c.token,
        deadlineMs: 120_000,
        // Long enough that every fault lands while answers are in flight: at 100 ms the whole run
        // ended before the first fault once an answer took a few milliseconds.
        thinkMs: 400,
        requestTimeoutMs: 12_000,
        choose: (qid, ids) => ids[(qid.length + i) % ids.length] as string,
        onAcknowledged,
      }),
    ),
  );
  await atAcks((CANDIDATES * ITEMS) / 10);
  const acksAtFault = acks;
  await fault(traffic);
  const results = await runs;
  assert.ok(acksAtFault < CANDIDATES * ITEMS, `the fault began with answers still to come (${String(acksAtFault)} acknowledged)`);
  const { acknowledged, stored, duplicates, lost, unfinished, contradictions, notOneAssessment, reconnects, timeouts, errors } =
    await tallyRuns(
      stack.db,
      tokens.map((t) => t.user_id),
      results,
    );
  process.stdout.write(
    `# ${label}: candidates=${CANDIDATES} acknowledged=${acknowledged} stored=${stored} duplicates=${duplicates} lost=${lost} unfinished=${unfinished} reconnects=${reconnects} timeouts=${timeouts} errors=${JSON.stringify(errors)}\n`,
  );
  assert.deepEqual(contradictions, [], 'no acknowledged question was asked again and `answered` never went down');
  assert.equal(notOneAssessment, 0, 'every candidate has exactly one assessment');
  assert.equal(duplicates, 0, 'no answer stored twice');
  assert.equal(lost, 0, 'every acknowledged answer is stored exactly once');
  assert.equal(unfinished, 0, 'every candidate finished after resuming');
  assert.equal(acknowledged, CANDIDATES * ITEMS);
  return results;
}

describe('faults: every acknowledged answer survives, every candidate finishes', () => {
  test('the assessment service is killed with SIGKILL and restarted three times', async () => {
    await underFault('assessment SIGKILL x3', async (traffic) => {
      for (let i = 0; i < 3; i++) {
        await stack.platform.kill('assessment');
        // Down for a moment (what the candidates run into), then back.
        await sleep(300);
        await stack.platform.restart('assessment');
        // The next kill only once the new process has acknowledged answers.
        await traffic.answers(ANSWERS_BETWEEN_FAULTS);
      }
    });
  });

  test('SIGTERM drains: restarting the assessment service and the gateway drops no request', async () => {
    const runs = await underFault('graceful restarts', async (traffic) => {
      await stack.platform.restart('assessment');
      await traffic.answers(ANSWERS_BETWEEN_FAULTS);
      await stack.platform.restart('gateway');
    });
    const timeouts = runs.reduce((n, r) => n + (r.errors['TIMEOUT'] ?? 0) + r.timeouts, 0);
    assert.equal(timeouts, 0, 'no request was left without a reply');
  });

  test('the gateway is killed and restarted: clients reconnect and resume', async () => {
    const runs = await underFault('gateway SIGKILL x2', async (traffic) => {
      for (let i = 0; i < 2; i++) {
        await stack.platform.kill('gateway');
        await stack.platform.restart('gateway');
        // Candidates reconnected to the new gateway and answer through it before the next kill.
        await traffic.answers(ANSWERS_BETWEEN_FAULTS);
      }
    });
    assert.ok(
      runs.some((r) => r.reconnects > 0),
      'clients had to reconnect',
    );
  });

  test('nats-server is restarted: services and gateway reconnect by themselves', async () => {
    await underFault('nats-server restart', async () => {
      await stack.stopNats();
      // The outage's length, not a wait for a state.
      await sleep(1000);
      await stack.startNats();
    });
  });

  test('the database is restarted: requests during the outage get SERVICE_UNAVAILABLE, none hang', async () => {
    const runs = await underFault('database restart', async () => {
      const before = await unavailableAnswers();
      await stack.stopDatabase();
      // Down until the gateway has passed SERVICE_UNAVAILABLE on to candidates several times.
      const until = Date.now() + 30_000;
      while ((await unavailableAnswers()) < before + UNAVAILABLE_DURING_OUTAGE) {
        assert.ok(Date.now() < until, 'no SERVICE_UNAVAILABLE within 30 s of stopping the database');
        await sleep(100);
      }
      await stack.startDatabase();
    });
    const unavailable = runs.reduce((n, r) => n + (r.errors['SERVICE_UNAVAILABLE'] ?? 0), 0);
    const hung = runs.reduce((n, r) => n + r.timeouts + (r.errors['TIMEOUT'] ?? 0), 0);
    assert.ok(unavailable > 0, 'the outage was reported as SERVICE_UNAVAILABLE');
    assert.equal(hung, 0, 'no request hung');
  });
});
