import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Bus } from '@ap/bus';
import type { Logger } from '@ap/logging';
import {
  AppError,
  HTTP_STATUS,
  apiDocumentsYaml,
  httpBodies,
  idSchema,
  isAppError,
  issueList,
  recruiterTestsSchema,
  reportQuerySchema,
  resultsQuerySchema,
} from '@ap/protocol';
import type { Caller } from '@ap/protocol';
import type { z } from 'zod';
import { decodePathSegment, parseRequestTarget } from './edge.ts';
import { LTI_ROUTES, ltiRoutes } from './lti.ts';
import { importQtiUpload, qtiUploadKind } from './qti-import.ts';
import type { StaticSite } from './static.ts';
import type { TokenVerifier } from './tokens.ts';

const MAX_BODY_BYTES = 16 * 1024;
/** A bank file or a test with its items, sent from the recruiter's page. */
const MAX_AUTHORING_BODY_BYTES = 2 * 1024 * 1024;

export type HttpDeps = {
  bus: Bus;
  log: Logger;
  ready: () => boolean;
  requestTimeoutMs: number;
  /** Verifies the bearer token of the staff routes. */
  verifier?: TokenVerifier;
  site?: StaticSite;
  /** The gateway's public origin (PUBLIC_URL), for the LTI tool's URLs; absent: the request's Host. */
  publicUrl?: string | undefined;
};

/** `/api/tests/{test_id}/{results|invitations|info|items|report}` */
const TEST_ROUTE = /^\/api\/tests\/([^/]+)\/(results|invitations|info|items|report)$/;

