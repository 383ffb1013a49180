import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scoreOf, scoresUrl } from './grades.ts';

test('the scores URL goes under the line item, before its query', () => {
  assert.equal(scoresUrl('https://lms.example.org/li/7'), 'https://lms.example.org/li/7/scores');
  assert.equal(scoresUrl('https://lms.example.org/li/7/'), 'https://lms.example.org/li/7/scores');
  assert.equal(scoresUrl('https://lms.example.org/li/7?type_id=1'), 'https://lms.example.org/li/7/scores?type_id=1');
});

test('a score says the grade, the progress and when the assessment finished', () => {
  const event = { assessment_id: 'a1', candidate_id: 'c1', test_id: 't1', finished_at: '2026-11-26T10:00:00.000Z' };
  assert.deepEqual(scoreOf({ sub: 'u-9' }, { ...event, status: 'completed', grade: { given: 61.234, maximum: 100 } }), {
    userId: 'u-9',
    scoreGiven: 61.23,
    scoreMaximum: 100,
    activityProgress: 'Completed',
    gradingProgress: 'FullyGraded',
    timestamp: '2026-11-26T10:00:00.000Z',
    comment: 'assessment completed',
  });
  assert.equal(scoreOf({ sub: 'u' }, { ...event, status: 'expired', grade: { given: 1, maximum: 2 } })['activityProgress'], 'Completed');
  assert.equal(scoreOf({ sub: 'u' }, { ...event, status: 'terminated', grade: { given: 1, maximum: 2 } })['activityProgress'], 'Submitted');
  const ungraded = scoreOf({ sub: 'u' }, { ...event, status: 'abandoned' });
  assert.equal(ungraded['gradingProgress'], 'Failed');
  assert.equal('scoreGiven' in ungraded, false);
});
