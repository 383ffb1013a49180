import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isAppError } from '@ap/protocol';
import type { QtiProblem } from '@ap/protocol';
import { writeZip } from './fixtures/zip-writer.ts';
import type { TestEntry } from './fixtures/zip-writer.ts';
import { folderSource } from './folder.ts';
import { convertQti, itemSource, zipSource } from './package.ts';
import type { QtiImportOptions, QtiSource } from './package.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const PACKAGE = join(FIXTURES, 'package');

async function fixture(name: string): Promise<QtiSource> {
  return itemSource(name, await readFile(join(FIXTURES, name)));
}

/** The package folder's files as zip entries, optionally under a folder and with more entries. */
async function packageEntries(prefix = ''): Promise<TestEntry[]> {
  const out: TestEntry[] = [];
  for (const file of await readdir(PACKAGE, { recursive: true, withFileTypes: true })) {
    if (!file.isFile()) continue;
    const path = join(file.parentPath, file.name);
    out.push({ name: prefix + relative(PACKAGE, path).split('\\').join('/'), data: await readFile(path) });
  }
  return out;
}

/** The one element of a list. */
function only<T>(list: readonly T[]): T {
  const [first, ...rest] = list;
  assert.ok(first !== undefined && rest.length === 0, `expected one element, got ${JSON.stringify(list)}`);
  return first;
}

/** The refusal of a conversion: its message and the problems it lists. */
async function refusal(
  source: QtiSource | (() => QtiSource),
  options?: QtiImportOptions,
): Promise<{ message: string; errors: QtiProblem[] }> {
  try {
    await convertQti(typeof source === 'function' ? source() : source, options);
  } catch (err) {
    assert.ok(isAppError(err), `expected an AppError, got ${String(err)}`);
    assert.equal(err.code, 'VALIDATION_FAILED');
    return { message: err.message, errors: (err.details?.['errors'] ?? []) as QtiProblem[] };
  }
  assert.fail('the conversion was expected to be refused');
}

describe('single items', () => {
  it('converts a QTI 3.0 choice item with match_correct', async () => {
    const { items, skipped } = await convertQti(await fixture('v3-single.xml'), { skill: 'capitals' });
    assert.deepEqual(skipped, []);
    assert.deepEqual(items, [
      {
        id: 'v3-capital',
        skill: 'capitals',
        stem: 'Paris is on the Seine.\n\nWhich city is the capital of France?',
        options: [
          { id: 'A', text: 'Lyon' },
          { id: 'B', text: 'Paris' },
          { id: 'C', text: 'Marseille & Nice' },
        ],
        key: 'B',
      },
    ]);
  });

  it('converts a QTI 2.1 choice item with map_response', async () => {
    const { items } = await convertQti(await fixture('v21-single.xml'), { skill: 'algebra' });
    const item = only(items);
    assert.equal(item.id, 'v21-square');
    assert.equal(item.stem, 'What is x^2 when x = 3?');
    assert.equal(item.key, 'ChoiceC');
    assert.deepEqual(
      item.options.map((o) => o.text),
      ['6', '8', '9', '12'],
    );
  });

  it('refuses an item without a skill, and names the option that gives one', async () => {
    const { errors } = await refusal(await fixture('v3-single.xml'));
    assert.deepEqual(
      errors.map((e) => [e.item, e.file]),
      [['v3-capital', 'v3-single.xml']],
    );
    assert.match(only(errors).reason, /no skill/);
  });

  it('refuses an unsupported interaction naming the item, file and reason', async () => {
    const { message, errors } = await refusal(await fixture('text-entry.xml'), { skill: 's' });
    assert.match(message, /nothing was imported/);
    const error = only(errors);
    assert.equal(error.item, 'v21-text-entry');
    assert.equal(error.file, 'text-entry.xml');
    assert.match(error.reason, /unsupported interaction <textEntryInteraction>/);
  });

  it('refuses a correct response that is not one of the choices', async () => {
    const { errors } = await refusal(await fixture('bad-correct.xml'), { skill: 's' });
    assert.equal(only(errors).item, 'v3-bad-key');
    assert.match(only(errors).reason, /correct response "Z" is not one of the choices \(A, B\)/);
  });

  it('refuses multiple response, which the platform cannot score', async () => {
    const { errors } = await refusal(await fixture('multiple.xml'), { skill: 's' });
    assert.equal(only(errors).item, 'v3-multiple');
    assert.match(only(errors).reason, /multiple response \(max-choices="0"\) is not supported/);
  });

  it('keeps the text of allowed markup and drops every attribute (event handlers, links)', async () => {
    const { items } = await convertQti(await fixture('html-allowed.xml'), { skill: 's' });
    const item = only(items);
    assert.equal(item.stem, 'Read the policy below.\n- Water is H_2O\n- Ice floats\n\nIs this true?');
    assert.deepEqual(item.options, [
      { id: 'yes', text: 'Yes' },
      { id: 'no', text: 'No' },
    ]);
    const all = JSON.stringify(items);
    for (const gone of ['onclick', 'onmouseover', 'https:', 'alert', 'style']) assert.ok(!all.includes(gone), `${gone} left in ${all}`);
  });

  it('refuses a script and an image with a remote source', async () => {
    const script = await refusal(await fixture('html-script.xml'), { skill: 's' });
    assert.equal(only(script.errors).item, 'v3-script');
    assert.match(only(script.errors).reason, /the prompt: <script> is not allowed/);
    const image = await refusal(await fixture('html-image.xml'), { skill: 's' });
    assert.equal(only(image.errors).item, 'v3-image');
    assert.match(only(image.errors).reason, /a choice: <img> is not supported/);
  });
});

