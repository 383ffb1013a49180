import { endpoints } from '@ap/protocol';

/** Reply of `POST /api/auth/login`. */
export interface LoginResult {
  token: string;
  expires_at: string;
  user_id: string;
  role: string;
}

/** Reply of `POST /api/auth/invitations/redeem`. */
export interface RedeemResult extends LoginResult {
  test_id: string;
  application_id: string;
}

/** An HTTP API error: the status and the body's `error.code` / `error.message`. */
export class HttpApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(`${code}: ${message} (HTTP ${status})`);
    this.name = 'HttpApiError';
    this.status = status;
    this.code = code;
  }
}

async function postJson(apiBase: string, path: string, body: unknown): Promise<unknown> {
  const url = `${apiBase.replace(/\/+$/, '')}${path}`;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const err = (json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    const code = typeof err?.code === 'string' ? err.code : `HTTP_${res.status}`;
    const message = typeof err?.message === 'string' ? err.message : text.slice(0, 200) || res.statusText;
    throw new HttpApiError(res.status, code, message);
  }
  return json;
}

/** `POST {apiBase}/api/auth/login {email, password}` → token. Throws `HttpApiError` on a non-2xx reply. */
export async function login(apiBase: string, email: string, password: string): Promise<LoginResult> {
  const json = await postJson(apiBase, '/api/auth/login', { email, password });
  const parsed = endpoints.authLogin.response.safeParse(json);
  if (!parsed.success) throw new Error('login: unexpected response body');
  return parsed.data;
}

/** `POST {apiBase}/api/auth/invitations/redeem {code}` → candidate token and test. Throws `HttpApiError` on a non-2xx reply. */
export async function redeemInvitation(apiBase: string, code: string): Promise<RedeemResult> {
  const json = await postJson(apiBase, '/api/auth/invitations/redeem', { code });
  const parsed = endpoints.authRedeem.response.safeParse(json);
  if (!parsed.success) throw new Error('redeem: unexpected response body');
  return parsed.data;
}

/** The HTTP API base for a WebSocket URL: ws→http, wss→https, same host, no path. */
export function apiBaseFromWsUrl(url: string): string {
  const u = new URL(url);
  const protocol = u.protocol === 'wss:' ? 'https:' : u.protocol === 'ws:' ? 'http:' : u.protocol;
  return `${protocol}//${u.host}`;
}
