// The API documents cover what the gateway serves: its WebSocket paths and HTTP routes, read from
// this package's source, are in the AsyncAPI and OpenAPI lists of libs/protocol.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { HTTP_ROUTES, WS_ENDPOINTS } from '@ap/protocol';
import { LTI_ROUTES } from './lti.ts';

const source = (file: string) => readFile(new URL(file, import.meta.url), 'utf8');

void test('every WebSocket path of the gateway is an AsyncAPI channel', async () => {
  const paths = /const PATHS[^=]*=\s*\{([^}]*)\}/.exec(await source('./gateway.ts'))?.[1] ?? '';
  const found = [...paths.matchAll(/'(\/[^']+)'\s*:/g)].map((m) => m[1]);
  assert.ok(found.length >= 2, 'the PATHS table of gateway.ts was not found');
  assert.deepEqual(found.sort(), Object.keys(WS_ENDPOINTS).sort());
});

void test('every HTTP route of the gateway is in the OpenAPI document', async () => {
  const http = await source('./http.ts');
  const fixed = [...http.matchAll(/case '((?:GET|POST|PUT|PATCH|DELETE) \/[^']*)'/g)].map((m) => m[1] ?? '');
  // The test routes: `/api/tests/{test_id}/<what>` with the method each `what` is served for.
  const testRoutes = [...http.matchAll(/what === '(\w+)' && req\.method === '(\w+)'/g)].map(
    (m) => `${m[2] ?? ''} /api/tests/{test_id}/${m[1] ?? ''}`,
  );
  assert.ok(fixed.length >= 4 && testRoutes.length >= 2, 'the route table of http.ts was not found');
  const pages = ['GET /', 'GET /proctor', 'GET /recruiter'];
  assert.deepEqual([...fixed, ...testRoutes, ...pages, ...LTI_ROUTES].sort(), [...HTTP_ROUTES].sort());
});