describe('response processing and package rules', () => {
  const v3 = () => readFile(join(FIXTURES, 'v3-single.xml'), 'utf8');
  const v21 = () => readFile(join(FIXTURES, 'v21-single.xml'), 'utf8');
  const reasonFor = async (name: string, text: string): Promise<string> =>
    only((await refusal(itemSource(name, Buffer.from(text)), { skill: 's' })).errors).reason;

  it('refuses custom response processing rules and templates other than match_correct and map_response', async () => {
    const rules = (await v3()).replace(
      /<qti-response-processing[^>]*\/>/,
      '<qti-response-processing><qti-response-condition/></qti-response-processing>',
    );
    assert.match(await reasonFor('rules.xml', rules), /custom response processing rules are not supported/);
    const other = (await v3()).replace('match_correct.xml', 'map_response_point.xml');
    assert.match(await reasonFor('other.xml', other), /template .*map_response_point\.xml is not supported/);
  });

  it('refuses a map_response mapping that gives partial credit', async () => {
    const partial = (await v21()).replace('mapKey="ChoiceA" mappedValue="-0.5"', 'mapKey="ChoiceA" mappedValue="0.5"');
    assert.match(await reasonFor('partial.xml', partial), /gives credit to ChoiceA besides the correct response/);
  });

  it('refuses two items with one identifier, and a resource type that does not match the file', async () => {
    const entries = await packageEntries();
    const twice = entries.map((e) =>
      e.name === 'items/deserts.xml'
        ? { ...e, data: Buffer.from(Buffer.from(e.data).toString('utf8').replace('qti-geo-deserts', 'qti-geo-peaks')) }
        : e,
    );
    const dup = await refusal(zipSource('p.zip', writeZip(twice.filter((e) => e.name !== 'item-parameters.json'))), { skill: 's' });
    assert.deepEqual(
      dup.errors.map((e) => [e.item, e.file, e.reason]),
      [['qti-geo-peaks', 'items/deserts.xml', 'another item in the package has the same identifier']],
    );
    const mismatch = entries.map((e) =>
      e.name === 'imsmanifest.xml'
        ? {
            ...e,
            data: Buffer.from(
              Buffer.from(e.data)
                .toString('utf8')
                .replace('type="imsqti_item_xmlv3p0" href="items/peaks.xml"', 'type="imsqti_item_xmlv2p1" href="items/peaks.xml"'),
            ),
          }
        : e,
    );
    const wrong = await refusal(zipSource('p.zip', writeZip(mismatch)));
    assert.match(only(wrong.errors).reason, /the resource type says QTI 2\.1 but the file is a QTI 3\.0 item/);
  });
});

describe('XML safety', () => {
  it('refuses an external entity (XXE) before reading anything it names', async () => {
    const started = performance.now();
    const { message, errors } = await refusal(await fixture('xxe.xml'), { skill: 's' });
    assert.match(message, /xxe\.xml: a DOCTYPE \(DTD\) is not allowed/);
    assert.equal(only(errors).item, '(package)');
    assert.ok(!message.includes('root:'), 'nothing of the named file is in the error');
    assert.ok(performance.now() - started < 1000, 'refused at once, not after expanding');
  });

  it('refuses nested entities (billion laughs) in bounded time and memory', async () => {
    const source = await fixture('billion-laughs.xml');
    const heap = process.memoryUsage().heapUsed;
    const started = performance.now();
    const { message } = await refusal(source, { skill: 's' });
    assert.match(message, /DOCTYPE \(DTD\) is not allowed/);
    assert.ok(performance.now() - started < 1000, 'refused at once, not after expanding');
    assert.ok(process.memoryUsage().heapUsed - heap < 20 * 1024 * 1024);
  });

  it('reads no entity but the predefined ones', async () => {
    const text = (await readFile(join(FIXTURES, 'v3-single.xml'), 'utf8')).replace('Lyon', '&nbsp;Lyon');
    const { message } = await refusal(itemSource('nbsp.xml', Buffer.from(text)), { skill: 's' });
    assert.match(message, /unknown entity &nbsp;/);
  });
});

