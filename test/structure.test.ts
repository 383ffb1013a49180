// The shape of the source, checked offline: no function in a service or a library is longer than
// MAX_FUNCTION_LINES lines (tests and benchmarks aside). A longer one is split along its seams.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

const root = path.resolve(import.meta.dirname, '..');
const MAX_FUNCTION_LINES = 150;

/** The TypeScript sources of `services/*\/src` and `libs/*\/src`, without tests and benchmarks. */
function sourceFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'bench' && entry.name !== 'node_modules') walk(full);
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.bench.ts')) {
        files.push(full);
      }
    }
  };
  for (const group of ['services', 'libs']) {
    for (const pkg of readdirSync(path.join(root, group), { withFileTypes: true })) {
      if (!pkg.isDirectory()) continue;
      const src = path.join(root, group, pkg.name, 'src');
      try {
        walk(src);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  }
  return files.sort();
}

type LongFunction = { where: string; name: string; lines: number };

/** Every function, method, accessor and arrow function in `file` longer than `max` lines. */
function longFunctions(file: string, text: string, max: number): LongFunction[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: LongFunction[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = end - start + 1;
      if (lines > max) {
        found.push({ where: `${path.relative(root, file)}:${String(start + 1)}`, name: functionName(node), lines });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function functionName(node: ts.SignatureDeclaration): string {
  if (node.name !== undefined) return node.name.getText();
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)) return parent.name.getText();
  return '(anonymous)';
}

test('the source has services and libraries to check', () => {
  const files = sourceFiles();
  assert.ok(files.some((f) => f.includes(`${path.sep}services${path.sep}`)));
  assert.ok(files.some((f) => f.includes(`${path.sep}libs${path.sep}`)));
});

test(`no function in services/*/src or libs/*/src is longer than ${String(MAX_FUNCTION_LINES)} lines`, () => {
  const long = sourceFiles().flatMap((file) => longFunctions(file, readFileSync(file, 'utf8'), MAX_FUNCTION_LINES));
  assert.deepEqual(
    long.map((f) => `${f.where} ${f.name}: ${String(f.lines)} lines`),
    [],
    'split these functions along their seams',
  );
});

test('the check counts the lines of nested and arrow functions', () => {
  const body = Array.from({ length: 5 }, (_, i) => `  const v${String(i)} = ${String(i)};`).join('\n');
  const text = `export function outer() {\n  const inner = () => {\n${body}\n  };\n  return inner;\n}\n`;
  const found = longFunctions(path.join(root, 'example.ts'), text, 6);
  assert.deepEqual(
    found.map((f) => `${f.where} ${f.name}`),
    ['example.ts:1 outer', 'example.ts:2 inner'],
  );
});
