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

/**
 * Runs CANDIDATES candidates through the test and starts `fault` once a tenth of all answers were
 * acknowledged (so it lands while answers are in flight), then checks every acknowledged answer
 * against the database and what the candidates were told afterwards.
 */
async function underFault(label: string, fault: () => Promise<void>): Promise<CandidateRun[]> {
  const tokens = await stack.inviteCandidates(CANDIDATES, testId);
  let acks = 0;
  let inFlight: () => void = () => undefined;
  const trafficFlowing = new Promise<void>((resolve) => {
    inFlight = resolve;
  });
  const onAcknowledged = () => {
    acks += 1;
    if (acks >= (CANDIDATES * ITEMS) / 10) inFlight();
  };
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
  await trafficFlowing;
  const acksAtFault = acks;
  await fault();
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
    await underFault('assessment SIGKILL x3', async () => {
      for (let i = 0; i < 3; i++) {
        await stack.platform.kill('assessment');
        await sleep(300);
        await stack.platform.restart('assessment');
        await sleep(1500);
      }
    });
  });

  test('SIGTERM drains: restarting the assessment service and the gateway drops no request', async () => {
    const runs = await underFault('graceful restarts', async () => {
      await stack.platform.restart('assessment');
      await sleep(1000);
      await stack.platform.restart('gateway');
    });
    const timeouts = runs.reduce((n, r) => n + (r.errors['TIMEOUT'] ?? 0) + r.timeouts, 0);
    assert.equal(timeouts, 0, 'no request was left without a reply');
  });

  test('the gateway is killed and restarted: clients reconnect and resume', async () => {
    const runs = await underFault('gateway SIGKILL x2', async () => {
      for (let i = 0; i < 2; i++) {
        await stack.platform.kill('gateway');
        await stack.platform.restart('gateway');
        await sleep(1500);
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
      await sleep(1000);
      await stack.startNats();
    });
  });

  test('the database is restarted: requests during the outage get SERVICE_UNAVAILABLE, none hang', async () => {
    const runs = await underFault('database restart', async () => {
      await stack.stopDatabase();
      await sleep(4000);
      await stack.startDatabase();
    });
    const unavailable = runs.reduce((n, r) => n + (r.errors['SERVICE_UNAVAILABLE'] ?? 0), 0);
    const hung = runs.reduce((n, r) => n + r.timeouts + (r.errors['TIMEOUT'] ?? 0), 0);
    assert.ok(unavailable > 0, 'the outage was reported as SERVICE_UNAVAILABLE');
    assert.equal(hung, 0, 'no request hung');
  });
});
