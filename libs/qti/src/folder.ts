import { open, realpath, stat } from 'node:fs/promises';
import { basename, resolve, sep } from 'node:path';
import { MAX_XML_BYTES } from './xml.ts';
import type { QtiSource } from './package.ts';

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
