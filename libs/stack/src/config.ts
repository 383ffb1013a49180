import { homedir } from 'node:os';
import { join } from 'node:path';

/** Environment variables as seen by this library (defaults to `process.env`). */
export type StackEnv = Readonly<Record<string, string | undefined>>;

/** Settings read from the environment; the only place in `@ap/stack` that touches `process.env`. */
export interface StackConfig {
  /** Explicit binaries (`NATS_SERVER_BIN`, `FERRETDB_BIN`, `MONGOD_BIN`). */
  bins: { 'nats-server'?: string; ferretdb?: string; mongod?: string };
  /** Tools cache directory (`TOOLS_DIR`, default `$HOME/.cache/assess-tools/bin`). */
  toolsDir: string;
  /** Directories of `PATH`. */
  path: string[];
  /** `DOCKER_HOST`, when set. */
  dockerHost?: string;
  /** `XDG_RUNTIME_DIR`, when set (rootless Docker socket lives there). */
  runtimeDir?: string;
  /** `STACK_DOCKER=0|false|off` disables the testcontainers path. */
  dockerEnabled: boolean;
  /** Pre-existing servers (`NATS_URL`, `MONGO_URL`). */
  natsUrl?: string;
  mongoUrl?: string;
}

/** Default tools cache directory for a given home directory. */
export function defaultToolsDir(home: string = homedir()): string {
  return join(home, '.cache', 'assess-tools', 'bin');
}

function nonEmpty(v: string | undefined): string | undefined {
  return v !== undefined && v.trim() !== '' ? v.trim() : undefined;
}

/** Reads the stack settings from `env` (default `process.env`). */
export function readStackConfig(env: StackEnv = process.env): StackConfig {
  const home = nonEmpty(env['HOME']) ?? homedir();
  const cfg: StackConfig = {
    bins: {},
    toolsDir: nonEmpty(env['TOOLS_DIR']) ?? defaultToolsDir(home),
    path: (env['PATH'] ?? '').split(':').filter((p) => p !== ''),
    dockerEnabled: !['0', 'false', 'off', 'no'].includes((env['STACK_DOCKER'] ?? '').toLowerCase()),
  };
  const nats = nonEmpty(env['NATS_SERVER_BIN']);
  const ferret = nonEmpty(env['FERRETDB_BIN']);
  const mongod = nonEmpty(env['MONGOD_BIN']);
  if (nats !== undefined) cfg.bins['nats-server'] = nats;
  if (ferret !== undefined) cfg.bins.ferretdb = ferret;
  if (mongod !== undefined) cfg.bins.mongod = mongod;
  const dockerHost = nonEmpty(env['DOCKER_HOST']);
  if (dockerHost !== undefined) cfg.dockerHost = dockerHost;
  const runtimeDir = nonEmpty(env['XDG_RUNTIME_DIR']);
  if (runtimeDir !== undefined) cfg.runtimeDir = runtimeDir;
  const natsUrl = nonEmpty(env['NATS_URL']);
  if (natsUrl !== undefined) cfg.natsUrl = natsUrl;
  const mongoUrl = nonEmpty(env['MONGO_URL']);
  if (mongoUrl !== undefined) cfg.mongoUrl = mongoUrl;
  return cfg;
}

/** The environment of this process: the default wherever a caller passes none. */
export function processEnvironment(): StackEnv {
  return process.env;
}
