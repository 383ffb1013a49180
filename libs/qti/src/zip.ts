import { crc32, inflateRawSync } from 'node:zlib';

/** What a zip archive may hold before anything in it is read. */
export interface ZipLimits {
  /** Entries in the central directory, directories included. */
  maxEntries: number;
  /** The uncompressed size of all entries together, as declared and as actually inflated. */
  maxTotalBytes: number;
  /** The uncompressed size of one entry. */
  maxEntryBytes: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = { maxEntries: 2000, maxTotalBytes: 32 * 1024 * 1024, maxEntryBytes: 4 * 1024 * 1024 };

/** An archive that is not a zip this reader accepts, or that breaks a limit. */
export class ZipError extends Error {
  override name = 'ZipError';
}

/** A read-only zip archive: its file names, and each file's bytes on demand. */
export interface ZipArchive {
  readonly names: readonly string[];
  read(name: string): Uint8Array | undefined;
}

interface Entry {
  flags: number;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/**
 * Opens a zip archive held in memory. The central directory is checked at once: entry count,
 * declared sizes, and every name (no absolute path, drive letter, backslash or `..` segment:
 * any such name refuses the whole archive). Entries are inflated only when read, with zlib's
 * `maxOutputLength` bounding the output whatever the archive declares, and their CRC checked.
 */
export function openZip(bytes: Uint8Array, limits: ZipLimits = DEFAULT_ZIP_LIMITS): ZipArchive {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const eocd = findEndOfCentralDirectory(buf);
  const count = buf.readUInt16LE(eocd + 10);
  const cdSize = buf.readUInt32LE(eocd + 12);
  const cdOffset = buf.readUInt32LE(eocd + 16);
  if (buf.readUInt16LE(eocd + 4) !== 0 || buf.readUInt16LE(eocd + 6) !== 0) throw new ZipError('multi-part zip archives are not read');
  if (count === 0xffff || cdOffset === 0xffffffff) throw new ZipError('ZIP64 archives are not read');
  if (count > limits.maxEntries) throw new ZipError(`the archive has ${count} entries; at most ${limits.maxEntries} are read`);
  if (cdOffset + cdSize > eocd) throw new ZipError('the central directory lies outside the archive');
  const entries = new Map<string, Entry>();
  let declaredTotal = 0;
  let at = cdOffset;
  for (let i = 0; i < count; i++) {
    if (at + 46 > eocd || buf.readUInt32LE(at) !== CENTRAL) throw new ZipError('the central directory is damaged');
    const nameLength = buf.readUInt16LE(at + 28);
    const name = buf.toString('utf8', at + 46, at + 46 + nameLength);
    const entry: Entry = {
      flags: buf.readUInt16LE(at + 8),
      method: buf.readUInt16LE(at + 10),
      crc: buf.readUInt32LE(at + 16),
      compressedSize: buf.readUInt32LE(at + 20),
      size: buf.readUInt32LE(at + 24),
      localOffset: buf.readUInt32LE(at + 42),
    };
    at += 46 + nameLength + buf.readUInt16LE(at + 30) + buf.readUInt16LE(at + 32);
    checkEntryName(name);
    if (entries.has(name)) throw new ZipError(`the archive has two entries named "${name}"`);
    declaredTotal += entry.size;
    if (entry.size > limits.maxEntryBytes)
      throw new ZipError(`entry "${name}" is ${entry.size} bytes uncompressed; at most ${limits.maxEntryBytes} are read`);
    if (declaredTotal > limits.maxTotalBytes) throw new ZipError(`the archive is more than ${limits.maxTotalBytes} bytes uncompressed`);
    if (!name.endsWith('/')) entries.set(name, entry);
  }
  let inflated = 0;
  return {
    names: [...entries.keys()],
    read(name) {
      const entry = entries.get(name);
      if (entry === undefined) return undefined;
      const data = readEntry(buf, name, entry, Math.min(limits.maxEntryBytes, limits.maxTotalBytes - inflated));
      inflated += data.length;
      return data;
    },
  };
}

function findEndOfCentralDirectory(buf: Buffer): number {
  // The record is 22 bytes, followed by a comment of at most 65,535 bytes.
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === EOCD) return i;
  }
  throw new ZipError('not a zip archive (no end of central directory)');
}

/** Names that could leave the package's folder when extracted are refused, whether or not they are read. */
function checkEntryName(name: string): void {
  const bad =
    name.length === 0 ||
    name.includes('\\') ||
    name.includes('\0') ||
    name.startsWith('/') ||
    /^[A-Za-z]:/.test(name) ||
    name.split('/').some((segment) => segment === '..');
  if (bad) throw new ZipError(`entry name "${name.slice(0, 200)}" is not a relative path inside the package (path traversal)`);
}

function readEntry(buf: Buffer, name: string, entry: Entry, budget: number): Buffer {
  if ((entry.flags & 1) !== 0) throw new ZipError(`entry "${name}" is encrypted`);
  const at = entry.localOffset;
  if (at + 30 > buf.length || buf.readUInt32LE(at) !== LOCAL) throw new ZipError(`entry "${name}" has no local header`);
  const start = at + 30 + buf.readUInt16LE(at + 26) + buf.readUInt16LE(at + 28);
  if (start + entry.compressedSize > buf.length) throw new ZipError(`entry "${name}" lies outside the archive`);
  const raw = buf.subarray(start, start + entry.compressedSize);
  if (entry.size > budget) throw new ZipError(`entry "${name}" would pass the archive's uncompressed size limit`);
  let data: Buffer;
  if (entry.method === 0) data = raw;
  else if (entry.method === 8) {
    try {
      // One byte over the declared size is enough to catch an entry that lies about it.
      data = inflateRawSync(raw, { maxOutputLength: entry.size + 1 });
    } catch (err) {
      const over = err instanceof RangeError || (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
      throw new ZipError(over ? `entry "${name}" inflates past its declared size` : `entry "${name}" is not valid deflate data`);
    }
  } else throw new ZipError(`entry "${name}" uses compression method ${entry.method}; only stored and deflate are read`);
  if (data.length !== entry.size) throw new ZipError(`entry "${name}" is not the size its header declares`);
  if (crc32(data) !== entry.crc) throw new ZipError(`entry "${name}" fails its CRC check`);
  return data;
}
