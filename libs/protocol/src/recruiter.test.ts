import assert from 'node:assert/strict';
import { test } from 'node:test';
import { itemStatsSchema, polyIrtSchema, recruiterTestSchema } from './recruiter.ts';

test("a test in the recruiter's list has one of the three strategies", () => {
  const listed = {
    test_id: 't1',
    title: 'Fundamentals',
    time_limit_s: 1200,
    items: 40,
    created_at: '2026-11-01T09:00:00.000Z',
    started: 12,
    finished: 10,
    average_score: null,
  };
  for (const strategy of ['fixed', 'random', 'adaptive']) {
    assert.equal(recruiterTestSchema.parse({ ...listed, strategy }).strategy, strategy);
  }
  assert.equal(recruiterTestSchema.safeParse({ ...listed, strategy: 'linear' }).success, false);
});

test('a polytomous model is GRM or GPCM with 0 < a ≤ 10 and 1 to 9 thresholds within ±10', () => {
  const good = { model: 'GRM', a: 1.2, thresholds: [-1, 0.5] };
  assert.deepEqual(polyIrtSchema.parse(good), good);
  assert.equal(polyIrtSchema.parse({ ...good, model: 'GPCM' }).model, 'GPCM');
  assert.equal(polyIrtSchema.parse({ ...good, a: 10 }).a, 10);
  assert.deepEqual(polyIrtSchema.parse({ ...good, thresholds: [-10, 10] }).thresholds, [-10, 10]);
  assert.equal(polyIrtSchema.parse({ ...good, thresholds: Array.from({ length: 9 }, (_, i) => i - 4) }).thresholds.length, 9);
  for (const bad of [
    { ...good, model: 'PCM' },
    { ...good, model: '' },
    { ...good, a: 0 },
    { ...good, a: 10.5 },
    { ...good, thresholds: [] },
    { ...good, thresholds: Array.from({ length: 10 }, (_, i) => i - 4) },
    { ...good, thresholds: [-10.5] },
    { ...good, thresholds: [10.5] },
  ]) {
    assert.equal(polyIrtSchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
});

test('item statistics: proportion correct in [0, 1] or null, the question type one of three', () => {
  const item = {
    item_id: 'i1',
    skill: 's',
    stem: 'Which?',
    administered: 4,
    exposure: 0.5,
    proportion_correct: 0.75,
    mean_time_s: 12,
    irt: { a: 1, b: 0, c: 0.2 },
  };
  const stats = (changes: object) => ({ test_id: 't1', examinees: 8, items: [{ ...item, ...changes }] });
  for (const proportion of [0, 0.75, 1, null]) {
    assert.equal(itemStatsSchema.parse(stats({ proportion_correct: proportion })).items[0]?.proportion_correct, proportion);
  }
  for (const type of ['single_choice', 'likert', 'partial_credit']) {
    assert.equal(itemStatsSchema.parse(stats({ type, proportion_correct: null })).items[0]?.type, type);
  }
  for (const bad of [{ proportion_correct: -0.1 }, { proportion_correct: 1.1 }, { type: 'essay' }, { exposure: 1.5 }]) {
    assert.equal(itemStatsSchema.safeParse(stats(bad)).success, false, JSON.stringify(bad));
  }
});
