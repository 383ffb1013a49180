import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { WebSocket as WsWebSocket } from 'ws';
import { assessmentHandler, basic, startServer as startScriptedServer } from './scripted-server.ts';
import type { Handler, TestServer } from './scripted-server.ts';
import {
  HttpApiError,
  QuestionCapError,
  UnexpectedFrameError,
  apiBaseFromWsUrl,
  connectClient,
  expectFrame,
  login,
  playAssessment,
  redeemInvitation,
  retryDelayMs,
} from './index.ts';
import type { PlatformClient } from './index.ts';

const servers: TestServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function startServer(handler: Handler): Promise<TestServer> {
  const server = await startScriptedServer(handler);
  servers.push(server);
  return server;
}

async function connect(server: TestServer, extra: { token?: string; timeoutMs?: number } = {}): Promise<PlatformClient> {
  const client = await connectClient({ url: server.url, ...extra });
  after(() => client.close());
  return client;
}

describe('connectClient', () => {
  it('connects with the global WebSocket and passes the token as a query parameter', async () => {
    const server = await startServer(basic);
    const client = await connect(server, { token: 'tok en' });
    const reply = await client.heartbeat();
    assert.equal(reply.type, 'heartbeat_ack');
    assert.equal(new URL(server.upgradeUrls[0] ?? '', 'http://x').searchParams.get('token'), 'tok en');
    assert.equal(new URL(server.upgradeUrls[0] ?? '', 'http://x').pathname, '/ws/assessment');
  });

  it('works with the ws package as WebSocketImpl', async () => {
    const server = await startServer(basic);
    const client = await connectClient({ url: server.url, WebSocketImpl: WsWebSocket });
    after(() => client.close());
    const reply = await client.auth('good');
    assert.equal(expectFrame(reply, 'auth_success').data.user_id, 'u1');
  });

  it('rejects when nothing listens', async () => {
    const server = await startServer(basic);
    await server.close();
    await assert.rejects(connectClient({ url: server.url, timeoutMs: 2000 }), /could not connect|timed out/);
  });
});

describe('request', () => {
  it('correlates replies by id, even out of order', async () => {
    const server = await startServer((frame, reply) => {
      // answer the first request late, the second at once
      const delay = frame.id === 'c1' ? 50 : 0;
      setTimeout(() => reply('heartbeat_ack', { server_time: `for-${frame.id}` }, frame.id), delay);
    });
    const client = await connect(server);
    const [a, b] = await Promise.all([client.heartbeat(), client.heartbeat()]);
    assert.deepEqual(
      server.received.map((f) => f.id),
      ['c1', 'c2'],
    );
    assert.equal(expectFrame(a, 'heartbeat_ack').data.server_time, 'for-c1');
    assert.equal(expectFrame(b, 'heartbeat_ack').data.server_time, 'for-c2');
    assert.equal(a.reply_to, 'c1');
    assert.equal(b.reply_to, 'c2');
  });

  it('sends {type, data, id} envelopes', async () => {
    const server = await startServer(assessmentHandler(3, 'push-after-answer'));
    const client = await connect(server);
    await client.startAssessment('t9');
    await client.submitAnswer('q1', 'B');
    await client.chat('hello', 'room-1').catch(() => {});
    assert.deepEqual(server.received[0], { type: 'start_assessment', data: { test_id: 't9' }, id: 'c1' });
    assert.deepEqual(server.received[1], { type: 'submit_answer', data: { question_id: 'q1', selected_option: 'B' }, id: 'c2' });
    assert.deepEqual(server.received[2], { type: 'chat_message', data: { message: 'hello', room_id: 'room-1' }, id: 'c3' });
  });

  it('resolves error frames instead of throwing; expectFrame throws a readable error', async () => {
    const server = await startServer(basic);
    const client = await connect(server);
    const reply = await client.auth('bad');
    assert.equal(reply.type, 'error');
    assert.equal(reply.reply_to, 'c1');
    assert.throws(
      () => expectFrame(reply, 'auth_success'),
      (err: unknown) =>
        err instanceof UnexpectedFrameError &&
        err.code === 'AUTH_INVALID' &&
        err.message === 'expected auth_success, got error AUTH_INVALID: bad token',
    );
  });

  it('rejects on timeout and ignores a late reply', async () => {
    const server = await startServer((frame, reply) => {
      setTimeout(() => reply('heartbeat_ack', { server_time: 'late' }, frame.id), 150);
    });
    const client = await connect(server, { timeoutMs: 5000 });
    await assert.rejects(client.request('heartbeat', {}, { timeoutMs: 50 }), /heartbeat \(c1\) timed out after 50 ms/);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(client.frames.length, 1); // the late reply is logged but resolves nothing
  });

  it('rejects pending requests when the connection closes', async () => {
    const server = await startServer((_frame, _reply, socket) => socket.close(4000, 'bye'));
    const client = await connect(server);
    await assert.rejects(client.heartbeat(), /connection closed \(4000 bye\)/);
    assert.deepEqual(await client.closed, { code: 4000, reason: 'bye' });
    assert.equal(client.isOpen, false);
    await assert.rejects(client.heartbeat(), /connection closed/);
    assert.throws(() => client.send('heartbeat', {}), /connection closed/);
  });
});

