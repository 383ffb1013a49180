import { parentPort, workerData } from 'node:worker_threads';
import { isAppError } from '@ap/protocol';
import { convertQti, itemSource, zipSource } from '@ap/qti';
import type { QtiImportOptions } from '@ap/qti';

// The worker of qti-import.ts: converts one upload off the gateway's event loop, so that a large
// package never holds up the sockets. It answers one message and ends.
const job = workerData as { kind: 'zip' | 'xml'; body: Uint8Array; options: QtiImportOptions };
try {
  const source = job.kind === 'zip' ? zipSource('upload.zip', job.body) : itemSource('item.xml', job.body);
  parentPort?.postMessage({ ok: true, result: await convertQti(source, job.options) });
} catch (err) {
  if (!isAppError(err)) throw err;
  parentPort?.postMessage({ ok: false, code: err.code, message: err.message, details: err.details ?? {} });
}
