import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { isAppError } from '@ap/protocol';
import { writeZip } from './fixtures/zip-writer.ts';
import { convertQti, itemSource, zipSource } from './package.ts';
import type { QtiSource } from './package.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** Converting must end in items or in a VALIDATION_FAILED refusal: never another error (a 500 at the edge) or a hang. */
async function convertsOrRefuses(source: () => QtiSource): Promise<void> {
  try {
    await convertQti(source(), { skill: 's' });
  } catch (err) {
    assert.ok(isAppError(err) && err.code === 'VALIDATION_FAILED', `unexpected ${String(err)}`);
  }
}

describe('any input is converted or refused with VALIDATION_FAILED', () => {
  it('arbitrary bytes as a zip package and as an item document', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (bytes) => {
        await convertsOrRefuses(() => zipSource('p.zip', bytes));
        await convertsOrRefuses(() => itemSource('i.xml', bytes));
      }),
      { numRuns: 200 },
    );
  });

  it('a valid package with bytes overwritten anywhere', async () => {
    const dir = join(FIXTURES, 'package');
    const entries = [];
    for (const f of await readdir(dir, { recursive: true, withFileTypes: true })) {
      if (f.isFile())
        entries.push({
          name: relative(dir, join(f.parentPath, f.name)).split('\\').join('/'),
          data: await readFile(join(f.parentPath, f.name)),
          store: true,
        });
    }
    const zip = writeZip(entries);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(zip.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        async (edits) => {
          const copy = Buffer.from(zip);
          for (const [at, value] of edits) copy[at] = value;
          await convertsOrRefuses(() => zipSource('p.zip', copy));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('an item document with characters overwritten anywhere', async () => {
    const text = await readFile(join(FIXTURES, 'v21-single.xml'), 'utf8');
    const chars = fc.constantFrom('<', '>', '&', '"', "'", '/', '=', ' ', '!', '?', ';', '#', 'x', ':', '%');
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(text.length - 1), chars), { minLength: 1, maxLength: 6 }), async (edits) => {
        const copy = Array.from(text);
        for (const [at, c] of edits) copy[at] = c;
        await convertsOrRefuses(() => itemSource('i.xml', Buffer.from(copy.join(''))));
      }),
      { numRuns: 300 },
    );
  });
});
