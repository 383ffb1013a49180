import { execFile } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';
import { z } from 'zod';
import { processEnvironment, readStackConfig, type StackEnv } from './config.ts';
import { dockerAvailable } from './docker.ts';
import { findTool, isExecutable } from './tools.ts';

/** The tools the provisioning builds with Go, each pinned to one release. */
export const TOOL_RELEASES = {
  'nats-server': { version: 'v2.12.1', module: 'github.com/nats-io/nats-server/v2' },
  ferretdb: { version: 'v1.24.2', module: 'github.com/FerretDB/FerretDB' },
  kustomize: { version: 'v5.6.0', module: 'sigs.k8s.io/kustomize/kustomize/v5' },
} as const;

/** A tool that {@link provisionTools} can build. */
export type ProvisionedTool = keyof typeof TOOL_RELEASES;

/** Who needs the tools: `start` only what the local stack will run, `test` everything the tests use. */
export type ProvisionPurpose = 'start' | 'test';

/** Options of {@link provisionTools}. */
export interface ProvisionOptions {
  /** Environment for tool lookup, `TOOLS_DIR`, `PATH` and Go (default: this process's environment). */
  env?: StackEnv;
  /** Receives one line per step: what is done and how long the provisioning has taken so far. */
  report?: (line: string) => void;
  /** The go binary; default: `go` on `PATH`, else `/usr/local/go/bin/go`. `null` means there is none. */
  goBin?: string | null;
  /** A "still building" line every this many ms during a long step (default 30 s). */
  heartbeatMs?: number;
}

/** What {@link provisionTools} found or built. */
export interface ProvisionResult {
  /** Path of each requested tool that is now available (for the database: mongod or ferretdb). */
  tools: Partial<Record<ProvisionedTool | 'mongod', string>>;
  /** The tools that were built on this call. */
  built: ProvisionedTool[];
  /** Wall time of the call, ms. */
  elapsedMs: number;
}

/** The tools cache lacks a tool and it cannot be built here; the message names the ways forward. */
export class ProvisionError extends Error {
  override name = 'ProvisionError';
}

/** The oldest nats-server the platform runs on (Debian's 2.9 lacks features the stack uses). */
const MIN_NATS = [2, 10] as const;

const goModDownloadSchema = z.object({ Dir: z.string().min(1).optional(), Error: z.string().optional() });

/** `1 min 05 s` or `12 s`. */
export function formatElapsed(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

function run(
  file: string,
  args: string[],
  options: { env: Record<string, string | undefined>; cwd?: string; timeoutMs?: number },
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { env: options.env, cwd: options.cwd, timeout: options.timeoutMs ?? 0, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err !== null) {
          const tail = stderr.trim().split('\n').slice(-15).join('\n');
          reject(
            new Error(`${[file, ...args].join(' ')} failed: ${err.message.split('\n')[0] ?? ''}${tail === '' ? '' : `\n${tail}`}`, {
              cause: err,
            }),
          );
        } else resolve({ stdout, stderr });
      },
    );
  });
}

/** The first line of `bin --version`, or undefined when the binary is missing or broken. */
async function versionLine(bin: string): Promise<string | undefined> {
  try {
    const { stdout } = await run(bin, ['--version'], { env: { PATH: '/usr/bin:/bin' }, timeoutMs: 10_000 });
    return stdout.split('\n')[0]?.trim();
  } catch {
    return undefined;
  }
}

/** Whether `bin` is a nats-server the platform runs on (2.10 or newer). */
async function natsUsable(bin: string): Promise<boolean> {
  const m = /v?(\d+)\.(\d+)\.\d+/.exec((await versionLine(bin)) ?? '');
  if (m === null) return false;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > MIN_NATS[0] || (major === MIN_NATS[0] && minor >= MIN_NATS[1]);
}

/** Whether `bin` is a FerretDB 1.24 that starts (a plain `go install` of it panics at `--version`). */
async function ferretUsable(bin: string): Promise<boolean> {
  return /^version: v1\.24\./.test((await versionLine(bin)) ?? '');
}

/** The go binary: on `PATH`, else where the official tarball puts it. */
function findGo(env: StackEnv): string | undefined {
  const dirs = [...readStackConfig(env).path, '/usr/local/go/bin'];
  return dirs.map((d) => join(d, 'go')).find(isExecutable);
}

/** `~/.cache/…` for a path below the home directory, as a user would type it. */
function shown(path: string, env: StackEnv): string {
  const home = env['HOME'] ?? homedir();
  const rel = relative(home, path);
  return rel.startsWith('..') || rel === path ? path : `~/${rel}`;
}

/**
 * Which tools `purpose` needs that are not yet usable. `start` follows {@link startInfra}: nothing
 * for a given `NATS_URL`/`MONGO_URL` or when a Docker engine answers, no FerretDB when mongod is
 * found. `test` also needs local servers that the fault tests stop and start, and kustomize.
 */
export async function missingTools(purpose: ProvisionPurpose, env: StackEnv = processEnvironment()): Promise<ProvisionedTool[]> {
  const cfg = readStackConfig(env);
  const local = purpose === 'test' || (cfg.dockerEnabled ? !(await dockerAvailable(cfg)) : true);
  const missing: ProvisionedTool[] = [];
  if (local && (purpose === 'test' || cfg.natsUrl === undefined)) {
    const nats = findTool('nats-server', env);
    const trusted = nats !== undefined && cfg.bins['nats-server'] !== undefined;
    if (!trusted && (nats === undefined || !(await natsUsable(nats)))) missing.push('nats-server');
  }
  if (local && (purpose === 'test' || cfg.mongoUrl === undefined) && findTool('mongod', env) === undefined) {
    const ferret = findTool('ferretdb', env);
    const trusted = ferret !== undefined && cfg.bins.ferretdb !== undefined;
    if (!trusted && (ferret === undefined || !(await ferretUsable(ferret)))) missing.push('ferretdb');
  }
  if (purpose === 'test' && findTool('kustomize', env) === undefined) missing.push('kustomize');
  return missing;
}

