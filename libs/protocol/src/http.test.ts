import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { httpBodies, httpErrorSchema, recruiterTestsSchema, reportQuerySchema, resultsQuerySchema } from './http.ts';

const caller = { user_id: 'u1', role: 'recruiter' };

describe('HTTP bodies', () => {
  test('login and redeem bodies cannot carry the client address', () => {
    assert.deepEqual(httpBodies.login.parse({ email: 'Ada@X.io', password: 'p' }), { email: 'ada@x.io', password: 'p' });
    assert.equal(httpBodies.login.safeParse({ email: 'a@x.io', password: 'p', ip: '10.0.0.1' }).success, false);
    assert.deepEqual(httpBodies.redeem.parse({ code: ' abcd ' }), { code: 'abcd' });
    assert.equal(httpBodies.redeem.safeParse({ code: 'abcd', ip: '10.0.0.1' }).success, false);
  });

  test('an invitation body takes neither caller nor test id, and gets its defaults', () => {
    assert.deepEqual(httpBodies.invite.parse({}), { candidate_name: '', expires_in_s: 7 * 24 * 3600, max_uses: 1 });
    assert.equal(httpBodies.invite.safeParse({ caller }).success, false);
    assert.equal(httpBodies.invite.safeParse({ test_id: 't1' }).success, false);
    assert.equal(httpBodies.invite.safeParse({ max_uses: 0 }).success, false);
  });

  test('a test body is a definition without items to store', () => {
    const definition = { title: 'T', time_limit_s: 60, strategy: 'fixed', items: ['q1'] };
    assert.equal(httpBodies.createTest.parse({ definition }).definition.title, 'T');
    assert.deepEqual(Object.keys(httpBodies.createTest.parse({ definition })), ['definition']);
    assert.equal(httpBodies.createTest.safeParse({ definition, items: [] }).success, false);
    assert.equal(httpBodies.createTest.safeParse({ definition, caller }).success, false);
  });

  test('an import body is a format and the text', () => {
    assert.deepEqual(httpBodies.importItems.parse({ format: 'yaml', text: 'x' }), { format: 'yaml', text: 'x' });
    assert.equal(httpBodies.importItems.safeParse({ format: 'yaml', text: 'x', caller }).success, false);
  });
});

describe('HTTP queries and replies', () => {
  test('a report query names one assessment and nothing else', () => {
    assert.deepEqual(reportQuerySchema.parse({ assessment_id: 'a1' }), { assessment_id: 'a1' });
    assert.equal(reportQuerySchema.safeParse({}).success, false);
    assert.equal(reportQuerySchema.safeParse({ assessment_id: 'a1', x: '1' }).success, false);
  });

  test('a results query turns its strings into a flag and a number', () => {
    assert.deepEqual(resultsQuerySchema.parse({}), { include_unfinished: false, limit: 100 });
    assert.deepEqual(resultsQuerySchema.parse({ include_unfinished: 'true', limit: '500', after: 'a1' }), {
      include_unfinished: true,
      limit: 500,
      after: 'a1',
    });
    assert.deepEqual(resultsQuerySchema.parse({ include_unfinished: 'false', limit: '1' }), { include_unfinished: false, limit: 1 });
    for (const bad of [
      { include_unfinished: 'yes' },
      { limit: '0' },
      { limit: '501' },
      { limit: '2.5' },
      { limit: 'many' },
      { after: 'a 1' },
      { x: '1' },
    ])
      assert.equal(resultsQuerySchema.safeParse(bad).success, false, JSON.stringify(bad));
  });

  test('the tests list adds invitation counts to each test', () => {
    const row = {
      test_id: 't1',
      title: 'T',
      strategy: 'fixed',
      time_limit_s: 60,
      items: 1,
      created_at: '2026-11-25T10:00:00Z',
      started: 0,
      finished: 0,
      average_score: 50,
      invited: 3,
      invitation_uses: 2,
    };
    assert.deepEqual(recruiterTestsSchema.parse({ tests: [row] }), { tests: [row] });
    assert.equal(recruiterTestsSchema.safeParse({ tests: [{ ...row, invited: -1 }] }).success, false);
    assert.equal(recruiterTestsSchema.safeParse({ tests: [{ ...row, invitation_uses: 0.5 }] }).success, false);
    assert.equal(recruiterTestsSchema.safeParse({ tests: [{ ...row, invited: undefined }] }).success, false);
  });

  test('an HTTP error is a code and a message', () => {
    const e = { error: { code: 'NOT_FOUND', message: 'no such test' } };
    assert.deepEqual(httpErrorSchema.parse(e), e);
    assert.equal(httpErrorSchema.safeParse({ error: { code: 'NOT_FOUND' } }).success, false);
    assert.equal(httpErrorSchema.safeParse({ code: 'NOT_FOUND', message: 'm' }).success, false);
  });
});