/** Serves the gateway's public HTTP routes: health, readiness, the /api endpoints, the API documents (/asyncapi.yaml, /openapi.yaml), and the candidate page's files (static.ts). */
export function createHttpHandler(deps: HttpDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const log = deps.log.child({ module: 'http' });
  /** The API documents, generated from the protocol's schemas on first request. */
  let documents: ReturnType<typeof apiDocumentsYaml> | undefined;
  return (req, res) => {
    void handle(req, res).catch((err: unknown) => {
      if (isAppError(err)) {
        // The caller's mistake: one line at warn, never a stack.
        if (err.code === 'VALIDATION_FAILED' || err.code === 'INVALID_JSON') {
          log.warn({ code: err.code, reason: err.message, method: req.method, url: req.url?.slice(0, 200) }, 'bad request');
        }
        const retryAfterMs = err.code === 'RATE_LIMITED' ? err.details?.['retry_after_ms'] : undefined;
        if (typeof retryAfterMs === 'number') res.setHeader('retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
        json(res, HTTP_STATUS[err.code], {
          error: { code: err.code, message: err.message, ...(err.details === undefined ? {} : { details: err.details }) },
        });
      } else if (req.destroyed || req.readableAborted) {
        log.debug({ url: req.url?.slice(0, 200) }, 'the client went away');
      } else {
        log.error({ err, url: req.url?.slice(0, 200) }, 'request failed');
        json(res, 500, { error: { code: 'INTERNAL', message: 'internal error' } });
      }
    });
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = parseRequestTarget(req.url);
    const route = `${req.method ?? 'GET'} ${url.pathname}`;
    switch (route) {
      case 'GET /healthz':
        json(res, 200, { status: 'ok' });
        return;
      case 'GET /readyz': {
        const ready = deps.ready();
        json(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not_ready' });
        return;
      }
      case 'GET /asyncapi.yaml':
      case 'GET /openapi.yaml': {
        documents ??= apiDocumentsYaml();
        const body = url.pathname === '/asyncapi.yaml' ? documents.asyncapi : documents.openapi;
        res.writeHead(200, {
          'content-type': 'application/yaml; charset=utf-8',
          'content-length': Buffer.byteLength(body),
          // Public documents: API tools in a browser may fetch them from another origin.
          'access-control-allow-origin': '*',
        });
        res.end(body);
        return;
      }
      case 'POST /api/auth/login': {
        const body = await readBody(req, httpBodies.login);
        json(res, 200, await deps.bus.request('authLogin', { ...body, ...clientIp(req) }, { timeoutMs: deps.requestTimeoutMs }));
        return;
      }
      case 'POST /api/auth/invitations/redeem': {
        const body = await readBody(req, httpBodies.redeem);
        json(res, 200, await deps.bus.request('authRedeem', { ...body, ...clientIp(req) }, { timeoutMs: deps.requestTimeoutMs }));
        return;
      }
      case 'GET /api/tests': {
        json(res, 200, await recruiterTests(deps, await staffCaller(deps, req)));
        return;
      }
      case 'POST /api/tests': {
        const caller = await staffCaller(deps, req);
        const body = await readBody(req, httpBodies.createTest, MAX_AUTHORING_BODY_BYTES);
        json(res, 201, await deps.bus.request('testCreate', { caller, ...body }, { timeoutMs: deps.requestTimeoutMs }));
        return;
      }
      case 'POST /api/items/import': {
        const caller = await staffCaller(deps, req);
        if (qtiUploadKind(req) !== undefined) {
          json(res, 200, await importQtiUpload(req, url, caller, deps.bus, deps.requestTimeoutMs));
          return;
        }
        const body = await readBody(req, httpBodies.importItems, MAX_AUTHORING_BODY_BYTES);
        json(res, 200, await deps.bus.request('itemsImport', { caller, ...body }, { timeoutMs: deps.requestTimeoutMs }));
        return;
      }
      default: {
        if (LTI_ROUTES.includes(route)) {
          await ltiRoutes(req, res, url, {
            ...deps,
            staffCaller: () => staffCaller(deps, req),
            readBody: (schema) => readBody(req, schema),
            reply: (status, body) => json(res, status, body),
          });
          return;
        }
        const testRoute = TEST_ROUTE.exec(url.pathname);
        if (testRoute !== null) {
          await testRoutes(req, res, url, decodePathSegment(testRoute[1] ?? ''), testRoute[2] ?? '');
          return;
        }
        if ((req.method === 'GET' || req.method === 'HEAD') && deps.site?.serve(req, res, url.pathname) === true) return;
        json(res, 404, { error: { code: 'NOT_FOUND', message: `no route ${route}` } });
      }
    }
  }

  /**
   * A test's routes, authorized by the bearer token: its public facts (GET info, candidates
   * included), and for staff its results (GET) and new invitations to it (POST).
   */
  async function testRoutes(req: IncomingMessage, res: ServerResponse, url: URL, rawTestId: string, what: string): Promise<void> {
    const testId = idSchema.safeParse(rawTestId);
    if (!testId.success) throw new AppError('VALIDATION_FAILED', 'invalid test id in the path');
    const opts = { timeoutMs: deps.requestTimeoutMs };
    if (what === 'info' && req.method === 'GET') {
      // Reads only: the candidate's page shows the rules from it before anything starts.
      json(res, 200, await deps.bus.request('testInfo', { caller: await bearerCaller(deps, req), test_id: testId.data }, opts));
      return;
    }
    if (what === 'info') {
      notAllowed(req, res, url);
      return;
    }
    const caller = await staffCaller(deps, req);
    if (what === 'results' && req.method === 'GET') {
      const query = parseQuery(resultsQuerySchema, url);
      json(res, 200, await deps.bus.request('assessmentResults', { caller, test_id: testId.data, ...query }, opts));
      return;
    }
    if (what === 'items' && req.method === 'GET') {
      json(res, 200, await deps.bus.request('itemStats', { caller, test_id: testId.data }, opts));
      return;
    }
    if (what === 'report' && req.method === 'GET') {
      const query = parseQuery(reportQuerySchema, url);
      json(res, 200, await deps.bus.request('assessmentReport', { caller, test_id: testId.data, ...query }, opts));
      return;
    }
    if (what === 'invitations' && req.method === 'POST') {
      const body = await readBody(req, httpBodies.invite);
      json(res, 201, await deps.bus.request('authInvite', { caller, test_id: testId.data, ...body }, opts));
      return;
    }
    notAllowed(req, res, url);
  }
}

/** The caller of a bearer token, of any role. */
async function bearerCaller(deps: HttpDeps, req: IncomingMessage): Promise<Caller> {
  const header = req.headers.authorization ?? '';
  const token = /^Bearer\s+(.+)$/i.exec(header)?.[1];
  if (token === undefined) throw new AppError('AUTH_REQUIRED', 'send Authorization: Bearer <token>');
  if (deps.verifier === undefined) throw new AppError('SERVICE_UNAVAILABLE', 'tokens cannot be verified here');
  return (await deps.verifier.verify(token)).caller;
}

async function staffCaller(deps: HttpDeps, req: IncomingMessage): Promise<Caller> {
  const caller = await bearerCaller(deps, req);
  if (caller.role === 'candidate') throw new AppError('FORBIDDEN', 'this route is for staff');
  return caller;
}

/**
 * The recruiter's tests with their assessment counts (assessment service) and invitation counts
 * (auth service). Both scan: a page read of the recruiter's workspace, never a candidate's path.
 */
async function recruiterTests(deps: HttpDeps, caller: Caller): Promise<z.output<typeof recruiterTestsSchema>> {
  const opts = { timeoutMs: deps.requestTimeoutMs };
  const { tests } = await deps.bus.request('testsList', { caller, limit: 200 }, opts);
  const { counts } = await deps.bus.request('authInvitationCounts', { caller, test_ids: tests.map((t) => t.test_id) }, opts);
  const byTest = new Map(counts.map((c) => [c.test_id, c]));
  return {
    tests: tests.map((t) => ({
      ...t,
      invited: byTest.get(t.test_id)?.invitations ?? 0,
      invitation_uses: byTest.get(t.test_id)?.uses ?? 0,
    })),
  };
}

/** The peer address of the socket, for the auth service's per-address throttles (absent when the socket is gone). */
function clientIp(req: IncomingMessage): { ip?: string } {
  const ip = req.socket.remoteAddress;
  return ip === undefined ? {} : { ip };
}

/** The query string parsed by its schema; VALIDATION_FAILED with the issues when it does not fit. */
function parseQuery<S extends z.ZodType>(schema: S, url: URL): z.output<S> {
  const query = schema.safeParse(Object.fromEntries(url.searchParams));
  if (!query.success) throw new AppError('VALIDATION_FAILED', 'invalid query', { details: { issues: issueList(query.error) } });
  return query.data;
}

async function readBody<S extends z.ZodType>(req: IncomingMessage, schema: S, maxBytes = MAX_BODY_BYTES): Promise<z.output<S>> {
  const type = req.headers['content-type'] ?? '';
  if (!type.toLowerCase().startsWith('application/json')) throw new AppError('VALIDATION_FAILED', 'the body must be application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > maxBytes) throw new AppError('VALIDATION_FAILED', `the body is larger than ${maxBytes} bytes`);
    chunks.push(buf);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new AppError('INVALID_JSON', 'the body is not valid JSON');
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new AppError('VALIDATION_FAILED', 'invalid body', {
      details: { issues: issueList(parsed.error) },
    });
  }
  return parsed.data;
}

function notAllowed(req: IncomingMessage, res: ServerResponse, url: URL): void {
  json(res, 405, { error: { code: 'VALIDATION_FAILED', message: `${req.method ?? ''} is not allowed on ${url.pathname}` } });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}
