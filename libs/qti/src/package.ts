import { posix } from 'node:path';
import { bankFileItemSchema } from '@ap/cat';
import type { BankFileItem } from '@ap/cat';
import { AppError, itemSchema } from '@ap/protocol';
import type { QtiProblem } from '@ap/protocol';
import { z } from 'zod';
import { UnsupportedItem, convertItem, itemVersion } from './item.ts';
import type { QtiVersion } from './item.ts';
import { XmlError, descendants, elements, parseXml } from './xml.ts';
import type { XmlElement } from './xml.ts';
import { ZipError, openZip } from './zip.ts';
import type { ZipLimits } from './zip.ts';

/** Where a package's files come from: a zip, a folder (the CLI), or a single item file. */
export interface QtiSource {
  /** `package` has `imsmanifest.xml` at its root; `item` is one item document named `name`. */
  readonly kind: 'package' | 'item';
  readonly name: string;
  /** The bytes of a file by its path in the package, or undefined when there is none. */
  read(path: string): Promise<Uint8Array | undefined>;
}

/** The namespace of the platform's metadata extension: `<ap:item skill="…" a="…" b="…" c="…" difficulty="…"/>` in a resource's metadata. */
export const METADATA_NAMESPACE = 'urn:assessment-platform:qti:1';
/** The sidecar file at a package's root that gives skills and IRT parameters by item identifier. */
export const SIDECAR_FILE = 'item-parameters.json';
/** The most items one import converts. */
export const MAX_ITEMS = 2000;

const RESOURCE_TYPES: Readonly<Record<string, QtiVersion>> = { imsqti_item_xmlv3p0: '3.0', imsqti_item_xmlv2p1: '2.1' };

/** Skill and IRT parameters of one item, from the manifest extension or the sidecar. */
export const itemMetadataSchema = z.strictObject({
  skill: z.string().trim().min(1).max(64).optional(),
  a: z.coerce.number().positive().max(10).optional(),
  b: z.coerce.number().min(-10).max(10).optional(),
  c: z.coerce.number().min(0).lt(1).optional(),
  difficulty: z.enum(['easy', 'medium', 'hard']).optional(),
});
export type ItemMetadata = z.infer<typeof itemMetadataSchema>;

/** The sidecar: `{"items": {"<item identifier>": {skill?, a?, b?, c?, difficulty?}}}`. */
export const sidecarSchema = z.strictObject({ items: z.record(z.string().min(1).max(64), itemMetadataSchema) });

export interface QtiImportOptions {
  /** Import the supported items and list the others, instead of importing nothing. */
  skipUnsupported?: boolean;
  /** The skill of items whose metadata names none. */
  skill?: string;
  /** A sidecar given apart from the package (its JSON text); it replaces the package's own. */
  sidecar?: string;
}

/** The bank items converted from a package, and with `skipUnsupported` what was left out. */
export interface QtiImport {
  items: BankFileItem[];
  skipped: QtiProblem[];
}

interface ItemRef {
  resource: string;
  file: string;
  version: QtiVersion | undefined;
  metadata: Record<string, string>;
  /** An item resource type that is not read (QTI 2.0, 2.2, …). */
  unsupportedType?: string;
}

/**
 * Converts a QTI package or item to bank items. Package-level faults (no manifest, DOCTYPE, a
 * path outside the package, a zip over its limits) throw at once; item faults are collected and,
 * unless `skipUnsupported`, throw together naming each item, file and reason. Throws
 * {@link AppError} `VALIDATION_FAILED` in both cases, with `details.errors` as {@link QtiProblem}s.
 */
