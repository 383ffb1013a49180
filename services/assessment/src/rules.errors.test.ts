import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError } from '@ap/protocol';
import { checkAccess, deadlineStep, graceLeft, notActive, overdueError } from './rules.ts';
import type { AssessmentDoc } from './store.ts';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 12, 0, 0, s * 1000));
const doc = (status: AssessmentDoc['status']) =>
  ({ _id: 'as-1', candidate_id: 'c1', test_id: 't1', status, deadline: at(50) }) as AssessmentDoc;

void test('an assessment that is not active says which status it is in', () => {
  const err = notActive(doc('paused'), 'the assessment is paused');
  assert.ok(err instanceof AppError);
  assert.equal(err.code, 'ASSESSMENT_NOT_ACTIVE');
  assert.equal(err.message, 'the assessment is paused');
  assert.deepEqual(err.details, { assessment_id: 'as-1', status: 'paused' });
});

void test('in the grace period, TIME_EXPIRED tells the whole seconds left to end the assessment', () => {
  const err = overdueError(doc('overdue'), 30, at(60.5));
  assert.ok(err instanceof AppError);
  assert.equal(err.code, 'TIME_EXPIRED');
  assert.equal(err.message, 'the time is up; send end_assessment within 19 s to submit what you answered');
  assert.deepEqual(err.details, { status: 'overdue', grace_remaining_s: 19 });
  assert.deepEqual(overdueError(doc('overdue'), 30, at(95)).details, { status: 'overdue', grace_remaining_s: 0 });
});

void test('grace left: whole seconds, never negative', () => {
  assert.equal(graceLeft({ deadline: at(50) }, 30, at(50)), 30);
  assert.equal(graceLeft({ deadline: at(50) }, 30, at(60.5)), 19);
  assert.equal(graceLeft({ deadline: at(50) }, 30, at(79.999)), 0);
  assert.equal(graceLeft({ deadline: at(50) }, 30, at(200)), 0);
  assert.equal(graceLeft({ deadline: at(50) }, 0, at(40)), 10);
});

void test("someone else's assessment is FORBIDDEN with a message that names no one", () => {
  assert.throws(
    () => checkAccess({ user_id: 'c2', role: 'candidate' }, doc('in_progress')),
    (err: unknown) => err instanceof AppError && err.code === 'FORBIDDEN' && err.message === 'this assessment belongs to someone else',
  );
  assert.throws(() => checkAccess({ user_id: 'c1', role: 'proctor', tests: ['t2'] }, doc('in_progress')), { code: 'FORBIDDEN' });
  assert.throws(() => checkAccess({ user_id: 'p1', role: 'candidate', tests: ['t1'] }, doc('in_progress')), { code: 'FORBIDDEN' });
});

void test('the deadline policy at the ends of the grace period and for statuses it does not touch', () => {
  const grace = { on_expiry: 'grace', grace_s: 30 } as const;
  const autosubmit = { on_expiry: 'autosubmit', grace_s: 30 } as const;
  assert.equal(deadlineStep(doc('in_progress'), grace, at(80)), 'overdue', 'at the end of the grace period there is still time');
  assert.equal(deadlineStep(doc('overdue'), grace, at(80)), 'none');
  assert.equal(deadlineStep(doc('overdue'), grace, at(80.001)), 'abandon');
  assert.equal(deadlineStep(doc('in_progress'), grace, at(50)), 'none');
  assert.equal(deadlineStep(doc('in_progress'), grace, at(50.001)), 'overdue');
  assert.equal(deadlineStep(doc('in_progress'), autosubmit, at(50.001)), 'expire');
  assert.equal(deadlineStep(doc('in_progress'), autosubmit, at(500)), 'expire', 'autosubmit has no grace period to pass');
  assert.equal(deadlineStep(doc('overdue'), autosubmit, at(500)), 'none');
  for (const status of ['created', 'paused', 'completed', 'expired', 'abandoned', 'terminated'] as const) {
    assert.equal(deadlineStep(doc(status), grace, at(500)), 'none', status);
    assert.equal(deadlineStep(doc(status), autosubmit, at(500)), 'none', status);
  }
});