describe('packages', () => {
  const expected = [
    { id: 'qti-geo-rivers', skill: 'geography', key: 'A', a: 1.4, b: -0.5, c: 0.2 },
    { id: 'qti-geo-peaks', skill: 'mountains', key: 'B', a: 0.9, b: 0.3, c: 0.25 },
    { id: 'qti-geo-deserts', skill: 'geography', key: 'C', b: 1.2, difficulty: 'hard' },
  ];
  const summary = (items: Awaited<ReturnType<typeof convertQti>>['items']) =>
    items.map(({ id, skill, key, a, b, c, difficulty }) => ({ id, skill, key, a, b, c, difficulty }));
  const expectedSummary = expected.map((e) => ({ a: undefined, c: undefined, difficulty: undefined, ...e }));

  it('reads a folder: manifest, three items, IRT parameters from the manifest extension and the sidecar', async () => {
    const { items, skipped } = await convertQti(await folderSource(PACKAGE));
    assert.deepEqual(skipped, []);
    assert.deepEqual(summary(items), expectedSummary);
    assert.equal(items[1]?.stem, 'Which mountain is the highest?');
  });

  it('reads the same package zipped, at the root or under one folder', async () => {
    for (const prefix of ['', 'geography-pack/']) {
      const { items } = await convertQti(zipSource('pack.zip', writeZip(await packageEntries(prefix))));
      assert.deepEqual(summary(items), expectedSummary);
    }
  });

  it('imports nothing when one item is unsupported, and the rest with skipUnsupported', async () => {
    const entries = await packageEntries();
    const manifest = entries.find((e) => e.name === 'imsmanifest.xml');
    assert.ok(manifest !== undefined);
    manifest.data = Buffer.from(
      Buffer.from(manifest.data)
        .toString('utf8')
        .replace(
          '<resource identifier="res-style"',
          '<resource identifier="res-text" type="imsqti_item_xmlv2p1" href="items/text-entry.xml"><file href="items/text-entry.xml"/></resource>\n<resource identifier="res-style"',
        ),
    );
    entries.push({ name: 'items/text-entry.xml', data: await readFile(join(FIXTURES, 'text-entry.xml')) });
    const zip = writeZip(entries);
    const { errors } = await refusal(zipSource('pack.zip', zip), { skill: 'fallback' });
    assert.deepEqual(
      errors.map((e) => [e.item, e.file]),
      [['v21-text-entry', 'items/text-entry.xml']],
    );
    const { items, skipped } = await convertQti(zipSource('pack.zip', zip), { skill: 'fallback', skipUnsupported: true });
    assert.deepEqual(
      items.map((i) => i.id),
      ['qti-geo-rivers', 'qti-geo-peaks', 'qti-geo-deserts'],
    );
    assert.deepEqual(
      skipped.map((s) => s.item),
      ['v21-text-entry'],
    );
  });

  it('refuses a sidecar that names an item not in the package, or gives a parameter out of range', async () => {
    const entries = await packageEntries();
    const sidecar = (text: string) => entries.map((e) => (e.name === 'item-parameters.json' ? { ...e, data: Buffer.from(text) } : e));
    const unknown = await refusal(zipSource('p.zip', writeZip(sidecar('{"items":{"nope":{"b":1}}}'))), { skill: 'fallback' });
    assert.match(unknown.message, /item-parameters\.json: names items that are not in the package: nope/);
    const range = await refusal(zipSource('p.zip', writeZip(sidecar('{"items":{"qti-geo-peaks":{"a":-1}}}'))));
    assert.match(range.message, /item-parameters\.json: items\.qti-geo-peaks\.a/);
  });

  it('refuses a manifest href that leaves the package', async () => {
    const entries = await packageEntries();
    const bad = entries.map((e) =>
      e.name === 'imsmanifest.xml'
        ? { ...e, data: Buffer.from(Buffer.from(e.data).toString('utf8').replace('href="items/peaks.xml"', 'href="../peaks.xml"')) }
        : e,
    );
    const { message } = await refusal(zipSource('p.zip', writeZip(bad)));
    assert.match(message, /href "\.\.\/peaks\.xml" is not a relative path inside the package/);
  });
});

