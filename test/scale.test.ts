import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { resilientCandidate, tallyRuns } from './support/candidate.ts';
import type { CandidateRun } from './support/candidate.ts';
import { openRaw, setup } from './support/setup.ts';
import type { TestStack } from './support/setup.ts';

// Issue 6: two gateways and two replicas of every other service, one NATS and one database.
const CANDIDATES = 200;
const ITEMS = 5;
/** Chat messages the proctor sends, so that both chat replicas serve some (queue groups pick at random). */
const CHAT_MESSAGES = 20;

let stack: TestStack;
let testId: string;
/** Service log lines that carry a request id (the services log at debug here). */
const requestIdLines: string[] = [];

before(async () => {
  stack = await setup({
    replicas: { gateway: 2, assessment: 2, auth: 2, chat: 2, cleanup: 2 },
    metricsPorts: true,
    env: {
      LOG_LEVEL: 'debug',
      REQUEST_TIMEOUT_MS: '10000',
      // Presence every 2 s: each gateway reports 100 live assessments, which the assessment
      // service writes in small commands (one bulk write of ~100 updates wedges FerretDB 1.24).
      PRESENCE_INTERVAL_MS: '2000',
    },
    onLog: (line) => {
      if (line.includes('"request_id"') && requestIdLines.length < 20_000) requestIdLines.push(line);
    },
  });
  testId = await stack.createTest(
    { id: 'scale', title: 'Five questions, two of everything', time_limit_s: 1800, strategy: 'fixed' },
    ITEMS,
  );
});

after(async () => {
  await (stack as TestStack | undefined)?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const wsUrls = () => stack.platform.gatewayUrls.map((u) => u.replace(/^http/, 'ws'));

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const sampleValue = z.coerce.number().nonnegative();

/** Sum of the samples of `name` in a Prometheus text exposition whose labels contain every `labels` pair. */
function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const m = sampleLine.exec(line);
    if (m?.[1] !== name) continue;
    const labelText = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) total += sampleValue.parse(m[3]);
  }
  return total;
}

async function metricsOf(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200, `${url}/metrics`);
  return res.text();
}

/** Requests each replica of a service answered (nats_handled_total), by replica index. */
async function handledByReplica(service: 'auth' | 'assessment' | 'chat'): Promise<number[]> {
  const replicas = stack.platform.processes.filter((p) => p.service === service).sort((a, b) => a.index - b.index);
  return Promise.all(replicas.map(async (p) => metricSum(await metricsOf(p.metricsUrl ?? ''), 'nats_handled_total')));
}

