import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QTI_MEDIA_TYPES, qtiImportQuerySchema, qtiImportResponseSchema, qtiProblemSchema } from './qti-import.ts';

test('zip and XML media types are told apart', () => {
  assert.deepEqual(QTI_MEDIA_TYPES, {
    'application/zip': 'zip',
    'application/x-zip-compressed': 'zip',
    'application/xml': 'xml',
    'text/xml': 'xml',
    'application/qti+xml': 'xml',
  });
});

test('the upload query: skip_unsupported is "true" or "false" (default), skill a trimmed name of 1 to 64 characters', () => {
  assert.deepEqual(qtiImportQuerySchema.parse({}), { skip_unsupported: 'false' });
  assert.deepEqual(qtiImportQuerySchema.parse({ skip_unsupported: 'true', skill: '  algebra ' }), {
    skip_unsupported: 'true',
    skill: 'algebra',
  });
  assert.equal(qtiImportQuerySchema.parse({ skip_unsupported: 'false' }).skip_unsupported, 'false');
  assert.equal(qtiImportQuerySchema.parse({ skill: 'x'.repeat(64) }).skill, 'x'.repeat(64));
  for (const bad of [
    { skip_unsupported: 'yes' },
    { skip_unsupported: '' },
    { skill: '   ' },
    { skill: 'x'.repeat(65) },
    { format: 'zip' },
  ]) {
    assert.equal(qtiImportQuerySchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
});

test('the reply lists what was imported and what was skipped, with file and reason', () => {
  const problem = { item: 'q7', file: 'items/q7.xml', reason: 'unsupported interaction: hotspotInteraction' };
  assert.deepEqual(qtiProblemSchema.parse(problem), problem);
  assert.equal(qtiProblemSchema.safeParse({ item: 'q7', file: 'items/q7.xml' }).success, false);
  const reply = { imported: 1, item_ids: ['q1'], skipped: [problem] };
  assert.deepEqual(qtiImportResponseSchema.parse(reply), reply);
  assert.equal(qtiImportResponseSchema.safeParse({ imported: 1, item_ids: ['q1'] }).success, false, 'skipped is required');
  assert.equal(qtiImportResponseSchema.safeParse({ imported: 1, skipped: [] }).success, false, 'item_ids is required');
  assert.equal(qtiImportResponseSchema.safeParse({ ...reply, skipped: [{ item: 'q7' }] }).success, false);
});