describe('sources and options', () => {
  it('takes skills and parameters from a sidecar given apart, for a single item too', async () => {
    const sidecar = JSON.stringify({ items: { 'v3-capital': { skill: 'capitals', b: 0.5, difficulty: 'easy' } } });
    const item = only((await convertQti(await fixture('v3-single.xml'), { sidecar })).items);
    assert.deepEqual([item.skill, item.b, item.difficulty], ['capitals', 0.5, 'easy']);
  });

  it('reads nothing outside a package folder, even through a symbolic link', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qti-folder-'));
    try {
      await cp(PACKAGE, dir, { recursive: true });
      await writeFile(join(tmpdir(), `${basename(dir)}-outside.xml`), await readFile(join(FIXTURES, 'v3-single.xml')));
      await rm(join(dir, 'items', 'peaks.xml'));
      await symlink(join(tmpdir(), `${basename(dir)}-outside.xml`), join(dir, 'items', 'peaks.xml'));
      const { errors } = await refusal(await folderSource(dir));
      assert.deepEqual(
        errors.map((e) => [e.item, e.file, e.reason]),
        [['res-peaks', 'items/peaks.xml', 'the file is not in the package']],
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
      await rm(join(tmpdir(), `${basename(dir)}-outside.xml`), { force: true });
    }
  });

  it('refuses an XML file over 1 MiB before parsing it', async () => {
    const text = (await readFile(join(FIXTURES, 'v3-single.xml'), 'utf8')).replace('Lyon', 'Lyon'.padEnd(1024 * 1024, ' '));
    assert.match(
      (await refusal(itemSource('big.xml', Buffer.from(text)), { skill: 's' })).message,
      /big\.xml: the file is larger than 1048576 bytes/,
    );
  });
});

describe('zip limits', () => {
  it('refuses entry names that traverse out of the package, whether or not they are read', async () => {
    for (const name of ['../evil.xml', 'items/../../evil.xml', '/etc/evil.xml', 'C:/evil.xml', 'items\\..\\evil.xml']) {
      const zip = writeZip([...(await packageEntries()), { name, data: Buffer.from('<x/>') }]);
      const { message } = await refusal(() => zipSource('p.zip', zip));
      assert.match(message, /is not a relative path inside the package \(path traversal\)/, name);
    }
  });

  it('refuses an archive whose declared uncompressed size is too large (zip bomb), without inflating it', async () => {
    const big = Buffer.alloc(5 * 1024 * 1024);
    const zip = writeZip([...(await packageEntries()), { name: 'items/big.bin', data: big }]);
    assert.ok(zip.length < 64 * 1024, 'the bomb is small');
    const { message } = await refusal(() => zipSource('p.zip', zip));
    assert.match(message, /entry "items\/big\.bin" is 5242880 bytes uncompressed; at most 4194304 are read/);
    const many = writeZip(Array.from({ length: 10 }, (_, i) => ({ name: `f${i}.bin`, data: Buffer.alloc(4 * 1024 * 1024) })));
    assert.match((await refusal(() => zipSource('p.zip', many))).message, /more than 33554432 bytes uncompressed/);
  });

  it('stops inflating an entry that lies about its size, with memory bounded by the declared size', async () => {
    const entries = await packageEntries();
    const lying = entries.map((e) => (e.name === 'items/peaks.xml' ? { ...e, data: Buffer.alloc(20 * 1024 * 1024, 32), size: 2000 } : e));
    const zip = writeZip(lying);
    const heap = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    const { message } = await refusal(zipSource('p.zip', zip));
    assert.match(message, /entry "items\/peaks\.xml" inflates past its declared size/);
    assert.ok(process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers - heap < 10 * 1024 * 1024);
  });

  it('refuses too many entries', async () => {
    const zip = writeZip(Array.from({ length: 2001 }, (_, i) => ({ name: `f${i}.txt`, data: Buffer.from('x') })));
    assert.match((await refusal(() => zipSource('p.zip', zip))).message, /2001 entries; at most 2000 are read/);
  });

  it('refuses what is not a zip', async () => {
    assert.match((await refusal(() => zipSource('p.zip', Buffer.from('not a zip at all, just text')))).message, /not a zip archive/);
  });
});
