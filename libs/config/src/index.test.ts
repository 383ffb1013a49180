import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { commonEnv, jetStreamEnv, metricsEnv, mongoEnv, parseConfig, positiveInt, xapiEnv } from './index.ts';

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

test('xAPI: unset or empty endpoint is off; an endpoint loses its trailing slash; only http(s) URLs pass', () => {
  const xapi = z.object(xapiEnv);
  assert.equal(parseConfig(xapi, {}).XAPI_ENDPOINT, undefined);
  assert.equal(parseConfig(xapi, { XAPI_ENDPOINT: ' ' }).XAPI_ENDPOINT, undefined);
  const on = parseConfig(xapi, { XAPI_ENDPOINT: 'https://lrs.example.org/xapi/', XAPI_ACTIVITY_BASE: 'https://a.example/tests/' });
  assert.equal(on.XAPI_ENDPOINT, 'https://lrs.example.org/xapi');
  assert.equal(on.XAPI_RETRY_MIN_MS, 1000);
  assert.equal(on.XAPI_RETRY_MAX_MS, 300_000);
  const bad = (env: Record<string, string>) => {
    try {
      parseConfig(xapi, env);
    } catch (err) {
      assert.ok(err instanceof Error);
      return err.message;
    }
    return '';
  };
  assert.match(bad({ XAPI_ENDPOINT: 'ftp://lrs.example.org' }), /XAPI_ENDPOINT: must be an http or https URL/u);
  assert.match(bad({ XAPI_ACTIVITY_BASE: 'tests/' }), /XAPI_ACTIVITY_BASE:/u);
  // A secret in a bad value is not echoed back.
  assert.doesNotMatch(bad({ XAPI_ENDPOINT: 'not a url s3cret' }), /s3cret/u);
});
