/**
 * @ap/qti — QTI 3.0 and 2.1 item import: packages (zip or folder with imsmanifest.xml) and single
 * item documents converted to the platform's bank items, with safe XML and zip reading.
 */
export {
  MAX_BANK_TEXT,
  MAX_ITEMS,
  METADATA_NAMESPACE,
  SIDECAR_FILE,
  bankText,
  convertQti,
  itemSource,
  sidecarSchema,
  zipSource,
} from './package.ts';
export type { ItemMetadata, QtiImport, QtiImportOptions, QtiSource } from './package.ts';
export { MAX_PACKAGE_BYTES, folderSource, pathSource } from './folder.ts';
export { DEFAULT_ZIP_LIMITS } from './zip.ts';
export type { ZipLimits } from './zip.ts';
export { MAX_XML_BYTES } from './xml.ts';
