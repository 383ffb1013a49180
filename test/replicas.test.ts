import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { resilientCandidate, tallyRuns } from './support/candidate.ts';
import { setup } from './support/setup.ts';
import type { TestStack } from './support/setup.ts';

const CANDIDATES = 50;
const ITEMS = 10;
let stack: TestStack;
let testId: string;

before(async () => {
  stack = await setup({ replicas: { assessment: 2 }, metricsPorts: true, env: { REQUEST_TIMEOUT_MS: '10000' } });
  testId = await stack.createTest({ id: 'replicas', title: 'Two replicas', time_limit_s: 1800, strategy: 'random' }, ITEMS);
});

after(async () => {
  await (stack as TestStack | undefined)?.close();
});

/** Requests one assessment replica answered, from its /metrics. */
async function handledBy(index: number): Promise<number> {
  const replica = stack.platform.processes.find((p) => p.service === 'assessment' && p.index === index);
  assert.ok(replica?.metricsUrl, 'each replica has a metrics endpoint');
  const text = await (await fetch(`${replica.metricsUrl}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('nats_handled_total{') && line.includes('subject="assessment.v1.')) total += Number(line.split(' ').at(-1));
  }
  return total;
}

describe('two replicas of the assessment service', () => {
  test('share the load through the queue group, and killing one loses nothing', async () => {
    const tokens = await stack.inviteCandidates(CANDIDATES, testId);
    const runs = Promise.all(
      tokens.map((c) =>
        resilientCandidate({ wsUrl: stack.wsUrl, token: c.token, deadlineMs: 120_000, thinkMs: 100, requestTimeoutMs: 12_000 }),
      ),
    );
    // Both replicas take part before one is killed (polled from their metrics).
    let [first, second] = [0, 0];
    for (const until = Date.now() + 30_000; Date.now() < until; await new Promise((r) => setTimeout(r, 100))) {
      [first, second] = [await handledBy(0), await handledBy(1)];
      if (first > 0 && second > 0) break;
    }
    assert.ok(first > 0 && second > 0, `both replicas served requests (${first}, ${second})`);
    await stack.platform.kill('assessment', 1);
    const results = await runs;
    const { acknowledged, duplicates, lost, unfinished, contradictions, notOneAssessment } = await tallyRuns(
      stack.db,
      tokens.map((t) => t.user_id),
      results,
    );
    assert.equal(unfinished, 0, 'every assessment stored and completed');
    process.stdout.write(
      `# two replicas, one killed: handled before the kill ${first} + ${second}; acknowledged=${acknowledged} duplicates=${duplicates} lost=${lost}\n`,
    );
    assert.equal(acknowledged, CANDIDATES * ITEMS);
    assert.deepEqual(contradictions, [], 'no acknowledged question was asked again and `answered` never went down');
    assert.equal(notOneAssessment, 0, 'every candidate has exactly one assessment');
    assert.equal(lost, 0);
    assert.equal(duplicates, 0);
  });
});
