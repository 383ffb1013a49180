import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { commonEnv, jetStreamEnv, metricsEnv, mongoEnv, parseConfig, positiveInt } from './index.ts';

const schema = z.object({ ...commonEnv, ...jetStreamEnv, ...mongoEnv, ...metricsEnv, QUEUE_SIZE: positiveInt(16) });
const SEED = `SU${'A'.repeat(56)}`;

function message(env: Record<string, string>): string {
  try {
    parseConfig(schema, env);
  } catch (err) {
    assert.ok(err instanceof Error);
    return err.message;
  }
  return assert.fail('the configuration was accepted');
}

test('an empty environment gives the documented defaults, frozen', () => {
  const config = parseConfig(schema, {});
  assert.deepEqual(config, {
    NATS_URL: 'nats://127.0.0.1:4222',
    LOG_LEVEL: 'info',
    SHUTDOWN_TIMEOUT_MS: 10_000,
    HANDLER_TIMEOUT_MS: 4000,
    JETSTREAM_REPLICAS: 1,
    MONGO_URL: 'mongodb://127.0.0.1:27017',
    MONGO_DB: 'assessment_platform',
    METRICS_PORT: 9464,
    METRICS_HOST: '0.0.0.0',
    QUEUE_SIZE: 16,
  });
  assert.ok(Object.isFrozen(config));
});

test('strings become numbers and a seed is trimmed; an empty seed is no seed', () => {
  const config = parseConfig(schema, {
    HANDLER_TIMEOUT_MS: '250',
    JETSTREAM_REPLICAS: '3',
    NATS_NKEY_SEED: ` ${SEED}\n`,
    METRICS_PORT: '0',
  });
  assert.equal(config.HANDLER_TIMEOUT_MS, 250);
  assert.equal(config.JETSTREAM_REPLICAS, 3);
  assert.equal(config.NATS_NKEY_SEED, SEED);
  assert.equal(config.METRICS_PORT, 0);
  assert.equal(parseConfig(schema, { NATS_NKEY_SEED: '  ' }).NATS_NKEY_SEED, undefined);
});

test('each bad variable is named in the error, and only the bad ones', () => {
  const text = message({ MONGO_DB: 'no/slashes', HANDLER_TIMEOUT_MS: 'soon', LOG_LEVEL: 'loud', MONGO_URL: 'mongodb://db:27017' });
  const named = [...text.matchAll(/^ {2}([A-Z_]+):/gmu)].map((m) => m[1]).sort();
  assert.deepEqual(named, ['HANDLER_TIMEOUT_MS', 'LOG_LEVEL', 'MONGO_DB']);
  assert.match(text, /^invalid configuration:\n/u);
  assert.match(text, /MONGO_DB: must be a database name/u);
});

test('limits: a seed of the wrong shape, replicas outside 1..5, a port above 65535, a zero size', () => {
  const cases: [Record<string, string>, string][] = [
    [{ NATS_NKEY_SEED: `SA${'A'.repeat(56)}` }, 'NATS_NKEY_SEED: must be an NKEY user seed'],
    [{ NATS_NKEY_SEED: `SU${'A'.repeat(55)}` }, 'NATS_NKEY_SEED: must be an NKEY user seed'],
    [{ JETSTREAM_REPLICAS: '0' }, 'JETSTREAM_REPLICAS:'],
    [{ JETSTREAM_REPLICAS: '6' }, 'JETSTREAM_REPLICAS:'],
    [{ METRICS_PORT: '65536' }, 'METRICS_PORT:'],
    [{ SHUTDOWN_TIMEOUT_MS: '1.5' }, 'SHUTDOWN_TIMEOUT_MS:'],
    [{ QUEUE_SIZE: '0' }, 'QUEUE_SIZE:'],
    [{ NATS_URL: '' }, 'NATS_URL:'],
  ];
  for (const [env, expected] of cases) assert.ok(message(env).includes(expected), `${JSON.stringify(env)}: ${message(env)}`);
  // The edges that are allowed.
  assert.equal(parseConfig(schema, { JETSTREAM_REPLICAS: '5', METRICS_PORT: '65535' }).JETSTREAM_REPLICAS, 5);
});
