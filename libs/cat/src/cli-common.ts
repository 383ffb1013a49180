/** What the CAT CLI's commands share: failing with a message, reading input, naming a field. */
import { readFileSync } from 'node:fs';

/** A command line the CLI cannot run: printed with the usage, exit 2. */
export class UsageError extends Error {}

export function fail(message: string, code = 2): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

export async function readInput(file: string | undefined): Promise<string> {
  if (file !== undefined && file !== '-') return readFileSync(file, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function issuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out === '' ? '(root)' : out;
}
