import { AppError } from '@ap/protocol';

const BASE = 'http://gateway';

/**
 * Parses an HTTP request target, which must be in origin form (`/path?query`): an absolute URL,
 * a scheme-relative `//host/…`, `*` or anything `URL` cannot read is VALIDATION_FAILED.
 */
export function parseRequestTarget(target: string | undefined): URL {
  if (target === undefined || !target.startsWith('/') || target.startsWith('//')) {
    throw new AppError('VALIDATION_FAILED', 'the request target must be a path');
  }
  let url: URL;
  try {
    url = new URL(target, BASE);
  } catch {
    throw new AppError('VALIDATION_FAILED', 'the request target is not a valid path');
  }
  if (url.origin !== BASE) throw new AppError('VALIDATION_FAILED', 'the request target must be a path');
  return url;
}

/** decodeURIComponent that answers VALIDATION_FAILED for bad percent-encoding instead of throwing URIError. */
export function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new AppError('VALIDATION_FAILED', 'bad percent-encoding in the path');
  }
}

/** Who may open a WebSocket from a browser page, by the upgrade's `Origin` header. */
export type OriginPolicy = (origin: string | undefined, host: string | undefined) => boolean;

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Allows a request without an `Origin` (not a browser: the CLI, the SDK, tests), the gateway's
 * own origin (the `Origin`'s host and port equal the `Host` header), every origin in `allowed`
 * (exact `scheme://host[:port]`, or `*` for any), and with `allowLoopback` any
 * `http(s)://localhost`, `127.0.0.1` or `[::1]` page on any port (development).
 */
export function createOriginPolicy(options: { allowed: readonly string[]; allowLoopback: boolean }): OriginPolicy {
  const anyOrigin = options.allowed.includes('*');
  const allowed = new Set(options.allowed.filter((o) => o !== '*').map((o) => normalizeOrigin(o) ?? o));
  return (origin, host) => {
    if (origin === undefined) return true;
    if (anyOrigin) return true;
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    if (allowed.has(url.origin)) return true;
    // The Host header may carry the default port that URL drops from the origin.
    if (host !== undefined && url.host === host.toLowerCase().replace(/:(80|443)$/, '')) return true;
    return options.allowLoopback && LOOPBACK_HOSTS.has(url.hostname);
  };
}

/** `scheme://host[:port]` of a configured origin, or undefined when it is not one. */
export function normalizeOrigin(origin: string): string | undefined {
  try {
    const url = new URL(origin);
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname.length > 1 || url.search !== '' || url.hash !== '')
      return undefined;
    return url.origin;
  } catch {
    return undefined;
  }
}
