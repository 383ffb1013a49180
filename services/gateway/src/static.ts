import { createHash } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Logger } from '@ap/logging';

/** The policy every page and asset is served with: no inline script or style, no framing. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'";

/** The repository's `web/` folder, where the candidate page's sources and `dist/` live. */
export const DEFAULT_WEB_DIR = fileURLToPath(new URL('../../../web/', import.meta.url));

/** Page addresses without their file name: the candidate page at `/`, the proctor dashboard at `/proctor`, the recruiter's workspace at `/recruiter`. */
const PAGE_ALIASES: Readonly<Record<string, string>> = { '/': '/index.html', '/proctor': '/proctor.html', '/recruiter': '/recruiter.html' };

/** One file of the site, by URL path, as `web/build.ts` produces it. */
type SiteFile = { path: string; contents: Uint8Array };

/** Where the served files came from: built in memory at start-up, read from `web/dist`, or nothing. */
export type SiteSource = 'build' | 'dist' | 'none';

/** The candidate page and its assets, held in memory and served by exact path. */
export type StaticSite = {
  source: SiteSource;
  /** The URL paths served (for logs and tests). */
  paths(): string[];
  /** Answers a GET or HEAD for a page or asset; false when the path is not part of the site. */
  serve(req: IncomingMessage, res: ServerResponse, pathname: string): boolean;
};

type Entry = { body: Buffer; gzip: Buffer | undefined; type: string; etag: string; cacheControl: string };

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.map', '.json', '.svg', '.txt']);
/** `name-HASH.ext` under /assets/: esbuild's and build.ts's content-hashed names. */
const HASHED_ASSET = /^\/assets\/[\w.-]+-[A-Za-z0-9_-]{8,}\.[a-z0-9.]+$/;

const SECURITY_HEADERS = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // The page may be opened with ?token=…: never send it on in a Referer.
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
} as const;

/**
 * Loads the candidate page once, at start-up: built in memory by `web/build.ts` when esbuild is
 * installed (always fresh in development and tests), else the files `npm run build:web` wrote to
 * `web/dist`, else nothing (the page answers 503 with how to build it). Requests are matched
 * against the loaded paths only, so no request ever reaches the file system.
 */
export async function loadStaticSite(deps: { webDir?: string; log: Logger }): Promise<StaticSite> {
  const log = deps.log.child({ module: 'static' });
  const webDir = deps.webDir ?? DEFAULT_WEB_DIR;
  let files: SiteFile[] | undefined;
  let source: SiteSource = 'none';
  try {
    files = await buildInMemory(webDir);
    source = 'build';
  } catch (err) {
    if (isModuleNotFound(err)) log.info('esbuild or web/build.ts not installed: serving web/dist');
    else log.error({ err }, 'building the candidate page failed: serving web/dist');
  }
  if (files === undefined) {
    try {
      files = await readDist(join(webDir, 'dist'));
      source = 'dist';
    } catch (err) {
      log.warn({ err, webDir }, 'no candidate page: run `npm run build:web` (or install esbuild)');
    }
  }
  const entries = new Map<string, Entry>();
  for (const file of files ?? []) entries.set(file.path, entryOf(file));
  if (source !== 'none' && !entries.has('/index.html')) {
    log.warn({ webDir, source }, 'the candidate page has no index.html');
  }
  log.info({ source, files: entries.size }, 'candidate page loaded');
  return {
    source,
    paths: () => [...entries.keys()],
    serve(req, res, pathname) {
      const path = PAGE_ALIASES[pathname] ?? pathname;
      const entry = entries.get(path);
      if (entry === undefined) {
        if (!Object.values(PAGE_ALIASES).includes(path)) return false;
        const text = 'The page is not built: run `npm run build:web`, or install esbuild and restart the gateway.\n';
        res.writeHead(503, {
          ...SECURITY_HEADERS,
          'content-type': 'text/plain; charset=utf-8',
          'cache-control': 'no-store',
          'content-length': Buffer.byteLength(text),
        });
        res.end(req.method === 'HEAD' ? undefined : text);
        return true;
      }
      send(req, res, entry);
      return true;
    },
  };
}

async function buildInMemory(webDir: string): Promise<SiteFile[]> {
  const mod = (await import(pathToFileURL(join(webDir, 'build.ts')).href)) as { buildSite?: unknown };
  if (typeof mod.buildSite !== 'function') throw new Error('web/build.ts exports no buildSite()');
  const files = (await (mod.buildSite as () => Promise<unknown>)()) as SiteFile[];
  if (!Array.isArray(files) || !files.every((f) => typeof f.path === 'string' && f.contents instanceof Uint8Array)) {
    throw new Error('web/build.ts buildSite() returned something else than files');
  }
  return files;
}

/** Reads every regular file under `dir` (symbolic links are skipped, so nothing outside it is served). */
async function readDist(dir: string): Promise<SiteFile[]> {
  const files: SiteFile[] = [];
  const walk = async (abs: string, urlPath: string): Promise<void> => {
    for (const name of await readdir(abs)) {
      const path = join(abs, name);
      const info = await lstat(path);
      if (info.isDirectory()) await walk(path, `${urlPath}${name}/`);
      else if (info.isFile()) files.push({ path: `${urlPath}${name}`, contents: await readFile(path) });
    }
  };
  await walk(dir, '/');
  return files;
}

function entryOf(file: SiteFile): Entry {
  const ext = extname(file.path).toLowerCase();
  const body = Buffer.from(file.contents.buffer, file.contents.byteOffset, file.contents.byteLength);
  const compressed = COMPRESSIBLE.has(ext) && body.length > 512 ? gzipSync(body, { level: 9 }) : undefined;
  return {
    body,
    gzip: compressed !== undefined && compressed.length < body.length ? compressed : undefined,
    type: CONTENT_TYPES[ext] ?? 'application/octet-stream',
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    // Hashed names never change content; everything else (index.html) is revalidated on each load.
    cacheControl: HASHED_ASSET.test(file.path) ? 'public, max-age=31536000, immutable' : 'no-cache',
  };
}

function send(req: IncomingMessage, res: ServerResponse, entry: Entry): void {
  const gzip = entry.gzip !== undefined && acceptsGzip(req.headers['accept-encoding']) ? entry.gzip : undefined;
  // Each encoding is its own representation, so it has its own validator.
  const etag = gzip === undefined ? entry.etag : `${entry.etag.slice(0, -1)}-gz"`;
  const headers: Record<string, string | number> = {
    ...SECURITY_HEADERS,
    'content-type': entry.type,
    'cache-control': entry.cacheControl,
    etag,
  };
  if (entry.gzip !== undefined) headers['vary'] = 'accept-encoding';
  if (matchesEtag(req.headers['if-none-match'], etag)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const body = gzip ?? entry.body;
  if (gzip !== undefined) headers['content-encoding'] = 'gzip';
  headers['content-length'] = body.length;
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag === etag || tag === `W/${etag}`;
  });
}

function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false;
  return header.split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding?.trim() !== 'gzip') return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

function isModuleNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && err.code === 'ERR_MODULE_NOT_FOUND';
}
