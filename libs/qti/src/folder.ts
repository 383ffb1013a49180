import { open, readFile, realpath, stat } from 'node:fs/promises';
import { basename, resolve, sep } from 'node:path';
import { AppError } from '@ap/protocol';
import { itemSource, zipSource } from './package.ts';
import type { QtiSource } from './package.ts';
import { MAX_XML_BYTES } from './xml.ts';

/** The largest zip package read, in bytes (compressed). */
export const MAX_PACKAGE_BYTES = 8 * 1024 * 1024;

/** A QTI package or item on disk: a folder with imsmanifest.xml, a .zip package, or one item .xml. */
export async function pathSource(path: string): Promise<QtiSource> {
  const info = await stat(path);
  if (info.isDirectory()) return folderSource(path);
  if (/\.zip$/i.test(path)) {
    if (info.size > MAX_PACKAGE_BYTES)
      throw new AppError('VALIDATION_FAILED', `${basename(path)} is ${info.size} bytes; a package may have at most ${MAX_PACKAGE_BYTES}`);
    return zipSource(basename(path), await readFile(path));
  }
  if (/\.xml$/i.test(path)) {
    if (info.size > MAX_XML_BYTES)
      throw new AppError('VALIDATION_FAILED', `${basename(path)} is ${info.size} bytes; an item file may have at most ${MAX_XML_BYTES}`);
    return itemSource(basename(path), await readFile(path));
  }
  throw new AppError('VALIDATION_FAILED', `${basename(path)}: a QTI package is a folder with imsmanifest.xml, a .zip or an item .xml`);
}

/**
 * A package unpacked in a folder (with `imsmanifest.xml`), read by the admin CLI. A path that
 * resolves outside the folder, through `..` or a symbolic link, reads as absent; a file larger
 * than an XML file may be is read only up to one byte past that limit, which the parser refuses.
 */
export async function folderSource(dir: string): Promise<QtiSource> {
  const root = await realpath(dir);
  return {
    kind: 'package',
    name: basename(root),
    async read(path) {
      let file: string;
      try {
        file = await realpath(resolve(root, path));
      } catch {
        return undefined;
      }
      if (!file.startsWith(root + sep) || !(await stat(file)).isFile()) return undefined;
      const handle = await open(file, 'r');
      try {
        const buf = Buffer.alloc(MAX_XML_BYTES + 1);
        const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
        return buf.subarray(0, bytesRead);
      } finally {
        await handle.close();
      }
    },
  };
}
