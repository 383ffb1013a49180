import { z } from 'zod';
import { endpoints } from './bus.ts';

/** The media types of a QTI body on POST /api/items/import: a content package (zip) or one item document (XML). */
export const QTI_MEDIA_TYPES = {
  'application/zip': 'zip',
  'application/x-zip-compressed': 'zip',
  'application/xml': 'xml',
  'text/xml': 'xml',
  'application/qti+xml': 'xml',
} as const satisfies Record<string, 'zip' | 'xml'>;

/** Query of a QTI upload: `skip_unsupported=true` imports the supported items and lists the others; `skill` is the default skill. */
export const qtiImportQuerySchema = z.strictObject({
  skip_unsupported: z.enum(['true', 'false']).default('false'),
  skill: z.string().trim().min(1).max(64).optional(),
});

/** An item a QTI import refused or left out: its identifier (or resource), its file in the package and why. */
export const qtiProblemSchema = z.object({ item: z.string(), file: z.string(), reason: z.string() });

/** Reply of a QTI upload: what the items import answers, and the items `skip_unsupported` left out. */
export const qtiImportResponseSchema = endpoints.itemsImport.response.extend({ skipped: z.array(qtiProblemSchema) });

/** One item at fault in a QTI import. */
export type QtiProblem = z.infer<typeof qtiProblemSchema>;
