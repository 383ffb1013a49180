import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { openRaw, setup } from './support/setup.ts';
import type { RawSocket, TestStack } from './support/setup.ts';

// Issue 13, classes 1, 3 and 6 (Origin, /metrics): the gateway survives malformed requests,
// limits valid frames per socket and per user, caps sockets and idle time, checks the Origin of
// upgrades, and keeps /metrics off its public port.

const IDLE_TIMEOUT_MS = 5000;
const ALLOWED_ORIGIN = 'https://exam.example.com';

let stack: TestStack;
let port: number;
/** The gateway's output lines (JSON), to check how it logs bad requests. */
const gatewayLog: string[] = [];

before(async () => {
  stack = await setup({
    env: { IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS), ALLOWED_ORIGINS: ALLOWED_ORIGIN },
    onLog: (line) => {
      if (line.startsWith('[gateway]') && gatewayLog.length < 50_000) gatewayLog.push(line);
    },
  });
  port = Number(new URL(stack.httpUrl).port);
});

after(async () => {
  await (stack as TestStack | undefined)?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function gatewayProcess() {
  const p = stack.platform.processes.find((x) => x.service === 'gateway');
  assert.ok(p, 'a gateway runs');
  return p;
}

/** Sends raw bytes over TCP and returns what the gateway answered before closing (or within `timeoutMs`). */
function rawRequest(bytes: string | Buffer, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1');
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      // A complete head is enough: an upgraded socket stays open.
      if (Buffer.concat(chunks).includes('\r\n\r\n')) done();
    });
    socket.on('end', done);
    socket.on('close', done);
    socket.on('error', done);
    socket.write(bytes);
  });
}

const statusOf = (response: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);

