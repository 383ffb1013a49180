import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestStack } from './setup.ts';

const ADMIN_CLI = fileURLToPath(new URL('../../services/assessment/src/admin-cli.ts', import.meta.url));

/** Runs `npm run admin -- …` as the operator would, against a test's stack, in `cwd` (default: this process's). */
export function runAdmin(stack: TestStack, args: string[], cwd?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [ADMIN_CLI, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...stack.cliEnv },
      ...(cwd === undefined ? {} : { cwd }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
