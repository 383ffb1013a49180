import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { CryptoKey } from 'jose';
import { WebSocket, WebSocketServer } from 'ws';
import { connectBus } from '@ap/bus';
import type { Bus } from '@ap/bus';
import { createLogger } from '@ap/logging';
import { CLIENT_FRAME_TYPES, TOKEN_AUDIENCE, TOKEN_ISSUER } from '@ap/protocol';
import type { Caller, ResponseOf } from '@ap/protocol';
import { startNats } from '@ap/stack';
import type { NatsServer } from '@ap/stack';
import { CLOSE } from './connection.ts';
import { createConnectionHub } from './hub.ts';
import type { ConnectionHub } from './hub.ts';
import { LOCAL_FRAMES, routes } from './routes.ts';
import { createTokenVerifier } from './tokens.ts';

type Frame = { type: string; data: Record<string, unknown>; reply_to?: string };

/** A WebSocket client that keeps every frame it received. */
class Client {
  readonly frames: Frame[] = [];
  readonly ws: WebSocket;
  private waiters: (() => void)[] = [];
  constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (raw: Buffer) => {
      this.frames.push(JSON.parse(raw.toString('utf8')) as Frame);
      for (const w of this.waiters.splice(0)) w();
    });
  }
  send(type: string, data: Record<string, unknown> = {}, id?: string): void {
    this.ws.send(JSON.stringify(id === undefined ? { type, data } : { type, data, id }));
  }
  async waitFor(match: (f: Frame) => boolean, timeoutMs = 3000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(match);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no matching frame; got ${JSON.stringify(this.frames.map((f) => f.type))}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }
  async ask(type: string, data: Record<string, unknown> = {}): Promise<Frame> {
    const id = `${type}-${Math.random().toString(36).slice(2)}`;
    this.send(type, data, id);
    return this.waitFor((f) => f.reply_to === id);
  }
}

