import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';
import { readStackConfig, type StackEnv, processEnvironment } from './config.ts';

/** Infrastructure binaries this library knows how to run. */
export type ToolName = 'nats-server' | 'ferretdb' | 'mongod' | 'kustomize';

/** Debian installs nats-server into /usr/sbin, which is not on every user's PATH. */
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** Whether `file` is a regular file this process may execute. */
export function isExecutable(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Locates a server binary: the env override (`NATS_SERVER_BIN`, `FERRETDB_BIN`, `MONGOD_BIN`),
 * then the tools cache (`TOOLS_DIR`, default `~/.cache/assess-tools/bin`), then `PATH`.
 */
export function findTool(name: ToolName, env: StackEnv = processEnvironment()): string | undefined {
  const cfg = readStackConfig(env);
  const override = name === 'kustomize' ? undefined : cfg.bins[name];
  if (override !== undefined) return isExecutable(override) ? override : undefined;
  const dirs = [cfg.toolsDir, ...cfg.path, ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** What to do about a missing tool: `npm run tools` builds it (provision.ts), or give a URL. */
export function installHint(name: ToolName, env: StackEnv = processEnvironment()): string {
  const dir = readStackConfig(env).toolsDir;
  switch (name) {
    case 'nats-server':
      return (
        `nats-server not found (checked NATS_SERVER_BIN, ${dir}, PATH): ` +
        `run \`npm run tools\` to build v2.12.1 into ${dir} (needs Go), or set NATS_URL to a running server`
      );
    case 'ferretdb':
    case 'mongod':
      return (
        `neither mongod nor ferretdb found (checked MONGOD_BIN, FERRETDB_BIN, ${dir}, PATH): ` +
        `run \`npm run tools\` to build FerretDB v1.24.2 into ${dir} (needs Go), put mongod on the PATH, ` +
        `or set MONGO_URL to a running server`
      );
    case 'kustomize':
      return `kustomize not found (checked ${dir}, PATH): run \`npm run tools\` to build v5.6.0 into ${dir} (needs Go)`;
  }
}
