import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';
import { readStackConfig, type StackEnv, processEnvironment } from './config.ts';

/** Infrastructure binaries this library knows how to run. */
export type ToolName = 'nats-server' | 'ferretdb' | 'mongod';

/** Debian installs nats-server into /usr/sbin, which is not on every user's PATH. */
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

function isExecutable(file: string): boolean {
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
  const override = cfg.bins[name];
  if (override !== undefined) return isExecutable(override) ? override : undefined;
  const dirs = [cfg.toolsDir, ...cfg.path, ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** Human-readable instructions for installing a missing tool. */
export function installHint(name: ToolName, env: StackEnv = processEnvironment()): string {
  const dir = readStackConfig(env).toolsDir;
  switch (name) {
    case 'nats-server':
      return (
        `nats-server not found (checked NATS_SERVER_BIN, ${dir}, PATH): ` +
        `apt-get install nats-server, or ` +
        `GOBIN=${dir} go install github.com/nats-io/nats-server/v2@v2.12.1 ` +
        `(bash .ci/run does this)`
      );
    case 'ferretdb':
    case 'mongod':
      return (
        `neither mongod nor ferretdb found (checked MONGOD_BIN, FERRETDB_BIN, ${dir}, PATH): ` +
        `install MongoDB so that mongod is on the PATH, or build FerretDB v1.24.2 into ${dir} ` +
        `(bash .ci/run does this; see libs/stack/README.md - a plain "go install ...ferretdb@v1.24.2" ` +
        `binary panics at startup because build/version/version.txt is empty)`
      );
  }
}