describe('scale: two replicas of every service', () => {
  test('every replica serves /metrics, /healthz and /readyz', async () => {
    for (const p of stack.platform.processes) {
      assert.ok(p.metricsUrl !== undefined);
      const base = p.metricsUrl ?? '';
      const [metrics, health, ready] = await Promise.all([fetch(`${base}/metrics`), fetch(`${base}/healthz`), fetch(`${base}/readyz`)]);
      assert.equal(metrics.status, 200, `${p.service}-${p.index} /metrics`);
      assert.match(await metrics.text(), /process_cpu_user_seconds_total/);
      assert.equal(health.status, 200, `${p.service}-${p.index} /healthz`);
      assert.equal(ready.status, 200, `${p.service}-${p.index} /readyz`);
    }
  });

  test('a proctor on gateway A chats with a candidate on gateway B; the request id reaches the chat service log', async () => {
    const [urlA, urlB] = wsUrls() as [string, string];
    const candidate = await stack.inviteCandidate();
    const cand = await openRaw(`${urlB}/ws/assessment?token=${encodeURIComponent(candidate.token)}`);
    await cand.waitFor((f) => f.type === 'auth_success');
    cand.send({ type: 'start_assessment', data: {}, id: 'start' });
    const started = await cand.reply('start');
    assert.equal(started.type, 'assessment_started', JSON.stringify(started));
    const roomId = `asm_${String(started.data['assessment_id'])}`;

    const login = await stack.bus.request('authLogin', { email: stack.seed.proctor.email, password: stack.seed.proctor.password });
    const staff = await openRaw(`${urlA}/ws/chat?room_id=${roomId}&token=${encodeURIComponent(login.token)}`);
    await staff.waitFor((f) => f.type === 'auth_success');
    // Proctor and candidate take turns; the chat service limits each sender (5 at once, then 1/s per
    // replica), so a rate-limited message is sent again after the delay it names, as a client would.
    const post = async (sock: typeof staff, id: string, message: string) => {
      for (let attempt = 0; attempt < 20; attempt++) {
        sock.send({ type: 'chat_message', data: { message, room_id: roomId }, id: `${id}-${attempt}` });
        const reply = await sock.reply(`${id}-${attempt}`);
        if (reply.type === 'chat_message') return;
        assert.equal(reply.data['code'], 'RATE_LIMITED', JSON.stringify(reply));
        await sleep(
          z
            .number()
            .int()
            .positive()
            .parse(reply.data['details'] === undefined ? 1000 : (reply.data['details'] as { retry_after_ms: unknown }).retry_after_ms),
        );
      }
      assert.fail(`${id} was never accepted`);
    };
    for (let i = 1; i <= CHAT_MESSAGES; i++) {
      const fromStaff = i % 2 === 1;
      const text = `hello ${i} from gateway ${fromStaff ? 'A' : 'B'}`;
      await post(fromStaff ? staff : cand, `${fromStaff ? 'proctor' : 'candidate'}-msg-${i}`, text);
      const received = await (fromStaff ? cand : staff).waitFor((f) => f.type === 'chat_message' && f.data['text'] === text);
      assert.equal(received.data['sender_role'], fromStaff ? 'proctor' : 'candidate');
    }
    staff.ws.close();
    cand.ws.close();

    // x-request-id: `${connection}:${frame id}` from the gateway into the chat replica's handler log.
    const deadline = Date.now() + 5000;
    let line: string | undefined;
    while (line === undefined && Date.now() < deadline) {
      line = requestIdLines.find((l) => /^\[chat-\d\]/.test(l) && l.includes(':proctor-msg-1-0"') && l.includes('chat message stored'));
      if (line === undefined) await sleep(100);
    }
    assert.ok(line !== undefined, 'the chat service logged the gateway request id');
    process.stdout.write(`# request id in a chat replica's log: ${line.slice(0, 220)}\n`);
  });

  test(`${CANDIDATES} candidates over both gateways finish; stopping one gateway moves its candidates to the other; nothing is lost`, async () => {
    const [urlA, urlB] = wsUrls() as [string, string];
    // Each gateway's /metrics is on its own metrics port, not the public one.
    const [metricsA, metricsB] = [0, 1].map(
      (i) => stack.platform.processes.find((p) => p.service === 'gateway' && p.index === i)?.metricsUrl ?? '',
    ) as [string, string];
    const invitedAt = Date.now();
    const candidates = await stack.inviteCandidates(CANDIDATES, testId);
    const inviteMs = Date.now() - invitedAt;

    // Even candidates start on gateway A, odd ones on B; each fails over to the other gateway.
    const startedAt = Date.now();
    const finishedAt: number[] = [];
    const runs: Promise<CandidateRun>[] = candidates.map((c, i) =>
      resilientCandidate({
        wsUrl: i % 2 === 0 ? urlA : urlB,
        wsUrls: [urlA, urlB],
        token: c.token,
        deadlineMs: 240_000,
        thinkMs: 200,
        requestTimeoutMs: 12_000,
        choose: (qid, ids) => ids[(qid.length + i) % ids.length] as string,
      }).then((run) => {
        finishedAt[i] = Date.now();
        return run;
      }),
    );

    // Once about a third of the answers are acknowledged, gateway B is stopped (SIGTERM).
    const feedbackOn = async (url: string) =>
      metricSum(await metricsOf(url), 'ws_frames_total', { direction: 'out', type: 'answer_feedback' });
    let before = { a: 0, b: 0 };
    const waitUntil = Date.now() + 180_000;
    while (Date.now() < waitUntil) {
      before = { a: await feedbackOn(metricsA), b: await feedbackOn(metricsB) };
      if (before.a + before.b >= (CANDIDATES * ITEMS) / 3) break;
      await sleep(250);
    }
    const gatewayB = await metricsOf(metricsB);
    const onB = metricSum(gatewayB, 'ws_connections');
    assert.ok(before.a > 0 && before.b > 0, `both gateways acknowledged answers before the stop (${before.a}, ${before.b})`);
    const stoppedAt = Date.now();
    await stack.platform.stop('gateway', 1);
    const goneAt = Date.now();
    const stopMs = goneAt - stoppedAt;

    const results = await Promise.all(runs);
    const runMs = Date.now() - startedAt;

    // What the database holds, read directly, against what each candidate was told.
    const { acknowledged, stored, duplicates, lost, unfinished, contradictions, notOneAssessment, reconnects, timeouts, errors } =
      await tallyRuns(
        stack.db,
        candidates.map((c) => c.user_id),
        results,
        ITEMS,
      );
    let moved = 0;
    let finishedAfterB = 0;
    for (const [i, run] of results.entries()) {
      // Moved: started the assessment on B, then resumed it on A.
      const onB = run.gateways.indexOf(urlB);
      if (onB >= 0 && run.gateways.lastIndexOf(urlA) > onB) moved += 1;
      if (onB >= 0 && (finishedAt[i] ?? 0) > goneAt) finishedAfterB += 1;
    }

    // Who served what, from each replica's /metrics (gateway B's were read before it stopped).
    const auth = await handledByReplica('auth');
    const assessment = await handledByReplica('assessment');
    const chat = await handledByReplica('chat');
    const sweeps = await Promise.all(
      stack.platform.processes
        .filter((p) => p.service === 'cleanup')
        .map(async (p) =>
          metricSum(await metricsOf(p.metricsUrl ?? ''), 'nats_request_duration_seconds_count', { subject: 'assessment.v1.expire_due' }),
        ),
    );
    const framesA = metricSum(await metricsOf(metricsA), 'ws_frames_total', { direction: 'in' });
    const framesB = metricSum(gatewayB, 'ws_frames_total', { direction: 'in' });

    process.stdout.write(
      `# ${CANDIDATES} candidates x ${ITEMS} items: invited in ${inviteMs} ms, played in ${runMs} ms (${((stored * 1000) / runMs).toFixed(1)} answers/s)\n` +
        `# acknowledged=${acknowledged} stored=${stored} duplicates=${duplicates} lost=${lost} unfinished=${unfinished}\n` +
        `# gateway B stopped after ${before.a}+${before.b} acknowledged answers with ${onB} sockets open (stop took ${stopMs} ms): ${moved} candidates resumed on A; ${finishedAfterB} of B's finished after it was gone\n` +
        `# reconnects=${reconnects} timeouts=${timeouts} errors=${JSON.stringify(errors)}\n` +
        `# frames in: gateway A ${framesA}, gateway B ${framesB} (until stopped); requests handled: auth ${auth.join('/')}, assessment ${assessment.join('/')}, chat ${chat.join('/')}; cleanup sweeps ${sweeps.join('/')} (one lease holder at a time)\n`,
    );

    assert.deepEqual(contradictions, [], 'no acknowledged question was asked again and `answered` never went down');
    assert.equal(notOneAssessment, 0, 'every candidate has exactly one assessment');
    assert.equal(acknowledged, CANDIDATES * ITEMS, 'every answer was acknowledged');
    assert.equal(lost, 0, 'every acknowledged answer is stored');
    assert.equal(duplicates, 0, 'no answer is stored twice');
    assert.equal(unfinished, 0, 'every candidate finished with all its answers stored');
    assert.equal(await stack.db.collection('assessments').countDocuments({ test_id: testId }), CANDIDATES, 'one assessment per candidate');
    assert.equal(stored, CANDIDATES * ITEMS);
    assert.ok(moved > 0, 'candidates moved from gateway B to gateway A');
    assert.ok(framesA > 0 && framesB > 0, 'both gateways served frames');
    for (const [name, counts] of Object.entries({ auth, assessment, chat })) {
      assert.equal(counts.length, 2, `two ${name} replicas`);
      assert.ok(
        counts.every((n) => n > 0),
        `both ${name} replicas served requests (${counts.join(', ')})`,
      );
    }
    assert.ok(
      sweeps.some((n) => n > 0),
      `a cleanup replica swept (${sweeps.join(', ')})`,
    );
  });
});
