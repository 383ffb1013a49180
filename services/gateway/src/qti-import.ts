import type { IncomingMessage } from 'node:http';
import { Worker } from 'node:worker_threads';
import type { Bus } from '@ap/bus';
import { AppError, QTI_MEDIA_TYPES, issueList, qtiImportQuerySchema } from '@ap/protocol';
import type { Caller, QtiProblem } from '@ap/protocol';
import { MAX_PACKAGE_BYTES, MAX_XML_BYTES, bankText } from '@ap/qti';
import type { QtiImport, QtiImportOptions } from '@ap/qti';

const WORKER = new URL('./qti-worker.ts', import.meta.url);
/** A conversion that takes longer than this is stopped (the largest package takes a few seconds). */
const CONVERT_TIMEOUT_MS = 60_000;

/** Whether a request to the items import carries a QTI package or item rather than a JSON bank. */
export function qtiUploadKind(req: IncomingMessage): 'zip' | 'xml' | undefined {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return Object.hasOwn(QTI_MEDIA_TYPES, type) ? QTI_MEDIA_TYPES[type as keyof typeof QTI_MEDIA_TYPES] : undefined;
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
  const { items, skipped } = await convertInWorker(kind === 'zip' ? 'zip' : 'xml', body, {
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

/**
 * Converts an upload in a worker thread with bounded memory and time: a package of the largest
 * size takes seconds of CPU, which must not stall the gateway's sockets. The worker's refusal
 * comes back as the same AppError.
 */
function convertInWorker(kind: 'zip' | 'xml', body: Buffer, options: QtiImportOptions): Promise<QtiImport> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { workerData: { kind, body, options }, resourceLimits: { maxOldGenerationSizeMb: 256 } });
    const timer = setTimeout(() => {
      reject(new AppError('VALIDATION_FAILED', `the conversion took longer than ${CONVERT_TIMEOUT_MS / 1000} s; split the package`));
      void worker.terminate();
    }, CONVERT_TIMEOUT_MS);
    worker.once('message', (reply: WorkerReply) => {
      clearTimeout(timer);
      if (reply.ok) resolve(reply.result);
      else reject(new AppError('VALIDATION_FAILED', reply.message, { details: reply.details }));
    });
    worker.once('error', (err: unknown) => {
      clearTimeout(timer);
      const outOfMemory = (err as { code?: unknown } | null)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
      if (outOfMemory) reject(new AppError('VALIDATION_FAILED', 'the package needs more memory than a conversion may use; split it'));
      else reject(err instanceof Error ? err : new Error(String(err)));
    });
    worker.once('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`the QTI conversion worker exited with code ${code}`));
    });
  });
}

type WorkerReply = { ok: true; result: QtiImport } | { ok: false; code: string; message: string; details: Record<string, unknown> };