describe('received frames', () => {
  it('ignores garbage, logs and dispatches valid frames to type and * listeners', async () => {
    const server = await startServer((frame, reply, socket) => {
      socket.send('not json');
      socket.send(JSON.stringify({ type: 'x' })); // no data, no ts
      socket.send(JSON.stringify([1, 2]));
      socket.send(Buffer.from([0xff, 0xfe]));
      reply('time_warning', { assessment_id: 'a1', time_remaining_s: 60 });
      reply('heartbeat_ack', { server_time: 'now' }, frame.id);
    });
    const client = await connect(server);
    const all: string[] = [];
    const warnings: number[] = [];
    client.on('*', (f) => all.push(f.type));
    const off = client.on('time_warning', (f) => {
      if (f.type === 'time_warning') warnings.push(f.data.time_remaining_s);
    });
    client.on('heartbeat_ack', () => {
      throw new Error('a throwing listener must not break anything');
    });
    const reply = await client.heartbeat();
    assert.equal(reply.type, 'heartbeat_ack');
    assert.deepEqual(all, ['time_warning', 'heartbeat_ack']);
    assert.deepEqual(warnings, [60]);
    assert.deepEqual(
      client.frames.map((f) => f.type),
      ['time_warning', 'heartbeat_ack'],
    );
    off();
    await client.heartbeat();
    assert.deepEqual(warnings, [60]);
  });

  it('next() resolves with the next pushed frame of a type and times out otherwise', async () => {
    const server = await startServer((frame, reply) => {
      reply('heartbeat_ack', { server_time: 'now' }, frame.id);
      setTimeout(
        () =>
          reply('chat_message', {
            message_id: 'm1',
            room_id: 'r1',
            sender_id: 'assistant',
            sender_role: 'assistant',
            text: 'hi',
            created_at: 'now',
          }),
        20,
      );
    });
    const client = await connect(server);
    const pushed = client.next('chat_message', 2000);
    client.send('heartbeat', {});
    const frame = await pushed;
    assert.equal(frame.data.text, 'hi');
    assert.equal(frame.reply_to, undefined);
    await assert.rejects(client.next('time_warning', 30), /no time_warning frame within 30 ms/);
  });

  it('bounds the frame log', async () => {
    const server = await startServer((frame, reply) => {
      for (let i = 0; i < 1005; i++) reply('time_warning', { assessment_id: 'a1', time_remaining_s: i });
      reply('heartbeat_ack', { server_time: 'now' }, frame.id);
    });
    const client = await connect(server);
    await client.heartbeat();
    assert.equal(client.frames.length, 1000);
    assert.equal(client.frames.at(-1)?.type, 'heartbeat_ack');
  });
});

describe('playAssessment', () => {
  it('plays to the end when assessment_completed is pushed after the last answer_feedback', async () => {
    const server = await startServer(assessmentHandler(3, 'push-after-answer'));
    const client = await connect(server);
    const seen: string[] = [];
    const completed = await playAssessment(client, {
      testId: 't1',
      choose: (q) => q.options[0]?.id ?? 'A',
      onFrame: (f) => seen.push(f.type),
    });
    assert.equal(completed.type, 'assessment_completed');
    assert.equal(completed.data.reason, 'max_items');
    assert.deepEqual(
      server.received.filter((f) => f.type === 'submit_answer').map((f) => f.data),
      [1, 2, 3].map((n) => ({ question_id: `q${n}`, selected_option: 'A' })),
    );
    assert.equal(seen.at(-1), 'assessment_completed');
    assert.equal(server.received.filter((f) => f.type === 'get_question').length, 3);
  });

  it('shows the next question the feedback names, without asking get_question for it', async () => {
    const server = await startServer(assessmentHandler(3, 'push-after-answer', { nextInFeedback: true }));
    const client = await connect(server);
    const asked: string[] = [];
    const completed = await playAssessment(client, {
      choose: (q) => q.options[0]?.id ?? 'A',
      onQuestion: (q) => {
        asked.push(q.question_id);
      },
    });
    assert.equal(completed.data.reason, 'max_items');
    assert.deepEqual(asked, ['q1', 'q2', 'q3']);
    assert.equal(server.received.filter((f) => f.type === 'get_question').length, 1, 'only the first question was asked for');
  });

  it('returns the assessment_completed reply to get_question when nothing is left', async () => {
    const server = await startServer(assessmentHandler(2, 'reply-to-get-question'));
    const client = await connect(server);
    let answered = 0;
    const completed = await playAssessment(client, {
      choose: () => 'B',
      onAnswer: () => {
        answered++;
      },
    });
    assert.equal(completed.data.reason, 'all_answered');
    assert.equal(answered, 2);
    assert.deepEqual(server.received[0], { type: 'start_assessment', data: {}, id: 'c1' });
  });

  it('throws a readable error on an unexpected error frame', async () => {
    const server = await startServer((frame, reply) => {
      reply('error', { code: 'FORBIDDEN', message: 'not your test' }, frame.id);
    });
    const client = await connect(server);
    await assert.rejects(
      playAssessment(client, { testId: 't1', choose: () => 'A' }),
      /expected assessment_started, got error FORBIDDEN: not your test/,
    );
  });

  it('stops at the question cap', async () => {
    const server = await startServer(assessmentHandler(10, 'push-after-answer'));
    const client = await connect(server);
    await assert.rejects(playAssessment(client, { choose: () => 'A', maxQuestions: 2 }), QuestionCapError);
  });
});

