import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openRaw, setup } from './support/setup.ts';
import type { TestStack } from './support/setup.ts';

// Two replicas of everything on one machine: load spreads over both, and losing a gateway loses nothing.
let stack: TestStack;
/** Service log lines that carry a request id (the services log at debug here). */
const requestIdLines: string[] = [];

before(async () => {
  stack = await setup({
    replicas: { gateway: 2, assessment: 2, auth: 2, chat: 2, cleanup: 2 },
    metricsPorts: true,
    env: { LOG_LEVEL: 'debug' },
    onLog: (line) => {
      if (line.includes('"request_id"') && requestIdLines.length < 20_000) requestIdLines.push(line);
    },
  });
});

after(async () => {
  await (stack as TestStack | undefined)?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const wsUrls = () => stack.platform.gatewayUrls.map((u) => u.replace(/^http/, 'ws'));




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
    staff.send({ type: 'chat_message', data: { message: 'hello from gateway A', room_id: roomId }, id: 'proctor-msg-1' });
    const posted = await staff.reply('proctor-msg-1');
    assert.equal(posted.type, 'chat_message', JSON.stringify(posted));
    const received = await cand.waitFor((f) => f.type === 'chat_message' && f.data['text'] === 'hello from gateway A');
    assert.equal(received.data['sender_role'], 'proctor');
    staff.ws.close();
    cand.ws.close();

    // x-request-id: `${connection}:${frame id}` from the gateway into the chat replica's handler log.
    const deadline = Date.now() + 5000;
    let line: string | undefined;
    while (line === undefined && Date.now() < deadline) {
      line = requestIdLines.find((l) => /^\[chat-\d\]/.test(l) && l.includes(':proctor-msg-1"') && l.includes('chat message stored'));
      if (line === undefined) await sleep(100);
    }
    assert.ok(line !== undefined, 'the chat service logged the gateway request id');
    process.stdout.write(`# request id in a chat replica's log: ${line.slice(0, 220)}\n`);
  });
});
