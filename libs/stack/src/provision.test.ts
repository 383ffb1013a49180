import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { z } from 'zod';
import { pingMongo, startMongo } from './mongo.ts';
import { startNats } from './nats.ts';
import { ProvisionError, TOOL_RELEASES, buildTools, formatElapsed, missingTools } from './provision.ts';

const run = promisify(execFile);
// Building from an empty tools cache takes 20-30 s with Go's module and build caches warm, minutes
// without them: it runs in CI (CI=true, or TEST_PROVISION=1 as .ci/run sets it).
const env = z.object({ CI: z.string().optional(), TEST_PROVISION: z.string().optional() }).parse(process.env);
const slow = env.CI === 'true' || env.TEST_PROVISION === '1';

void test('without Go the message names the two ways forward', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'provision-nogo-'));
  try {
    const err = await buildTools(['nats-server', 'ferretdb'], {
      env: { HOME: dir, TOOLS_DIR: join(dir, 'bin'), PATH: '' },
      goBin: null,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof ProvisionError);
    assert.match(err.message, /nats-server, FerretDB \(or mongod\)/);
    assert.match(err.message, /Go was not found/);
    assert.match(err.message, /install Go 1\.24 or newer/);
    assert.match(err.message, /docker compose up --build/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void test('given servers need no tools; the tests need every tool', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'provision-missing-'));
  try {
    const empty = {
      HOME: dir,
      TOOLS_DIR: join(dir, 'bin'),
      PATH: join(dir, 'none'),
      STACK_DOCKER: '0',
      MONGOD_BIN: join(dir, 'none', 'mongod'),
    };
    assert.deepEqual(
      await missingTools('start', { ...empty, NATS_URL: 'nats://127.0.0.1:4222', MONGO_URL: 'mongodb://127.0.0.1:27017/' }),
      [],
    );
    const forStart = await missingTools('start', { ...empty, NATS_URL: 'nats://127.0.0.1:4222' });
    assert.deepEqual(forStart, ['ferretdb']);
    const forTest = await missingTools('test', { ...empty, NATS_URL: 'nats://127.0.0.1:4222', MONGO_URL: 'mongodb://127.0.0.1:27017/' });
    assert.ok(forTest.includes('ferretdb') && forTest.includes('kustomize'), forTest.join(', '));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void test('elapsed time reads as seconds, then minutes', () => {
  assert.equal(formatElapsed(4_400), '4 s');
  assert.equal(formatElapsed(65_000), '1 min 05 s');
});

void test(
  'provisioning builds nats-server and FerretDB into an empty tools cache',
  { skip: !slow && 'set CI=true or TEST_PROVISION=1', timeout: 600_000 },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'provision-build-'));
    const toolsDir = join(dir, 'bin');
    const lines: string[] = [];
    try {
      const result = await buildTools(['nats-server', 'ferretdb'], {
        env: { ...process.env, TOOLS_DIR: toolsDir },
        report: (line) => lines.push(line),
        heartbeatMs: 10_000,
      });
      t.diagnostic(`built in ${formatElapsed(result.elapsedMs)}:\n${lines.join('\n')}`);
      assert.deepEqual(result.built, ['nats-server', 'ferretdb']);
      // Nothing but the two binaries is left in the cache (the scratch directories are gone).
      assert.deepEqual((await readdir(toolsDir)).sort(), ['ferretdb', 'nats-server']);
      // One line per step, each saying how long it has taken so far.
      assert.ok(lines.length >= 6, lines.join('\n'));
      for (const line of lines.slice(1)) assert.match(line, /^tools: .*(\d+ s so far|done in .+)\)?$/);
      assert.ok(lines.some((l) => l.includes('ferretdb v1.24.2: compiling')));

      const nats = (await run(join(toolsDir, 'nats-server'), ['--version'])).stdout;
      assert.match(nats, new RegExp(`nats-server: ${TOOL_RELEASES['nats-server'].version}`));
      const ferret = (await run(join(toolsDir, 'ferretdb'), ['--version'])).stdout;
      assert.match(ferret, new RegExp(`^version: ${TOOL_RELEASES.ferretdb.version}`));

      // The built servers start and answer.
      const serverEnv = { HOME: dir, TOOLS_DIR: toolsDir, PATH: join(dir, 'none'), MONGOD_BIN: join(dir, 'none', 'mongod') };
      const natsServer = await startNats({ env: serverEnv });
      const mongo = await startMongo({ env: serverEnv });
      try {
        assert.equal(mongo.kind, 'ferretdb');
        assert.equal(await pingMongo(mongo.url), true);
        assert.match(natsServer.url, /^nats:\/\/127\.0\.0\.1:\d+$/);
      } finally {
        await natsServer.close();
        await mongo.close();
      }
      // A second run finds them and builds nothing.
      assert.deepEqual(await missingTools('start', { ...serverEnv, STACK_DOCKER: '0' }), []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);