export async function convertQti(source: QtiSource, options: QtiImportOptions = {}): Promise<QtiImport> {
  const refs =
    source.kind === 'item' ? [{ resource: source.name, file: source.name, version: undefined, metadata: {} }] : await manifestItems(source);
  const sidecar = await readSidecar(source, options.sidecar);
  const problems: QtiProblem[] = [];
  const items: BankFileItem[] = [];
  const seen = new Set<string>();
  if (refs.length > MAX_ITEMS)
    throw packageError(source.name, `the package has ${refs.length} items; at most ${MAX_ITEMS} are imported at once`);
  for (const ref of refs) {
    try {
      const item = await convertRef(source, ref, sidecar, options.skill);
      if (seen.has(item.id)) throw new UnsupportedItem(item.id, 'another item in the package has the same identifier');
      seen.add(item.id);
      items.push(item);
    } catch (err) {
      if (!(err instanceof UnsupportedItem)) throw err;
      problems.push({ item: err.item, file: ref.file, reason: err.message });
    }
  }
  // A sidecar entry may be for an item refused before its identifier was read: only a package
  // without problems can tell a typo from such an item.
  const unknown = problems.length > 0 ? [] : [...sidecar.keys()].filter((id) => !seen.has(id));
  if (unknown.length > 0) throw packageError(SIDECAR_FILE, `names items that are not in the package: ${unknown.slice(0, 10).join(', ')}`);
  if (problems.length > 0 && options.skipUnsupported !== true) {
    throw new AppError('VALIDATION_FAILED', `${problems.length} item(s) cannot be imported; nothing was imported`, {
      details: { errors: problems.slice(0, 200) },
    });
  }
  if (items.length === 0) {
    throw new AppError('VALIDATION_FAILED', 'no item in the package can be imported', { details: { errors: problems.slice(0, 200) } });
  }
  return { items, skipped: problems };
}

function packageError(file: string, reason: string): AppError {
  return new AppError('VALIDATION_FAILED', `${file}: ${reason}; nothing was imported`, {
    details: { errors: [{ item: '(package)', file, reason }] },
  });
}

/** The bytes of a file of the package; a damaged or oversized zip entry refuses the whole package. */
async function readBytes(source: QtiSource, file: string): Promise<Uint8Array | undefined> {
  try {
    return await source.read(file);
  } catch (err) {
    if (err instanceof ZipError) throw packageError(file, err.message);
    throw err;
  }
}

/** Reads and parses an XML file of the package; unsafe or malformed XML refuses the whole package. */
async function readXml(source: QtiSource, file: string): Promise<XmlElement | undefined> {
  const bytes = await readBytes(source, file);
  if (bytes === undefined) return undefined;
  try {
    return parseXml(bytes);
  } catch (err) {
    if (err instanceof XmlError) throw packageError(file, err.message);
    throw err;
  }
}

/** The item resources of `imsmanifest.xml`, with the path of each item file and its metadata extension. */
async function manifestItems(source: QtiSource): Promise<ItemRef[]> {
  const manifest = await readXml(source, 'imsmanifest.xml');
  if (manifest === undefined) throw packageError(source.name, 'no imsmanifest.xml at the root of the package');
  if (manifest.name !== 'manifest') throw packageError('imsmanifest.xml', `the root element is <${manifest.name}>, not <manifest>`);
  const refs: ItemRef[] = [];
  for (const resource of elements(elements(manifest, 'resources')[0] ?? manifest, 'resource')) {
    const type = resource.attrs['type'] ?? '';
    const id = resource.attrs['identifier'] ?? '(resource without identifier)';
    const href = resource.attrs['href'];
    if (!type.startsWith('imsqti_item_')) continue;
    const file = href === undefined ? '(no href)' : packagePath(href);
    const version = RESOURCE_TYPES[type];
    const ext = descendants(resource, (e) => e.ns === METADATA_NAMESPACE && e.name === 'item')[0];
    refs.push(
      version === undefined
        ? { resource: id, file, version, metadata: {}, unsupportedType: type }
        : { resource: id, file, version, metadata: { ...ext?.attrs } },
    );
  }
  if (refs.length === 0)
    throw packageError('imsmanifest.xml', 'the manifest lists no item resource (imsqti_item_xmlv3p0 or imsqti_item_xmlv2p1)');
  return refs;
}

/** A manifest href as a path inside the package: relative, no `..`, no URL. */
function packagePath(href: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(href);
  } catch {
    throw packageError('imsmanifest.xml', `href "${href.slice(0, 200)}" is not a valid URI reference`);
  }
  const path = posix.normalize(decoded);
  if (/^[a-z][a-z0-9+.-]*:/i.test(href) || path.startsWith('/') || path.startsWith('../') || path === '..' || href.includes('\\')) {
    throw packageError('imsmanifest.xml', `href "${href.slice(0, 200)}" is not a relative path inside the package`);
  }
  return path;
}

