import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AssessmentDoc } from './store.ts';
import { nextWarning, warningKey } from './warnings.ts';

const deadline = new Date('2026-01-01T10:00:00Z');
const t = (isoTime: string) => new Date(`2026-01-01T${isoTime}Z`).getTime();

function running(fields: Partial<AssessmentDoc> = {}): AssessmentDoc {
  return { _id: 'a1', status: 'in_progress', deadline, paused_at: null, warnings_sent: [], ...fields } as AssessmentDoc;
}

test('the next warning is the point whose time comes first among those not sent', () => {
  assert.deepEqual(nextWarning(running(), [300, 60], t('09:50:00')), { pointS: 300, atMs: t('09:55:00') });
  const sent = running({ warnings_sent: [warningKey(300, deadline)] });
  assert.deepEqual(nextWarning(sent, [300, 60], t('09:55:01')), { pointS: 60, atMs: t('09:59:00') });
  assert.equal(
    nextWarning(running({ warnings_sent: [warningKey(300, deadline), warningKey(60, deadline)] }), [300, 60], t('09:59:30')),
    undefined,
  );
});

test('a point just missed is still sent, one long past is not', () => {
  assert.deepEqual(nextWarning(running(), [300], t('09:55:03')), { pointS: 300, atMs: t('09:55:00') });
  assert.equal(nextWarning(running(), [300], t('09:55:30')), undefined);
});

test('a paused or finished assessment gets no warning; a moved deadline gets them again', () => {
  assert.equal(nextWarning(running({ status: 'paused', paused_at: new Date(t('09:50:00')) }), [300], t('09:50:00')), undefined);
  assert.equal(nextWarning(running({ status: 'completed' }), [300], t('09:50:00')), undefined);
  const later = new Date('2026-01-01T10:10:00Z');
  const extended = running({ deadline: later, warnings_sent: [warningKey(300, deadline)] });
  assert.deepEqual(nextWarning(extended, [300], t('09:56:00')), { pointS: 300, atMs: t('10:05:00') });
});