function upgradeRequest(target: string, headers: Record<string, string> = {}): string {
  const all: Record<string, string> = {
    host: `127.0.0.1:${port}`,
    upgrade: 'websocket',
    connection: 'Upgrade',
    'sec-websocket-key': randomBytes(16).toString('base64'),
    'sec-websocket-version': '13',
    ...headers,
  };
  return `GET ${target} HTTP/1.1\r\n${Object.entries(all)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
}

/** The gateway answers a normal request, and its process is the one that started. */
async function stillServing(): Promise<void> {
  assert.equal(gatewayProcess().proc.exited(), false, 'the gateway process is alive');
  const res = await fetch(`${stack.httpUrl}/healthz`);
  assert.equal(res.status, 200);
  const s = await openRaw(`${stack.wsUrl}/ws/assessment`);
  s.send({ type: 'heartbeat', data: {}, id: 'alive' });
  assert.equal((await s.reply('alive')).data['code'], 'AUTH_REQUIRED', 'a new socket is served');
  s.ws.close();
}

async function candidate(): Promise<{ s: RawSocket; token: string; userId: string }> {
  const c = await stack.inviteCandidate();
  const s = await openRaw(`${stack.wsUrl}/ws/assessment?token=${c.token}`);
  await s.waitFor((f) => f.type === 'auth_success');
  s.send({ type: 'start_assessment', data: {}, id: 'start' });
  assert.equal((await s.reply('start')).type, 'assessment_started');
  return { s, token: c.token, userId: c.user_id };
}

describe('class 1: malformed requests are answered 400 and the gateway keeps serving', () => {
  test('upgrades whose target is not a path are refused with 400, never crash the process', async () => {
    for (const target of [
      '//evil.com/ws/assessment',
      'http://x/ws/assessment',
      '*',
      '//',
      '//evil.com:99999/ws/assessment',
      'http://[/ws/assessment',
      '/\\evil.com/ws/assessment',
    ]) {
      const response = await rawRequest(upgradeRequest(target));
      assert.equal(statusOf(response), 400, `${target}: ${response.slice(0, 80)}`);
    }
    await stillServing();
  });

  test('HTTP routes with a bad target or bad percent-encoding answer 400 VALIDATION_FAILED, logged at warn without a stack', async () => {
    const before = gatewayLog.length;
    const token = await stack.staffToken('sec-gw-recruiter@test.example', 'recruiter', [stack.seed.test_id]);
    for (const path of ['/api/tests/%E0%A4%A/results', '/api/tests/%/invitations']) {
      const res = await fetch(`${stack.httpUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 400, path);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'VALIDATION_FAILED');
    }
    for (const target of ['//', '//evil.com/healthz', 'http://x/healthz', '*']) {
      const response = await rawRequest(`GET ${target} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n`);
      assert.equal(statusOf(response), 400, `${target}: ${response.slice(0, 80)}`);
    }
    // The log lines are written as the requests are refused: polled, not waited for.
    let lines: string[] = [];
    let bad: string[] = [];
    for (const until = Date.now() + 5000; Date.now() < until; await sleep(50)) {
      lines = gatewayLog.slice(before);
      bad = lines.filter((l) => l.includes('"bad request"') || l.includes('"upgrade refused"'));
      if (bad.length >= 4) break;
    }
    assert.ok(bad.length >= 4, `bad requests are logged (${lines.length} lines)`);
    for (const l of bad) {
      assert.match(l, /"level":40/, 'at warn');
      assert.doesNotMatch(l, /"stack"/, 'without a stack');
    }
    assert.equal(lines.filter((l) => /"level":(50|60)/.test(l)).length, 0, `nothing at error level: ${lines.join('\n')}`);
    await stillServing();
  });

  test('property: random request lines, headers and targets over raw TCP, then random frames, never take the gateway down or answer 5xx', async () => {
    const methods = fc.constantFrom('GET', 'POST', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'CONNECT', 'G\u00e9T', '');
    const prefixes = fc.constantFrom(
      '',
      '/',
      '//',
      '/ws/assessment',
      '/ws/chat',
      '/api/tests/',
      '/api/auth/login',
      'http://x',
      'ws://x',
      '*',
      '%',
      '/%',
      '/\\',
      '/proctor',
    );
    const noise = fc.string({ unit: 'binary', maxLength: 40 }).map((s) => s.replace(/[\r\n]/g, ''));
    const targets = fc
      .tuple(
        prefixes,
        fc.oneof(noise, fc.constantFrom('', '?token=', '?test_id=%ZZ', '/../..', '%00', '?room_id=x&token=a.b.c')),
        fc.boolean(),
      )
      .map(([p, n, path]) => (path ? `${p}${n}` : `${p}/ws/assessment${n}`));
    const headerName = fc.oneof(
      fc.constantFrom(
        'host',
        'origin',
        'upgrade',
        'connection',
        'sec-websocket-key',
        'sec-websocket-version',
        'authorization',
        'content-type',
        'content-length',
        'transfer-encoding',
        'cookie',
      ),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }).map((s) => s.replace(/[\r\n:]/g, '') || 'x'),
    );
    const headerValue = fc.oneof(
      fc.constantFrom(
        'websocket',
        'Upgrade',
        '13',
        'Bearer x.y.z',
        'null',
        'https://evil.example',
        `http://127.0.0.1:${port}`,
        'chunked',
        '-1',
        '99999999999',
      ),
      fc.string({ unit: 'binary', maxLength: 60 }).map((s) => s.replace(/[\r\n]/g, '')),
    );
    const requests = fc.record({
      method: methods,
      target: targets,
      version: fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1 extra', ''),
      upgrade: fc.boolean(),
      headers: fc.array(fc.tuple(headerName, headerValue), { maxLength: 6 }),
      body: fc.oneof(fc.constant(''), fc.string({ unit: 'binary', maxLength: 80 })),
    });
    const served: number[] = [];
    await fc.assert(
      fc.asyncProperty(requests, async (r) => {
        const upgrade = r.upgrade
          ? `upgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: ${randomBytes(16).toString('base64')}\r\nsec-websocket-version: 13\r\n`
          : 'connection: close\r\n';
        const head = `${r.method} ${r.target} ${r.version}\r\nhost: 127.0.0.1:${port}\r\n${upgrade}${r.headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
        const response = await rawRequest(Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(r.body, 'utf8')]), 2000);
        const status = statusOf(response);
        served.push(status);
        assert.ok(status < 500, `answered ${status} to ${JSON.stringify(head)}`);
        assert.equal(gatewayProcess().proc.exited(), false, `the gateway died after ${JSON.stringify(head)}`);
      }),
      { numRuns: 400, seed: 13 },
    );
    assert.ok(served.filter((s) => s === 400).length > 20, 'many requests were malformed');

    // Then random frames on authenticated sockets: each is answered, or closes its socket with a
    // documented code (4429 abuse, 1007 bad UTF-8, 1009 too large), never the process.
    const c = await stack.inviteCandidate();
    const frame = fc.oneof(
      fc.json(),
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc
        .record({
          type: fc.constantFrom(
            'get_question',
            'submit_answer',
            'chat_message',
            'join_room',
            'start_assessment',
            'auth',
            'typing',
            'watch_assessments',
          ),
          data: fc.anything(),
          id: fc.option(fc.string({ maxLength: 70 }), { nil: undefined }),
        })
        .map((f) => JSON.stringify(f)),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 10 }), async (frames) => {
        const s = await openRaw(`${stack.wsUrl}/ws/chat?token=${c.token}`);
        await s.waitFor((f) => f.type === 'auth_success');
        for (const text of frames) s.sendText(text);
        s.send({ type: 'heartbeat', data: {}, id: 'after' });
        const outcome = await Promise.race([s.reply('after').then(() => 'served'), s.closed.then((x) => `closed ${x.code}`)]);
        assert.ok(['served', 'closed 4429', 'closed 1007', 'closed 1009'].includes(outcome), outcome);
        s.ws.close();
        await s.closed;
      }),
      { numRuns: 40, seed: 13 },
    );
    await stillServing();
  });
});

describe('class 3: valid frames are limited per socket and per user', () => {
  test("three candidates sending 1,000 get_progress each are answered RATE_LIMITED; another candidate's get_question keeps working", async () => {
    const victim = await candidate();
    const flooders = await Promise.all([candidate(), candidate(), candidate()]);
    const floods = flooders.map(async ({ s }, f) => {
      for (let i = 0; i < 1000; i++) s.send({ type: 'get_progress', data: {}, id: `p${f}-${i}` });
      await s.reply(`p${f}-999`, 60_000);
      // Every frame is answered: progress or RATE_LIMITED, never a timeout or an unavailable service.
      await s.waitFor(() => s.frames.filter((x) => x.reply_to?.startsWith(`p${f}-`) === true).length >= 1000, 60_000);
      return s.frames.filter((x) => x.reply_to?.startsWith(`p${f}-`) === true);
    });
    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      const startedAt = Date.now();
      victim.s.send({ type: 'get_question', data: {}, id: `q${i}` });
      const q = await victim.s.reply(`q${i}`, 10_000);
      latencies.push(Date.now() - startedAt);
      assert.equal(q.type, 'question', `get_question during the flood: ${JSON.stringify(q.data)}`);
      await sleep(100);
    }
    const replies = await Promise.all(floods);
    for (const [f, r] of replies.entries()) {
      const codes = new Map<string, number>();
      for (const x of r) {
        const key = x.type === 'error' ? String(x.data['code']) : x.type;
        codes.set(key, (codes.get(key) ?? 0) + 1);
      }
      assert.deepEqual(
        [...codes.keys()].filter((k) => k !== 'progress_update' && k !== 'RATE_LIMITED'),
        [],
        `flooder ${f}: ${JSON.stringify([...codes])}`,
      );
      assert.ok((codes.get('RATE_LIMITED') ?? 0) > 500, `flooder ${f} is limited: ${JSON.stringify([...codes])}`);
      const limited = r.find((x) => x.data['code'] === 'RATE_LIMITED');
      const details = limited?.data['details'] as { limit?: string; retry_after_ms?: number } | undefined;
      assert.ok(details?.retry_after_ms !== undefined && details.retry_after_ms > 0, 'RATE_LIMITED says when to retry');
      assert.ok(
        r.some((x) => (x.data['details'] as { limit?: string } | undefined)?.limit === 'inflight'),
        'a candidate has at most 8 requests in flight',
      );
    }
    assert.ok(Math.max(...latencies) < 2000, `get_question took ${latencies.join(', ')} ms during the flood`);
    for (const s of [victim.s, ...flooders.map((x) => x.s)]) s.ws.close();
  });

  test('one socket is limited to its burst, and heartbeats are never limited', async () => {
    const { s } = await candidate();
    // Frames the gateway answers itself, so that only the socket's bucket is measured.
    for (let i = 0; i < 300; i++) s.send({ type: 'leave_room', data: { room_id: 'asm_none' }, id: `l${i}` });
    await s.reply('l299');
    const replies = s.frames.filter((f) => f.reply_to?.startsWith('l') === true);
    const limited = replies.filter((f) => f.data['code'] === 'RATE_LIMITED');
    assert.ok(limited.length >= 60 && limited.length <= 110, `${limited.length} of 300 limited (a burst of 200)`);
    assert.equal((limited[0]?.data['details'] as { limit: string }).limit, 'socket');
    for (let i = 0; i < 200; i++) s.send({ type: 'heartbeat', data: {}, id: `h${i}` });
    await s.reply('h199');
    assert.equal(
      s.frames.filter((f) => f.reply_to?.startsWith('h') === true && f.type === 'heartbeat_ack').length,
      200,
      'every heartbeat is answered',
    );
    s.ws.close();
  });

  test('all sockets of one user share a bucket', async () => {
    const c = await stack.inviteCandidate();
    const sockets = await Promise.all([0, 1, 2].map(() => openRaw(`${stack.wsUrl}/ws/chat?token=${c.token}`)));
    await Promise.all(sockets.map((s) => s.waitFor((f) => f.type === 'auth_success')));
    for (const [n, s] of sockets.entries())
      for (let i = 0; i < 150; i++) s.send({ type: 'leave_room', data: { room_id: 'asm_none' }, id: `u${n}-${i}` });
    await Promise.all(sockets.map((s, n) => s.reply(`u${n}-149`)));
    const limits = sockets.flatMap((s) =>
      s.frames.filter((f) => f.data['code'] === 'RATE_LIMITED').map((f) => (f.data['details'] as { limit: string }).limit),
    );
    // 450 frames, each socket within its own burst of 200, the user's burst is 400.
    assert.ok(limits.length >= 20 && limits.length <= 60, `${limits.length} of 450 limited`);
    assert.ok(
      limits.every((l) => l === 'user'),
      JSON.stringify(limits),
    );
    for (const s of sockets) s.ws.close();
  });

  test("a staff user's requests reach the services 8 at a time and 200 more wait in line; the rest are refused; others keep their latency", async () => {
    const victim = await candidate();
    const token = await stack.staffToken('sec-gw-proctor@test.example', 'proctor', [stack.seed.test_id]);
    const sockets = await Promise.all([0, 1, 2].map(() => openRaw(`${stack.wsUrl}/ws/chat?token=${token}`)));
    await Promise.all(sockets.map((s) => s.waitFor((f) => f.type === 'auth_success')));
    // As a dashboard joining a room per candidate: each join asks the chat service (which refuses: no such room).
    for (const [n, s] of sockets.entries())
      for (let i = 0; i < 130; i++) s.send({ type: 'join_room', data: { room_id: 'asm_nowhere' }, id: `j${n}-${i}` });
    const startedAt = Date.now();
    victim.s.send({ type: 'get_question', data: {}, id: 'vq' });
    assert.equal((await victim.s.reply('vq', 10_000)).type, 'question');
    const victimMs = Date.now() - startedAt;
    await Promise.all(
      sockets.map((s, n) => s.waitFor(() => s.frames.filter((f) => f.reply_to?.startsWith(`j${n}-`) === true).length >= 130, 60_000)),
    );
    const replies = sockets.flatMap((s) => s.frames.filter((f) => f.reply_to?.startsWith('j') === true));
    const refused = replies.filter((f) => f.data['code'] === 'RATE_LIMITED').map((f) => (f.data['details'] as { limit: string }).limit);
    const served = replies.filter((f) => f.data['code'] !== 'RATE_LIMITED');
    // 390 frames pass the buckets: 8 in flight and 200 in line (and a few more as the first ones end) are served.
    assert.ok(served.length >= 208, `${served.length} served`);
    assert.ok(
      refused.length >= 50 && refused.every((l) => l === 'inflight'),
      `${refused.length} refused: ${JSON.stringify([...new Set(refused)])}`,
    );
    assert.ok(
      served.every((f) => f.data['code'] === 'FORBIDDEN' || f.data['code'] === 'NOT_FOUND'),
      JSON.stringify(served[0]),
    );
    assert.ok(victimMs < 2000, `get_question took ${victimMs} ms`);
    for (const s of [victim.s, ...sockets]) s.ws.close();
  });

  test('a user holds at most 10 sockets: the next is answered RATE_LIMITED and closed with 4429; a closed one frees its place', async () => {
    const c = await stack.inviteCandidate();
    const open: RawSocket[] = [];
    for (let i = 0; i < 10; i++) {
      const s = await openRaw(`${stack.wsUrl}/ws/chat?token=${c.token}`);
      await s.waitFor((f) => f.type === 'auth_success');
      open.push(s);
    }
    // Active sockets (the idle timeout is short here).
    for (const s of open) s.send({ type: 'heartbeat', data: {}, id: 'beat' });
    await Promise.all(open.map((s) => s.reply('beat')));
    const extra = await openRaw(`${stack.wsUrl}/ws/chat`);
    extra.send({ type: 'auth', data: { token: c.token }, id: 'a' });
    const refused = await extra.reply('a');
    assert.equal(refused.data['code'], 'RATE_LIMITED');
    assert.equal((await extra.closed).code, 4429);
    // Another user is not affected.
    const other = await candidate();
    other.s.ws.close();
    const closing = open.shift();
    closing?.ws.close();
    await closing?.closed;
    // The gateway frees the place when it sees the close: until then a new socket may still be
    // refused, so the test tries again until one is let in.
    let again: RawSocket | undefined;
    for (let attempt = 0; again === undefined; attempt++) {
      const s = await openRaw(`${stack.wsUrl}/ws/chat?token=${c.token}`);
      const first = await s.waitFor((f) => f.type === 'auth_success' || f.type === 'error');
      if (first.type === 'auth_success') again = s;
      else {
        assert.ok(attempt < 50 && first.data['code'] === 'RATE_LIMITED', JSON.stringify(first));
        await s.closed;
      }
    }
    for (const s of [...open, again]) s.ws.close();
  });

  test(`an authenticated socket that sends nothing is closed with 4408 after IDLE_TIMEOUT_MS; heartbeats keep one open`, async () => {
    const c = await stack.inviteCandidate();
    const silent = await openRaw(`${stack.wsUrl}/ws/chat?token=${c.token}`);
    await silent.waitFor((f) => f.type === 'auth_success');
    const openedAt = Date.now();
    const beating = await openRaw(`${stack.wsUrl}/ws/chat?token=${c.token}`);
    await beating.waitFor((f) => f.type === 'auth_success');
    const beatingOpenedAt = Date.now();
    let closedAt = 0;
    const silentClosed = silent.closed.then((x) => {
      closedAt = Date.now();
      return x;
    });
    const timer = setInterval(() => beating.send({ type: 'heartbeat', data: {}, id: `b${Date.now()}` }), 500);
    try {
      const closed = await Promise.race([silentClosed, sleep(IDLE_TIMEOUT_MS * 3).then(() => ({ code: 0, reason: 'still open' }))]);
      assert.equal(closed.code, 4408, `the silent socket: ${JSON.stringify(closed)}`);
      assert.ok(closedAt - openedAt >= IDLE_TIMEOUT_MS - 100, `closed after ${closedAt - openedAt} ms`);
      // A heartbeat answered twice the idle timeout after the socket opened: the server kept it.
      await beating.waitFor(
        (f) => f.type === 'heartbeat_ack' && Date.parse(String(f.data['server_time'])) > beatingOpenedAt + 2 * IDLE_TIMEOUT_MS,
        IDLE_TIMEOUT_MS * 3,
      );
      assert.equal(beating.ws.readyState, beating.ws.OPEN, 'the socket that sends heartbeats stays open');
    } finally {
      clearInterval(timer);
      beating.ws.close();
    }
  });
});

describe('class 6: Origin allowlist and the metrics port', () => {
  test('a foreign Origin is refused with 403; no Origin, the own origin, a listed origin and localhost pages are allowed', async () => {
    await assert.rejects(openRaw(`${stack.wsUrl}/ws/assessment`, { origin: 'https://evil.example' }), /403/);
    const refused = await rawRequest(upgradeRequest('/ws/assessment', { origin: 'https://evil.example' }));
    assert.equal(statusOf(refused), 403, refused.slice(0, 80));
    // The own origin: the Origin's host is the Host header.
    const own = await rawRequest(upgradeRequest('/ws/assessment', { host: 'gw.example.test', origin: 'https://gw.example.test' }));
    assert.equal(statusOf(own), 101, own.slice(0, 80));
    for (const origin of [undefined, ALLOWED_ORIGIN, 'http://localhost:5173', `http://127.0.0.1:${port}`]) {
      const s = await openRaw(`${stack.wsUrl}/ws/assessment`, origin === undefined ? {} : { origin });
      s.ws.close();
    }
    await stillServing();
  });

  test('/metrics is off the public port and served on the metrics port; /healthz and /readyz stay public', async () => {
    const pub = await fetch(`${stack.httpUrl}/metrics`);
    assert.equal(pub.status, 404);
    await pub.body?.cancel();
    assert.equal((await fetch(`${stack.httpUrl}/healthz`)).status, 200);
    assert.equal((await fetch(`${stack.httpUrl}/readyz`)).status, 200);
    const metricsUrl = gatewayProcess().metricsUrl;
    assert.ok(metricsUrl !== undefined && metricsUrl !== stack.httpUrl, 'the gateway has its own metrics address');
    const res = await fetch(`${metricsUrl}/metrics`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /ws_connections/);
    assert.equal((await fetch(`${metricsUrl}/readyz`)).status, 200);
  });
});