async function readSidecar(source: QtiSource, given: string | undefined): Promise<Map<string, ItemMetadata>> {
  let text = given;
  if (text === undefined && source.kind === 'package') {
    const bytes = await readBytes(source, SIDECAR_FILE);
    if (bytes !== undefined) text = Buffer.from(bytes).toString('utf8');
  }
  if (text === undefined) return new Map();
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw packageError(SIDECAR_FILE, 'is not valid JSON');
  }
  const parsed = sidecarSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw packageError(SIDECAR_FILE, `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  return new Map(Object.entries(parsed.data.items));
}

async function convertRef(
  source: QtiSource,
  ref: ItemRef,
  sidecar: ReadonlyMap<string, ItemMetadata>,
  skill: string | undefined,
): Promise<BankFileItem> {
  if (ref.unsupportedType !== undefined) {
    throw new UnsupportedItem(
      ref.resource,
      `resource type ${ref.unsupportedType} is not supported (imsqti_item_xmlv3p0 or imsqti_item_xmlv2p1)`,
    );
  }
  const root = await readXml(source, ref.file);
  if (root === undefined) throw new UnsupportedItem(ref.resource, 'the file is not in the package');
  const version = itemVersion(root);
  if (version === undefined) throw new UnsupportedItem(ref.resource, `<${root.name}> is not a QTI 3.0 or 2.1 assessment item`);
  if (ref.version !== undefined && ref.version !== version) {
    throw new UnsupportedItem(
      root.attrs['identifier'] ?? ref.resource,
      `the resource type says QTI ${ref.version} but the file is a QTI ${version} item`,
    );
  }
  const question = convertItem(root, version);
  const fromManifest = itemMetadataSchema.safeParse(ref.metadata);
  if (!fromManifest.success) {
    const issue = fromManifest.error.issues[0];
    throw new UnsupportedItem(question.id, `manifest metadata ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  const metadata = { ...fromManifest.data, ...sidecar.get(question.id) };
  const itemSkill = metadata.skill ?? skill ?? '';
  if (itemSkill === '')
    throw new UnsupportedItem(
      question.id,
      `no skill: give one in the manifest metadata, in ${SIDECAR_FILE}, or as the default skill option`,
    );
  const { skill: _skill, ...params } = metadata;
  const item = { ...question, skill: itemSkill, ...params };
  // The same schemas as a JSON or YAML bank, so that a fault is reported here with its file.
  for (const schema of [bankFileItemSchema, itemSchema] as const) {
    const checked = schema.safeParse(item);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      throw new UnsupportedItem(question.id, `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
    }
  }
  return bankFileItemSchema.parse(item);
}

/** A zip archive held in memory as a package source (refused at once if it breaks a limit or has a traversal name). */
export function zipSource(name: string, bytes: Uint8Array, limits?: ZipLimits): QtiSource {
  let archive;
  try {
    archive = openZip(bytes, limits);
  } catch (err) {
    if (err instanceof ZipError) throw packageError(name, err.message);
    throw err;
  }
  const root = archive.names.includes('imsmanifest.xml') ? '' : commonFolder(archive.names);
  return { kind: 'package', name, read: (path) => Promise.resolve(archive.read(root + path)) };
}

/** Packages zipped with their folder have every entry under one folder: read from there. */
function commonFolder(names: readonly string[]): string {
  const first = names[0]?.split('/')[0];
  return first !== undefined && names.every((n) => n.startsWith(`${first}/`)) && names.includes(`${first}/imsmanifest.xml`)
    ? `${first}/`
    : '';
}

/** One item document as a source. */
export function itemSource(name: string, bytes: Uint8Array): QtiSource {
  return { kind: 'item', name, read: (path) => Promise.resolve(path === name ? bytes : undefined) };
}

/** The largest bank text sent on to the import (a NATS message carries at most 1 MiB). */
export const MAX_BANK_TEXT = 900 * 1024;

/** The converted items as the JSON bank text the existing import reads; too large a bank is refused with a hint to split it. */
export function bankText(items: readonly BankFileItem[]): string {
  const text = JSON.stringify({ items });
  if (Buffer.byteLength(text) > MAX_BANK_TEXT) {
    throw new AppError(
      'VALIDATION_FAILED',
      `the converted bank is ${Buffer.byteLength(text)} bytes, more than the ${MAX_BANK_TEXT} one import takes; split the package`,
    );
  }
  return text;
}
