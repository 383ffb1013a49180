import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ASSESSMENT_STATUSES } from './common.ts';
import {
  ACTIVE_STATUSES,
  FINAL_STATUSES,
  OPEN_STATUSES,
  candidateHolds,
  isActive,
  isFinal,
  isOpen,
  secondsLeft,
  staffMaySee,
  staffMaySeeAll,
  systemClock,
} from './rules.ts';

const deadline = new Date('2026-01-01T10:00:00Z');

test('seconds left count down while running and stand still while paused', () => {
  assert.equal(secondsLeft({ deadline, status: 'in_progress' }, new Date('2026-01-01T09:59:00.400Z')), 59);
  const paused = { deadline, status: 'paused' as const, paused_at: new Date('2026-01-01T09:58:00Z') };
  assert.equal(secondsLeft(paused, new Date('2026-01-01T09:58:30Z')), 120);
  assert.equal(secondsLeft(paused, new Date('2026-01-01T11:00:00Z')), 120);
  assert.equal(secondsLeft({ deadline, status: 'in_progress' }, new Date('2026-01-01T11:00:00Z')), 0);
});

test('every status is final, open or created, and active ones are open', () => {
  for (const s of ASSESSMENT_STATUSES) {
    assert.equal(isFinal(s) || isOpen(s) || s === 'created', true, s);
    assert.equal(isFinal(s) && isOpen(s), false, s);
    if (isActive(s)) assert.ok(isOpen(s), s);
  }
});

test('staff see the tests in their scope; admins and unscoped staff see all; candidates none', () => {
  assert.equal(staffMaySee({ user_id: 'p', role: 'proctor', tests: ['t1'] }, 't1'), true);
  assert.equal(staffMaySee({ user_id: 'p', role: 'proctor', tests: ['t1'] }, 't2'), false);
  assert.equal(staffMaySee({ user_id: 'r', role: 'recruiter' }, 't2'), true);
  assert.equal(staffMaySee({ user_id: 'a', role: 'admin', tests: [] }, 't2'), true);
  assert.equal(staffMaySee({ user_id: 'c', role: 'candidate', tests: ['t1'] }, 't1'), false);
  assert.equal(staffMaySeeAll({ user_id: 'p', role: 'proctor', tests: ['t1', 't2'] }, ['t1', 't2']), true);
  assert.equal(staffMaySeeAll({ user_id: 'p', role: 'proctor', tests: ['t1'] }, ['t1', 't2']), false);
});

test("a candidate's token holds the tests of its claim only", () => {
  assert.equal(candidateHolds({ user_id: 'c', role: 'candidate', tests: ['t1'] }, ['t2', 't1']), true);
  assert.equal(candidateHolds({ user_id: 'c', role: 'candidate', tests: ['t1'] }, ['t2']), false);
  assert.equal(candidateHolds({ user_id: 'c', role: 'candidate' }, ['t1']), false);
  assert.equal(candidateHolds({ user_id: 'p', role: 'proctor', tests: ['t1'] }, ['t1']), false);
});

test('the candidate takes the test while in progress or paused; overdue is open but no longer active', () => {
  assert.deepEqual(ACTIVE_STATUSES, ['in_progress', 'paused']);
  assert.deepEqual(OPEN_STATUSES, ['in_progress', 'paused', 'overdue']);
  assert.deepEqual(FINAL_STATUSES, ['completed', 'expired', 'abandoned', 'terminated']);
  assert.deepEqual(
    ASSESSMENT_STATUSES.filter((s) => isActive(s)),
    ['in_progress', 'paused'],
  );
});

test("one test of a candidate's claim in common is enough", () => {
  assert.equal(candidateHolds({ user_id: 'c', role: 'candidate', tests: ['t1', 't3'] }, ['t1']), true);
});

test('the system clock reads the wall clock', () => {
  const before = Date.now();
  const now = systemClock().getTime();
  assert.ok(now >= before && now <= Date.now());
});