describe('gateway routes', () => {
  let nats: NatsServer;
  let gatewayBus: Bus;
  let serviceBus: Bus;
  let hub: ConnectionHub;
  let wss: WebSocketServer;
  let url: string;
  let key: CryptoKey;
  /** What the stand-in assessment service was asked, by endpoint. */
  const asked: { name: string; caller: Caller; assessment_id?: string }[] = [];
  const log = createLogger({ service: 'routes-test', level: 'silent' });

  before(async () => {
    nats = await startNats();
    gatewayBus = await connectBus({ servers: nats.url, name: 'gateway', log });
    serviceBus = await connectBus({ servers: nats.url, name: 'services', log });
    const pair = await generateKeyPair('EdDSA', { extractable: true });
    key = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'EdDSA', use: 'sig' };
    serviceBus.serve('authJwks', 'auth', () => ({ keys: [jwk] }));
    // The assessment endpoints the routes call, answering as the service would for one assessment.
    serviceBus.serve('assessmentStart', 'assessment', (req) => {
      asked.push({ name: 'assessmentStart', caller: req.caller });
      return started(req.test_id);
    });
    serviceBus.serve('assessmentQuestion', 'assessment', (req) => {
      asked.push({ name: 'assessmentQuestion', caller: req.caller, assessment_id: req.assessment_id });
      const question = {
        assessment_id: req.assessment_id,
        question_id: 'q1',
        index: 0,
        type: 'single_choice' as const,
        stem: 'Which?',
        options: [
          { id: 'A', text: 'a' },
          { id: 'B', text: 'b' },
        ],
        skill: 's',
        time_remaining_s: 590,
      };
      return { question };
    });
    serviceBus.serve('assessmentLive', 'assessment', () => ({ assessments: [], start_requests: [] }));
    await serviceBus.nc.flush();
    const verifier = createTokenVerifier({ bus: gatewayBus, log });
    assert.ok(await verifier.refresh());
    hub = createConnectionHub({
      bus: gatewayBus,
      verifier,
      log,
      gatewayId: 'gw-test',
      options: {
        authTimeoutMs: 5000,
        requestTimeoutMs: 2000,
        pingIntervalMs: 60_000,
        maxBadFramesPerMinute: 20,
        presenceIntervalMs: 60_000,
        idleTimeoutMs: 60_000,
        limits: {
          socketPerSecond: 100,
          socketBurst: 100,
          userPerSecond: 100,
          userBurst: 100,
          maxInflightPerUser: 8,
          maxQueuedPerStaff: 50,
          maxSocketsPerUser: 5,
        },
        origins: { allowed: [], allowLoopback: true },
      },
    });
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    wss.on('connection', (ws, req) => hub.accept(ws, req, 'assessment', new URL(req.url ?? '/', 'http://localhost')));
    await once(wss, 'listening');
    url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws/assessment`;
  });

  after(async () => {
    await hub.close();
    wss.close();
    await gatewayBus.close();
    await serviceBus.close();
    await nats.close();
  });

  function started(testId: string): ResponseOf<'assessmentStart'> {
    return {
      assessment_id: `a-${testId}`,
      test: {
        test_id: testId,
        title: 'T',
        strategy: 'fixed',
        time_limit_s: 600,
        planned_items: { min: 3, max: 3 },
        skills: [],
        show_feedback: false,
        time_warnings_s: [60],
        on_expiry: 'autosubmit',
        grace_s: 0,
      },
      started_at: new Date().toISOString(),
      deadline: new Date(Date.now() + 600_000).toISOString(),
      resumed: false,
      answered: 0,
      time_remaining_s: 600,
      status: 'in_progress',
      current_question_id: null,
      current_question: null,
      answered_question_ids: [],
    };
  }

  async function token(sub: string, role: Caller['role'], tests?: string[]): Promise<string> {
    return new SignJWT({ role, ...(tests === undefined ? {} : { tests }) })
      .setProtectedHeader({ alg: 'EdDSA', kid: 'k1' })
      .setSubject(sub)
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(key);
  }

  async function connect(sub: string, role: Caller['role'], tests?: string[]): Promise<Client> {
    const ws = new WebSocket(`${url}?token=${await token(sub, role, tests)}`);
    const client = new Client(ws);
    await once(ws, 'open');
    await client.waitFor((f) => f.type === 'auth_success');
    return client;
  }

  test('every client frame type has a route, and local frames are the ones that never call a service', () => {
    assert.deepEqual(Object.keys(routes).sort(), [...CLIENT_FRAME_TYPES].sort());
    assert.deepEqual([...LOCAL_FRAMES].sort(), ['auth', 'heartbeat', 'leave_room', 'typing', 'unwatch_assessments']);
  });

  test('frames about an assessment need one bound first; start binds it and later frames name it', async () => {
    const c = await connect('cand-1', 'candidate', ['t1']);
    const refused = await c.ask('get_question');
    assert.equal(refused.type, 'error');
    assert.equal(refused.data['code'], 'ASSESSMENT_NOT_ACTIVE');
    const start = await c.ask('start_assessment');
    assert.equal(start.type, 'assessment_started');
    assert.equal(start.data['assessment_id'], 'a-t1');
    await c.ask('get_question');
    const q = asked.find((a) => a.name === 'assessmentQuestion' && a.caller.user_id === 'cand-1');
    assert.equal(q?.assessment_id, 'a-t1', 'the bound assessment, not one the client names');
    assert.deepEqual(q.caller.tests, ['t1']);
    c.ws.close();
  });

  test('a heartbeat is answered by the gateway without asking a service', async () => {
    const c = await connect('cand-2', 'candidate', ['t1']);
    const before = asked.length;
    const ack = await c.ask('heartbeat');
    assert.equal(ack.type, 'heartbeat_ack');
    assert.equal(asked.length, before);
    c.ws.close();
  });

  test('watching live assessments is for staff, within their tests', async () => {
    const cand = await connect('cand-3', 'candidate', ['t1']);
    assert.equal((await cand.ask('watch_assessments')).data['code'], 'FORBIDDEN');
    const proctor = await connect('proc-1', 'proctor', ['t1']);
    assert.equal((await proctor.ask('watch_assessments', { test_id: 't2' })).data['code'], 'FORBIDDEN');
    const ok = await proctor.ask('watch_assessments', { test_id: 't1' });
    assert.equal(ok.type, 'live_assessments');
    // A row published for the watched test reaches the watcher.
    const now = new Date().toISOString();
    serviceBus.publish('liveAssessment', 't1', {
      assessment_id: 'a-t1',
      test_id: 't1',
      test_title: 'T',
      strategy: 'fixed',
      candidate_id: 'cand-1',
      candidate_name: 'Cand',
      status: 'in_progress',
      online: true,
      answered: 1,
      planned: 3,
      time_remaining_s: 300,
      deadline: now,
      started_at: now,
      incidents: 0,
      updated_at: now,
    });
    assert.equal((await proctor.waitFor((f) => f.type === 'live_assessment')).data['assessment_id'], 'a-t1');
    cand.ws.close();
    proctor.ws.close();
  });

  test('typing in a room needs the room joined first', async () => {
    const c = await connect('cand-4', 'candidate', ['t1']);
    assert.equal((await c.ask('typing', { room_id: 'asm_a-t9' })).data['code'], 'FORBIDDEN');
    c.ws.close();
  });

  test('pushes reach only the socket bound to their assessment; session_replaced closes it with 4409', async () => {
    const c = await connect('cand-5', 'candidate', ['t5']);
    await c.ask('start_assessment');
    serviceBus.publish('pushToUser', 'cand-5', {
      type: 'time_warning',
      data: { assessment_id: 'other', time_remaining_s: 9 },
      assessment_id: 'other',
    });
    serviceBus.publish('pushToUser', 'cand-5', {
      type: 'time_warning',
      data: { assessment_id: 'a-t5', time_remaining_s: 60 },
      assessment_id: 'a-t5',
    });
    const warning = await c.waitFor((f) => f.type === 'time_warning');
    assert.equal(warning.data['assessment_id'], 'a-t5');
    assert.equal(c.frames.filter((f) => f.type === 'time_warning').length, 1);
    const closed = once(c.ws, 'close');
    serviceBus.publish('pushToUser', 'cand-5', { type: 'session_replaced', data: { assessment_id: 'a-t5' }, assessment_id: 'a-t5' });
    const [code] = (await closed) as [number];
    assert.equal(code, CLOSE.SESSION_REPLACED);
  });
});