describe('retries back off with jitter', () => {
  it('retryDelayMs doubles its bound up to the cap, draws from its upper half and honours retry_after_ms', () => {
    const low = () => 0;
    const high = () => 0.999999;
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 8].map((n) => retryDelayMs(n, { random: low })),
      [125, 250, 500, 1000, 2000, 4000, 5000, 5000],
    );
    assert.deepEqual(
      [1, 2, 3, 8, 100].map((n) => retryDelayMs(n, { random: high })),
      [250, 500, 1000, 10_000, 10_000],
    );
    assert.equal(retryDelayMs(1, { random: low, retryAfterMs: 3000 }), 3000);
    // Two clients that failed together come back at different times.
    const delays = new Set(Array.from({ length: 50 }, () => retryDelayMs(4)));
    assert.ok(delays.size > 10);
  });

  it('playAssessment sends a failing request again after growing pauses, and gets through', async () => {
    let failures = 4;
    const inner = assessmentHandler(1, 'push-after-answer');
    const server = await startServer((frame, reply, socket) => {
      if (frame.type === 'submit_answer' && failures > 0) {
        failures--;
        reply('error', { code: 'SERVICE_UNAVAILABLE', message: 'busy' }, frame.id);
        return;
      }
      inner(frame, reply, socket);
    });
    const client = await connect(server);
    const sentAt: number[] = [];
    const completed = await playAssessment(client, {
      choose: () => 'A',
      backoff: { baseMs: 40, random: () => 0.5 },
      onFrame: (f) => {
        if (f.type === 'error') sentAt.push(Date.now());
      },
    });
    assert.equal(completed.type, 'assessment_completed');
    assert.equal(server.received.filter((f) => f.type === 'submit_answer').length, 5);
    const gaps = sentAt.slice(1).map((t, i) => t - (sentAt[i] ?? t));
    // 60, 120, 240 ms between the errors (3/4 of 80, 160, 320): each pause longer than the one before.
    assert.ok(
      gaps.every((g, i) => i === 0 || g > (gaps[i - 1] ?? 0)),
      `pauses grow: ${gaps.join(', ')}`,
    );
  });

  it('playAssessment gives up after its retries instead of repeating a failing request forever', async () => {
    const server = await startServer((frame, reply) => {
      if (frame.type === 'start_assessment') reply('error', { code: 'INTERNAL', message: 'internal error' }, frame.id);
    });
    const client = await connect(server);
    await assert.rejects(
      playAssessment(client, { choose: () => 'A', retries: 3, backoff: { baseMs: 5 } }),
      /expected assessment_started, got error INTERNAL/,
    );
    assert.equal(server.received.filter((f) => f.type === 'start_assessment').length, 4);
  });
});

describe('HTTP helpers', () => {
  it('login and redeem POST JSON and throw the body error', async () => {
    const http = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const json = JSON.parse(body) as Record<string, string>;
        res.setHeader('content-type', 'application/json');
        if (req.url === '/api/auth/login' && json['password'] === 'pw') {
          res.end(JSON.stringify({ token: 'T', expires_at: 'E', user_id: 'u1', role: 'admin' }));
        } else if (req.url === '/api/auth/invitations/redeem' && json['code'] === 'CODE-1234') {
          res.end(
            JSON.stringify({ token: 'T2', expires_at: 'E', user_id: 'c1', role: 'candidate', test_id: 't1', application_id: 'app1' }),
          );
        } else {
          res.statusCode = 401;
          res.end(JSON.stringify({ error: { code: 'AUTH_INVALID', message: 'wrong credentials' } }));
        }
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    after(() => http.close());
    const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}/`;
    assert.deepEqual(await login(base, 'a@b.c', 'pw'), { token: 'T', expires_at: 'E', user_id: 'u1', role: 'admin' });
    const redeemed = await redeemInvitation(base, 'CODE-1234');
    assert.equal(redeemed.test_id, 't1');
    assert.equal(redeemed.application_id, 'app1');
    await assert.rejects(
      login(base, 'a@b.c', 'nope'),
      (err: unknown) =>
        err instanceof HttpApiError && err.status === 401 && err.code === 'AUTH_INVALID' && /wrong credentials/.test(err.message),
    );
  });

  it('derives the API base from the WebSocket URL', () => {
    assert.equal(apiBaseFromWsUrl('ws://127.0.0.1:8080/ws/assessment'), 'http://127.0.0.1:8080');
    assert.equal(apiBaseFromWsUrl('wss://example.com/ws/assessment?x=1'), 'https://example.com');
  });
});
