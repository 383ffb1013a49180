import type { IncomingMessage } from 'node:http';
import type { Bus } from '@ap/bus';
import { AppError, issueList } from '@ap/protocol';
import type { Caller } from '@ap/protocol';
import { MAX_PACKAGE_BYTES, MAX_XML_BYTES, bankText, convertQti, itemSource, zipSource } from '@ap/qti';
import type { QtiProblem } from '@ap/qti';
import { z } from 'zod';

/** The media types of a QTI upload: a content package (zip) or one item document (XML). */
const QTI_MEDIA_TYPES: Readonly<Record<string, 'zip' | 'xml'>> = {
  'application/zip': 'zip',
  'application/x-zip-compressed': 'zip',
  'application/xml': 'xml',
  'text/xml': 'xml',
  'application/qti+xml': 'xml',
};

/** Query of a QTI upload: `skip_unsupported=true` imports the supported items and lists the others; `skill` is the default skill. */
export const qtiImportQuerySchema = z.strictObject({
  skip_unsupported: z.enum(['true', 'false']).default('false'),
  skill: z.string().trim().min(1).max(64).optional(),
});

/** Whether a request to the items import carries a QTI package or item rather than a JSON bank. */
export function qtiUploadKind(req: IncomingMessage): 'zip' | 'xml' | undefined {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return QTI_MEDIA_TYPES[type];
}

/**
 * POST /api/items/import with a QTI body: the package or item is converted here and its items
 * sent to `assessment.v1.items.import` as a JSON bank, the same path as a bank file. Only
 * recruiters and admins get as far as the body being read.
 */
export async function importQtiUpload(
  req: IncomingMessage,
  url: URL,
  caller: Caller,
  bus: Bus,
  timeoutMs: number,
): Promise<{ imported: number; item_ids: string[]; skipped: QtiProblem[] }> {
  if (caller.role !== 'recruiter' && caller.role !== 'admin') throw new AppError('FORBIDDEN', 'recruiters and admins import items');
  const query = qtiImportQuerySchema.safeParse(Object.fromEntries(url.searchParams));
  if (!query.success) throw new AppError('VALIDATION_FAILED', 'invalid query', { details: { issues: issueList(query.error) } });
  const kind = qtiUploadKind(req);
  const body = await readRaw(req, kind === 'zip' ? MAX_PACKAGE_BYTES : MAX_XML_BYTES);
  const source = kind === 'zip' ? zipSource('upload.zip', body) : itemSource('item.xml', body);
  const { items, skipped } = await convertQti(source, {
    skipUnsupported: query.data.skip_unsupported === 'true',
    ...(query.data.skill === undefined ? {} : { skill: query.data.skill }),
  });
  const result = await bus.request('itemsImport', { caller, format: 'json', text: bankText(items) }, { timeoutMs });
  return { ...result, skipped };
}

/** The raw body, refused as soon as it passes `limit` bytes (by its declared length, or while it arrives). */
async function readRaw(req: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = (): AppError => new AppError('VALIDATION_FAILED', `the body is larger than ${limit} bytes`);
  if (Number(req.headers['content-length'] ?? 0) > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limit) throw tooLarge();
    chunks.push(buf);
  }
  if (size === 0) throw new AppError('VALIDATION_FAILED', 'the body is empty');
  return Buffer.concat(chunks);
}
