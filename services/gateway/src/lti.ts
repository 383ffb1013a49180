import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Bus } from '@ap/bus';
import type { Logger } from '@ap/logging';
import { AppError, HTTP_STATUS, httpBodies, isAppError, issueList, ltiLaunchFormSchema, ltiLoginQuerySchema } from '@ap/protocol';
import type { Caller } from '@ap/protocol';
import type { z } from 'zod';

/** A launch form carries one id_token (at most 32 KiB) and its state. */
const MAX_FORM_BYTES = 64 * 1024;

/** The tool's URLs, under the gateway's public origin: what a platform's administrator enters. */
export function toolUrls(origin: string): { login_url: string; launch_url: string; jwks_url: string } {
  return { login_url: `${origin}/lti/login`, launch_url: `${origin}/lti/launch`, jwks_url: `${origin}/lti/jwks` };
}

/**
 * The origin the tool is reached at: PUBLIC_URL when set (behind a proxy that terminates TLS it
 * must be), otherwise the request's own `Host` over http. Platforms only send launches to the
 * redirect URIs registered with them, so a forged Host gets nowhere.
 */
export function publicOrigin(req: IncomingMessage, publicUrl: string | undefined): string {
  if (publicUrl !== undefined) return publicUrl;
  const host = req.headers.host ?? '127.0.0.1';
  if (!/^[A-Za-z0-9.:[\]-]+$/u.test(host)) throw new AppError('VALIDATION_FAILED', 'invalid Host header');
  return `http://${host}`;
}

/** The LTI routes (method and path), listed in the OpenAPI document. */
export const LTI_ROUTES: readonly string[] = [
  'GET /api/lti/platforms',
  'POST /api/lti/platforms',
  'POST /api/lti/links',
  'GET /lti/jwks',
  'GET /lti/login',
  'POST /lti/login',
  'POST /lti/launch',
];

/** What the LTI routes need from the HTTP handler: the bus, and its staff check, body reader and JSON reply. */
export type LtiRouteDeps = {
  bus: Bus;
  log: Logger;
  requestTimeoutMs: number;
  publicUrl?: string | undefined;
  staffCaller(): Promise<Caller>;
  readBody<S extends z.ZodType>(schema: S): Promise<z.output<S>>;
  reply(status: number, body: unknown): void;
};

/**
 * The LTI routes: platform registration and link binding for recruiters and admins (JSON), and
 * for browsers the OIDC login initiation, the launch (answered with redirects or a page that says
 * why it was refused) and the tool's JWKS.
 */
export async function ltiRoutes(req: IncomingMessage, res: ServerResponse, url: URL, deps: LtiRouteDeps): Promise<void> {
  const opts = { timeoutMs: deps.requestTimeoutMs };
  const route = `${req.method ?? 'GET'} ${url.pathname}`;
  const tool = () => toolUrls(publicOrigin(req, deps.publicUrl));
  if (route === 'GET /api/lti/platforms') {
    const { platforms } = await deps.bus.request('ltiPlatformList', { caller: await deps.staffCaller() }, opts);
    deps.reply(200, { platforms, tool: tool() });
    return;
  }
  if (route === 'POST /api/lti/platforms') {
    const caller = await deps.staffCaller();
    const platform = await deps.readBody(httpBodies.ltiPlatform);
    const reply = await deps.bus.request('ltiPlatformRegister', { caller, platform }, opts);
    deps.reply(reply.created ? 201 : 200, { ...reply, tool: tool() });
    return;
  }
  if (route === 'POST /api/lti/links') {
    const caller = await deps.staffCaller();
    const body = await deps.readBody(httpBodies.ltiLink);
    deps.reply(200, await deps.bus.request('ltiLinkBind', { caller, ...body }, opts));
    return;
  }
  await browserRoutes(req, res, url, route, deps);
}

async function browserRoutes(req: IncomingMessage, res: ServerResponse, url: URL, route: string, deps: LtiRouteDeps): Promise<void> {
  const opts = { timeoutMs: deps.requestTimeoutMs };
  if (route === 'GET /lti/jwks') {
    const body = JSON.stringify(await deps.bus.request('ltiJwks', {}, opts));
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300', 'access-control-allow-origin': '*' });
    res.end(body);
    return;
  }
  try {
    if (url.pathname === '/lti/login') {
      const params = req.method === 'POST' ? await readForm(req) : url.searchParams;
      const query = parse(ltiLoginQuerySchema, params);
      const origin = publicOrigin(req, deps.publicUrl);
      const ip = req.socket.remoteAddress;
      const { redirect_url } = await deps.bus.request(
        'ltiLogin',
        { ...query, redirect_uri: toolUrls(origin).launch_url, ...(ip === undefined ? {} : { ip }) },
        opts,
      );
      redirect(res, redirect_url);
      return;
    }
    const form = parse(ltiLaunchFormSchema, await readForm(req));
    const ip = req.socket.remoteAddress;
    const launched = await deps.bus.request('ltiLaunch', { ...form, ...(ip === undefined ? {} : { ip }) }, opts);
    // The token travels in the fragment: it never reaches a server log, a Referer or the history
    // (the page takes it out of the address bar at once).
    const fragment = new URLSearchParams({
      token: launched.token,
      test_id: launched.test_id,
      user_id: launched.user_id,
      expires_at: launched.expires_at,
      name: launched.name,
    });
    redirect(res, `${launched.role === 'candidate' ? '/' : '/recruiter'}#lti&${fragment.toString()}`);
  } catch (err) {
    if (!isAppError(err)) throw err;
    deps.log.warn({ code: err.code, reason: err.message, route }, 'LTI request refused');
    errorPage(res, HTTP_STATUS[err.code], err.code, err.message);
  }
}

function parse<S extends z.ZodType>(schema: S, params: URLSearchParams): z.output<S> {
  const parsed = schema.safeParse(Object.fromEntries(params));
  if (!parsed.success)
    throw new AppError(
      'VALIDATION_FAILED',
      `invalid LTI request: ${issueList(parsed.error)
        .map((i) => `${i.path}: ${i.message}`)
        .join('; ')}`,
    );
  return parsed.data;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  if (!type.startsWith('application/x-www-form-urlencoded')) {
    throw new AppError('VALIDATION_FAILED', 'the body must be application/x-www-form-urlencoded');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_FORM_BYTES) throw new AppError('VALIDATION_FAILED', `the form is larger than ${String(MAX_FORM_BYTES)} bytes`);
    chunks.push(buf);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(303, { location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', 'content-length': 0 });
  res.end();
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/gu, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** A refused login or launch, for the person in the browser: what went wrong, in words, and the code. */
function errorPage(res: ServerResponse, status: number, code: string, message: string): void {
  const body =
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>The assessment could not be opened</title></head>' +
    `<body><main><h1>The assessment could not be opened</h1><p>${escapeHtml(message)}</p>` +
    `<p>Code: <code>${escapeHtml(code)}</code>. Go back to your course and open the activity again; ` +
    'if it keeps failing, tell your instructor.</p></main></body></html>';
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  });
  res.end(body);
}
