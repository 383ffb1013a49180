import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { Parser } from '@asyncapi/parser';
import { Validator } from '@seriousme/openapi-schema-validator';
import { parse } from 'yaml';
import { z } from 'zod';
import { endpoints } from '../bus.ts';
import { events } from '../events.ts';
import { ERROR_CODES } from '../errors.ts';
import { CLIENT_FRAME_TYPES, serverFrameData } from '../frames.ts';
import { WS_ENDPOINTS } from './asyncapi.ts';
import { HTTP_ROUTES } from './openapi.ts';
import { apiDocumentsYaml } from './yaml.ts';

const docsDir = new URL('../../../../docs/', import.meta.url);
const generated = apiDocumentsYaml();
const asyncapi = z
  .object({
    channels: z.record(z.string(), z.object({ address: z.string().nullable(), messages: z.record(z.string(), z.unknown()) })),
    operations: z.record(z.string(), z.object({ action: z.enum(['send', 'receive']) })),
    components: z.object({ messages: z.record(z.string(), z.object({ name: z.string(), payload: z.object({ schema: z.unknown() }) })) }),
  })
  .parse(parse(generated.asyncapi));
const openapi = z.object({ paths: z.record(z.string(), z.record(z.string(), z.unknown())) }).parse(parse(generated.openapi));

void test('the AsyncAPI document is valid AsyncAPI 3.0', async () => {
  const { document, diagnostics } = await new Parser().parse(generated.asyncapi);
  // Severity 0 is an error and 1 a warning; 2 (information) only suggests AsyncAPI 3.1.
  const errors = diagnostics.filter((d) => (d.severity as number) <= 1);
  assert.deepEqual(
    errors.map((d) => `${d.code}: ${d.message} at ${d.path.join('/')}`),
    [],
  );
  assert.ok(document !== undefined);
  assert.equal(document.version(), '3.0.0');
});

void test('the OpenAPI document is valid OpenAPI 3.1', async () => {
  const validator = new Validator();
  const result = await validator.validate(generated.openapi);
  assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
  assert.equal(validator.version, '3.1');
});

void test('every client and server frame is a message on both WebSocket channels', () => {
  for (const socket of Object.values(WS_ENDPOINTS)) {
    const channel = asyncapi.channels[socket.channel];
    assert.ok(channel !== undefined, socket.channel);
    for (const type of CLIENT_FRAME_TYPES) {
      assert.ok(`client_${type}` in channel.messages, `${socket.channel} lacks client frame ${type}`);
      assert.ok(`${socket.channel}_${type}` in asyncapi.operations, `no operation receives ${type} on ${socket.channel}`);
    }
    for (const type of Object.keys(serverFrameData))
      assert.ok(`server_${type}` in channel.messages, `${socket.channel} lacks server frame ${type}`);
  }
  const error = JSON.stringify(asyncapi.components.messages['server_error']?.payload.schema);
  for (const code of ERROR_CODES) assert.ok(error.includes(`"${code}"`), `error frame schema lacks ${code}`);
});

void test('every request/reply subject and event subject is a channel', () => {
  const addresses = new Set(Object.values(asyncapi.channels).map((c) => c.address));
  for (const [name, endpoint] of Object.entries(endpoints)) {
    assert.ok(addresses.has(endpoint.subject), `no channel for ${endpoint.subject}`);
    assert.ok(`request_${name}` in asyncapi.components.messages && `reply_${name}` in asyncapi.components.messages, name);
  }
  for (const event of Object.values(events)) {
    const address = event.wildcard.replace(/\*$/, '{');
    assert.ok(
      [...addresses].some((a) => a !== null && (a === event.wildcard || a.startsWith(address))),
      `no channel for ${event.wildcard}`,
    );
  }
});

void test('every HTTP route is a path of the OpenAPI document', () => {
  for (const route of HTTP_ROUTES) {
    const [method = '', path = ''] = route.split(' ');
    assert.ok(openapi.paths[path]?.[method.toLowerCase()] !== undefined, `OpenAPI lacks ${route}`);
  }
  const documented = Object.entries(openapi.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`));
  assert.deepEqual(documented.sort(), [...HTTP_ROUTES].sort());
});

void test('the committed documents are the generated ones (npm run docs)', async () => {
  assert.equal(
    await readFile(new URL('asyncapi.yaml', docsDir), 'utf8'),
    generated.asyncapi,
    'docs/asyncapi.yaml is stale: run npm run docs',
  );
  assert.equal(await readFile(new URL('openapi.yaml', docsDir), 'utf8'), generated.openapi, 'docs/openapi.yaml is stale: run npm run docs');
});
