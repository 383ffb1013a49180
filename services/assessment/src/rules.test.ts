import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accommodatedLimitS, checkAccess, deadlineStep, graceLeft, isFinal, isOpen, secondsLeft, staffMaySee } from './rules.ts';
import { canonicalOption } from './candidate.ts';
import type { AssessmentDoc } from './store.ts';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 12, 0, s));

void test('seconds left count down to the deadline and stand still while paused', () => {
  assert.equal(secondsLeft({ deadline: at(50) }, at(20)), 30);
  assert.equal(
    secondsLeft({ deadline: at(50), status: 'in_progress' }, new Date(at(50).getTime() - 900)),
    0,
    'whole seconds, rounded down',
  );
  assert.equal(secondsLeft({ deadline: at(50), status: 'in_progress' }, at(70)), 0, 'never negative');
  assert.equal(
    secondsLeft({ deadline: at(50), status: 'paused', paused_at: at(10) }, at(45)),
    40,
    'paused at 10 s: 40 s left however late it is now',
  );
  assert.equal(
    secondsLeft({ deadline: at(50), status: 'in_progress', paused_at: at(10) }, at(45)),
    5,
    'a stale paused_at counts only while paused',
  );
  assert.equal(graceLeft({ deadline: at(50) }, 30, at(60)), 20);
});

void test('statuses: open, final, and what the deadline does under each policy', () => {
  assert.deepEqual(
    (['in_progress', 'paused', 'overdue', 'completed', 'expired', 'abandoned', 'terminated'] as const).map((s) => [isOpen(s), isFinal(s)]),
    [
      [true, false],
      [true, false],
      [true, false],
      [false, true],
      [false, true],
      [false, true],
      [false, true],
    ],
  );
  const autosubmit = { on_expiry: 'autosubmit', grace_s: 0 } as const;
  const grace = { on_expiry: 'grace', grace_s: 30 } as const;
  const a = (status: AssessmentDoc['status']) => ({ status, deadline: at(50) });
  assert.equal(deadlineStep(a('in_progress'), autosubmit, at(50)), 'none', 'at the deadline itself there is still time');
  assert.equal(deadlineStep(a('in_progress'), autosubmit, at(51)), 'expire');
  assert.equal(deadlineStep(a('paused'), autosubmit, at(51)), 'none', 'a paused clock does not run out');
  assert.equal(deadlineStep(a('in_progress'), grace, at(51)), 'overdue');
  assert.equal(deadlineStep(a('overdue'), grace, at(79)), 'none');
  assert.equal(deadlineStep(a('overdue'), grace, at(81)), 'abandon');
  assert.equal(deadlineStep(a('in_progress'), grace, at(81)), 'abandon', 'past the grace period at once');
  assert.equal(deadlineStep(a('completed'), grace, at(81)), 'none');
});

void test('a candidate reaches only their own assessments; staff those of the tests in scope', () => {
  const doc = { _id: 'x', candidate_id: 'c1', test_id: 't1' } as AssessmentDoc;
  assert.equal(checkAccess({ user_id: 'c1', role: 'candidate' }, doc), doc);
  assert.throws(() => checkAccess({ user_id: 'c2', role: 'candidate' }, doc), { code: 'FORBIDDEN' });
  assert.throws(() => checkAccess({ user_id: 'p', role: 'proctor', tests: ['t2'] }, doc), { code: 'FORBIDDEN' });
  assert.equal(checkAccess({ user_id: 'p', role: 'proctor', tests: ['t1'] }, doc), doc);
  assert.equal(staffMaySee({ user_id: 'r', role: 'recruiter' }, 't9'), true, 'no scope: every test');
  assert.equal(staffMaySee({ user_id: 'a', role: 'admin', tests: [] }, 't9'), true);
  assert.equal(staffMaySee({ user_id: 'c1', role: 'candidate' }, 't1'), false);
});

void test('letter options compare case-insensitively and are stored as the item spells them; other ids match exactly', () => {
  const item = { options: [{ id: 'a' }, { id: 'b' }, { id: 'yes' }] };
  assert.equal(canonicalOption(item, 'A'), 'a');
  assert.equal(canonicalOption(item, 'b'), 'b');
  assert.equal(canonicalOption(item, 'YES'), 'YES');
  assert.equal(canonicalOption(item, 'C'), 'C');
  assert.equal(canonicalOption({ options: [{ id: 'A' }, { id: 'B' }] }, 'b'), 'B');
  assert.equal(canonicalOption(undefined, 'A'), 'A');
});

void test('accommodations stretch the time limit: limit × multiplier + extra seconds, in whole seconds', () => {
  assert.equal(accommodatedLimitS(600, undefined), 600);
  assert.equal(accommodatedLimitS(600, { time_multiplier: 1, extra_seconds: 0 }), 600);
  assert.equal(accommodatedLimitS(600, { time_multiplier: 1.5, extra_seconds: 60 }), 960);
  assert.equal(accommodatedLimitS(1200, { time_multiplier: 1.25, extra_seconds: 0 }), 1500);
  assert.equal(accommodatedLimitS(301, { time_multiplier: 1.5, extra_seconds: 0 }), 452);
  assert.equal(accommodatedLimitS(60, { time_multiplier: 4, extra_seconds: 14_400 }), 14_640);
});
