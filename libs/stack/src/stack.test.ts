import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, chmod, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, nkeyAuthenticator } from '@nats-io/transport-node';
import { MongoClient } from 'mongodb';
import {
  dockerAvailable,
  findTool,
  freePort,
  isPortOpen,
  readStackConfig,
  startInfra,
  startMongo,
  startNats,
} from './index.ts';

void test('freePort returns a usable port', async () => {
  const port = await freePort();
  assert.ok(port > 0 && port < 65536);
  assert.equal(await isPortOpen(port), false);
});

void test('findTool honours env override, tools dir, then PATH', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ap-stack-find-'));
  try {
    const tools = join(root, 'tools');
    const onPath = join(root, 'path');
    await mkdir(tools);
    await mkdir(onPath);
    const fake = async (dir: string, name: string): Promise<string> => {
      const f = join(dir, name);
      await writeFile(f, '#!/bin/sh\nexit 0\n');
      await chmod(f, 0o755);
      return f;
    };
    const inTools = await fake(tools, 'nats-server');
    const inPath = await fake(onPath, 'nats-server');
    const override = await fake(root, 'my-nats');
    const base = { HOME: root, TOOLS_DIR: tools, PATH: onPath };
    assert.equal(findTool('nats-server', base), inTools);
    assert.equal(findTool('nats-server', { ...base, TOOLS_DIR: join(root, 'none') }), inPath);
    assert.equal(findTool('nats-server', { ...base, NATS_SERVER_BIN: override }), override);
    assert.equal(findTool('mongod', { ...base, PATH: join(root, 'none') }), undefined);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

void test('startNats reports a clear error when nats-server is missing', async () => {
  const env = {
    HOME: '/nonexistent',
    TOOLS_DIR: '/nonexistent',
    PATH: '/nonexistent',
    NATS_SERVER_BIN: '/nonexistent/nats-server',
  };
  await assert.rejects(startNats({ env }), /nats-server not found .*npm run tools/);
});

void test('Docker detection is fast and negative without an engine', async (t) => {
  const started = Date.now();
  const env = { HOME: '/nonexistent', DOCKER_HOST: 'unix:///nonexistent/docker.sock' };
  assert.equal(await dockerAvailable(readStackConfig(env)), false);
  assert.equal(await dockerAvailable(readStackConfig({ STACK_DOCKER: '0' })), false);
  assert.ok(Date.now() - started < 500);
  t.diagnostic(`docker engine on this machine: ${String(await dockerAvailable(readStackConfig()))}`);
});

void test('nats-server: JetStream server, publish/request round trip, then closed', async (t) => {
  const started = Date.now();
  const nats = await startNats();
  t.diagnostic(`nats-server ${findTool('nats-server') ?? '?'} ready at ${nats.url} in ${Date.now() - started} ms`);
  let closed = false;
  try {
    const nc = await connect({ servers: nats.url });
    try {
      const sub = nc.subscribe('stack.echo');
      void (async () => {
        for await (const m of sub) m.respond(`echo:${m.string()}`);
      })();
      const reply = await nc.request('stack.echo', 'hello', { timeout: 2000 });
      assert.equal(reply.string(), 'echo:hello');
      assert.equal(nc.info?.jetstream, true);
    } finally {
      await nc.close();
    }
    await nats.close();
    closed = true;
    assert.equal(await isPortOpen(nats.port), false);
    await nats.close(); // idempotent
  } finally {
    if (!closed) await nats.close();
  }
});

void test('MongoDB-wire server: insert and read a document, then closed', async (t) => {
  const started = Date.now();
  const mongo = await startMongo();
  t.diagnostic(`${mongo.kind} ready at ${mongo.url} in ${Date.now() - started} ms`);
  let closed = false;
  try {
    const client = new MongoClient(mongo.url);
    try {
      const coll = client.db('stack_test').collection<{ _id: string; n: number }>('docs');
      await coll.insertOne({ _id: 'a', n: 42 });
      const doc = await coll.findOne({ _id: 'a' });
      assert.deepEqual(doc, { _id: 'a', n: 42 });
    } finally {
      await client.close();
    }
    await mongo.close();
    closed = true;
    assert.equal(await isPortOpen(mongo.port), false);
  } finally {
    if (!closed) await mongo.close();
  }
});

void test('startInfra: given URLs are passed through untouched', async () => {
  const infra = await startInfra({ natsUrl: 'nats://example.invalid:4222', mongoUrl: 'mongodb://example.invalid/' });
  assert.equal(infra.natsSource, 'given');
  assert.equal(infra.mongoUrl, 'mongodb://example.invalid/');
  await infra.close();
});

void test('startInfra: starts both servers locally with a persistent dir', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ap-stack-infra-'));
  try {
    const infra = await startInfra({ dir, docker: false });
    t.diagnostic(`nats: ${infra.natsSource} ${infra.natsUrl}; mongo: ${infra.mongoSource} ${infra.mongoUrl}`);
    try {
      // The server admits only the generated NKEY users.
      await assert.rejects(connect({ servers: infra.natsUrl, reconnect: false }), /authorization violation/i);
      const seed = infra.natsIdentities?.cli.seed;
      assert.ok(seed !== undefined, 'a local nats-server comes with generated users');
      const nc = await connect({ servers: infra.natsUrl, authenticator: nkeyAuthenticator(new TextEncoder().encode(seed)) });
      await nc.flush();
      await nc.close();
      const client = new MongoClient(infra.mongoUrl);
      const res = await client.db('admin').command({ ping: 1 });
      assert.equal(res['ok'], 1);
      await client.close();
    } finally {
      await infra.close();
    }
    const natsPort = Number(new URL(infra.natsUrl).port);
    const mongoPort = Number(new URL(infra.mongoUrl).port);
    assert.equal(await isPortOpen(natsPort), false);
    assert.equal(await isPortOpen(mongoPort), false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
