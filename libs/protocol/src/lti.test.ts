import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ltiPlatformSchema, ltiRoleOf, platformUrlSchema } from './lti.ts';

const M = 'http://purl.imsglobal.org/vocab/lis/v2/membership#';

test('roles: instructors and administrators manage, learners take, anything else is neither', () => {
  assert.equal(ltiRoleOf([`${M}Learner`]), 'candidate');
  assert.equal(ltiRoleOf(['Learner']), 'candidate');
  assert.equal(ltiRoleOf([`${M}Instructor`]), 'recruiter');
  assert.equal(ltiRoleOf([`${M}Learner`, `${M}Instructor`]), 'recruiter', 'the staff role wins');
  assert.equal(ltiRoleOf([`${M}Instructor#TeachingAssistant`]), 'recruiter', 'a sub-role keeps its principal role');
  assert.equal(ltiRoleOf(['http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator']), 'recruiter');
  assert.equal(ltiRoleOf([`${M}Mentor`]), undefined);
  assert.equal(
    ltiRoleOf(['http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student']),
    undefined,
    'an institution role alone is not a course role',
  );
  assert.equal(ltiRoleOf([]), undefined);
  assert.equal(ltiRoleOf([`${M}Learnerx`]), undefined);
});

test('platform URLs: https anywhere, http only on the loopback interface, no fragment', () => {
  for (const ok of [
    'https://lms.example.org/jwks',
    'http://127.0.0.1:8080/jwks',
    'http://localhost/auth',
    'https://lms.example.org/a?b=c',
  ]) {
    assert.ok(platformUrlSchema.safeParse(ok).success, ok);
  }
  for (const bad of [
    'http://lms.example.org/jwks',
    'ftp://lms.example.org',
    'https://lms.example.org/#x',
    'lms.example.org',
    '',
    'javascript:alert(1)',
  ]) {
    assert.equal(platformUrlSchema.safeParse(bad).success, false, bad);
  }
});

test('a registration needs every endpoint and at least one deployment, and nothing else', () => {
  const good = {
    issuer: 'https://lms.example.org',
    client_id: 'tool',
    jwks_url: 'https://lms.example.org/jwks',
    auth_login_url: 'https://lms.example.org/auth',
    token_url: 'https://lms.example.org/token',
    deployment_ids: ['d1'],
  };
  assert.equal(ltiPlatformSchema.parse(good).name, '');
  assert.equal(ltiPlatformSchema.safeParse({ ...good, deployment_ids: [] }).success, false);
  assert.equal(ltiPlatformSchema.safeParse({ ...good, client_id: ' ' }).success, false);
  assert.equal(ltiPlatformSchema.safeParse({ ...good, secret: 'x' }).success, false);
  const { token_url: _omitted, ...withoutToken } = good;
  assert.equal(ltiPlatformSchema.safeParse(withoutToken).success, false);
});
