import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Bus } from '@ap/bus';
import type { Logger } from '@ap/logging';
import type { Metrics } from '@ap/metrics';
import { AppError, HTTP_STATUS, httpBodies, isAppError } from '@ap/protocol';
import type { z } from 'zod';
import type { StaticSite } from './static.ts';

const MAX_BODY_BYTES = 16 * 1024;

export type HttpDeps = { bus: Bus; log: Logger; ready: () => boolean; requestTimeoutMs: number; site?: StaticSite; metrics?: Metrics };

/** Serves the gateway's HTTP routes: health, readiness, metrics, the /api/auth endpoints, and the candidate page's files (static.ts). */
export function createHttpHandler(deps: HttpDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const log = deps.log.child({ module: 'http' });
  return (req, res) => {
    void handle(req, res).catch((err: unknown) => {
      if (isAppError(err)) {
        json(res, HTTP_STATUS[err.code], { error: { code: err.code, message: err.message, ...(err.details === undefined ? {} : { details: err.details }) } });
      } else {
        log.error({ err, url: req.url }, 'request failed');
        json(res, 500, { error: { code: 'INTERNAL', message: 'internal error' } });
      }
    });
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://gateway');
    const route = `${req.method ?? 'GET'} ${url.pathname}`;
    switch (route) {
      case 'GET /healthz':
        json(res, 200, { status: 'ok' });
        return;
      case 'GET /metrics': {
        if (deps.metrics === undefined) {
          json(res, 404, { error: { code: 'NOT_FOUND', message: 'metrics are off' } });
          return;
        }
        const text = await deps.metrics.registry.metrics();
        res.writeHead(200, { 'content-type': deps.metrics.registry.contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
        res.end(text);
        return;
      }
      case 'GET /readyz': {
        const ready = deps.ready();
        json(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not_ready' });
        return;
      }
      case 'POST /api/auth/login': {
        const body = await readBody(req, httpBodies.login);
        json(res, 200, await deps.bus.request('authLogin', body, { timeoutMs: deps.requestTimeoutMs }));
        return;
      }
      case 'POST /api/auth/invitations/redeem': {
        const body = await readBody(req, httpBodies.redeem);
        json(res, 200, await deps.bus.request('authRedeem', body, { timeoutMs: deps.requestTimeoutMs }));
        return;
      }
      default:
        if ((req.method === 'GET' || req.method === 'HEAD') && deps.site?.serve(req, res, url.pathname) === true) return;
        json(res, 404, { error: { code: 'NOT_FOUND', message: `no route ${route}` } });
    }
  }
}

async function readBody<S extends z.ZodType>(req: IncomingMessage, schema: S): Promise<z.output<S>> {
  const type = req.headers['content-type'] ?? '';
  if (!type.toLowerCase().startsWith('application/json')) throw new AppError('VALIDATION_FAILED', 'the body must be application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new AppError('VALIDATION_FAILED', `the body is larger than ${MAX_BODY_BYTES} bytes`);
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
      details: { issues: parsed.error.issues.slice(0, 10).map((i) => ({ path: i.path.join('.'), message: i.message })) },
    });
  }
  return parsed.data;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}