/**
 * Builds the given tools with Go into the tools cache (`TOOLS_DIR`, default
 * `~/.cache/assess-tools/bin`), reporting one line per step. Each binary is built in a scratch
 * directory inside the cache and renamed into place, so a concurrent run never sees half a file.
 * Throws {@link ProvisionError} when Go is missing.
 */
export async function buildTools(tools: readonly ProvisionedTool[], opts: ProvisionOptions = {}): Promise<ProvisionResult> {
  const env = opts.env ?? processEnvironment();
  const report = opts.report ?? (() => undefined);
  const started = Date.now();
  const result: ProvisionResult = { tools: {}, built: [], elapsedMs: 0 };
  if (tools.length === 0) return result;
  const toolsDir = readStackConfig(env).toolsDir;
  const go = opts.goBin === null ? undefined : (opts.goBin ?? findGo(env));
  if (go === undefined || !isExecutable(go)) throw new ProvisionError(noGoMessage(tools, shown(toolsDir, env)));
  await mkdir(toolsDir, { recursive: true });
  const goEnv: Record<string, string | undefined> = { ...env, GOFLAGS: '-buildvcs=false', GOBIN: undefined };
  const names = tools.map((t) => `${t} ${TOOL_RELEASES[t].version}`).join(', ');
  report(`tools: building ${names} with Go into ${shown(toolsDir, env)} (once; later runs reuse them)`);

  const soFar = () => `(${formatElapsed(Date.now() - started)} so far)`;
  const step = async <T>(label: string, what: string, action: () => Promise<T>): Promise<T> => {
    report(`tools: ${label}: ${what} ${soFar()}`);
    const timer = setInterval(() => report(`tools: ${label}: still ${what} ${soFar()}`), opts.heartbeatMs ?? 30_000);
    try {
      return await action();
    } finally {
      clearInterval(timer);
    }
  };

  for (const tool of tools) {
    const { module, version } = TOOL_RELEASES[tool];
    const label = `${tool} ${version}`;
    const scratch = await mkdtemp(join(toolsDir, `.build-${tool}-`));
    try {
      const out = join(scratch, tool);
      if (tool === 'ferretdb') {
        // `go install …/cmd/ferretdb@v1.24.2` yields a binary that panics at start-up: the module
        // zip has an empty build/version/version.txt. So build a copy of the source with it filled in.
        const download = await step(label, 'downloading the source (go mod download)', () =>
          run(go, ['mod', 'download', '-json', `${module}@${version}`], { env: goEnv, cwd: scratch }),
        );
        const parsed = goModDownloadSchema.parse(JSON.parse(download.stdout));
        if (parsed.Dir === undefined) throw new Error(`go mod download ${module}@${version}: ${parsed.Error ?? 'no source directory'}`);
        const src = join(scratch, 'src');
        await cp(parsed.Dir, src, { recursive: true });
        await makeWritable(src);
        await writeFile(join(src, 'build', 'version', 'version.txt'), `${version}\n`);
        await step(label, 'compiling (go build)', () =>
          run(go, ['build', '-trimpath', '-o', out, './cmd/ferretdb'], { env: goEnv, cwd: src }),
        );
      } else {
        await step(label, 'downloading and compiling (go install)', () =>
          run(go, ['install', `${module}@${version}`], { env: { ...goEnv, GOBIN: scratch }, cwd: scratch }),
        );
      }
      const target = join(toolsDir, tool);
      await rename(out, target);
      result.tools[tool] = target;
      result.built.push(tool);
      report(`tools: ${label}: ready ${soFar()}`);
    } finally {
      await makeWritable(scratch).catch(() => undefined);
      await rm(scratch, { recursive: true, force: true });
    }
  }
  result.elapsedMs = Date.now() - started;
  report(`tools: done in ${formatElapsed(result.elapsedMs)}`);
  return result;
}

/**
 * Makes sure `purpose` can run: finds each tool it needs ({@link missingTools}) and builds the
 * missing ones ({@link buildTools}). Quiet when everything is there.
 */
export async function provisionTools(purpose: ProvisionPurpose, opts: ProvisionOptions = {}): Promise<ProvisionResult> {
  const env = opts.env ?? processEnvironment();
  const started = Date.now();
  const missing = await missingTools(purpose, env);
  const result = await buildTools(missing, { ...opts, env });
  for (const tool of ['nats-server', 'ferretdb', 'kustomize', 'mongod'] as const) {
    const found = result.tools[tool] ?? findTool(tool, env);
    if (found !== undefined) result.tools[tool] = found;
  }
  result.elapsedMs = Date.now() - started;
  return result;
}

function noGoMessage(tools: readonly ProvisionedTool[], toolsDir: string): string {
  const names = tools.map((t) => (t === 'ferretdb' ? 'FerretDB (or mongod)' : t)).join(', ');
  return (
    `missing: ${names}. They are built once with Go into ${toolsDir}, and Go was not found ` +
    `(checked PATH and /usr/local/go/bin). Two ways forward:\n` +
    `  1. install Go 1.24 or newer (https://go.dev/dl/) and run the command again: the first run builds them (a few minutes);\n` +
    `  2. or run the whole system in containers: docker compose up --build`
  );
}

/** Files in Go's module cache are read-only; the copy must be writable to fill in and to remove. */
async function makeWritable(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await makeWritable(path);
    else if (entry.isFile()) await chmod(path, 0o644);
  }
}
