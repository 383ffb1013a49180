import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AGS_MEDIA,
  AGS_SCOPES,
  LTI_CLAIMS,
  LTI_RESOURCE_LINK_REQUEST,
  LTI_VERSION,
  gradeSchema,
  ltiLaunchFormSchema,
  ltiLoginQuerySchema,
  ltiPlatformSchema,
  ltiRoleOf,
  ltiToolUrlsSchema,
  platformUrlSchema,
} from './lti.ts';

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

test('claim names, version, message type, scopes and media types are those of LTI 1.3 and AGS 2.0', () => {
  assert.equal(LTI_VERSION, '1.3.0');
  assert.equal(LTI_RESOURCE_LINK_REQUEST, 'LtiResourceLinkRequest');
  assert.deepEqual(LTI_CLAIMS, {
    messageType: 'https://purl.imsglobal.org/spec/lti/claim/message_type',
    version: 'https://purl.imsglobal.org/spec/lti/claim/version',
    deploymentId: 'https://purl.imsglobal.org/spec/lti/claim/deployment_id',
    targetLinkUri: 'https://purl.imsglobal.org/spec/lti/claim/target_link_uri',
    resourceLink: 'https://purl.imsglobal.org/spec/lti/claim/resource_link',
    roles: 'https://purl.imsglobal.org/spec/lti/claim/roles',
    context: 'https://purl.imsglobal.org/spec/lti/claim/context',
    custom: 'https://purl.imsglobal.org/spec/lti/claim/custom',
    ags: 'https://purl.imsglobal.org/spec/lti-ags/claim/endpoint',
  });
  assert.deepEqual(AGS_SCOPES, {
    score: 'https://purl.imsglobal.org/spec/lti-ags/scope/score',
    lineItem: 'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem',
    lineItemReadOnly: 'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly',
  });
  assert.deepEqual(AGS_MEDIA, {
    score: 'application/vnd.ims.lis.v1.score+json',
    lineItem: 'application/vnd.ims.lis.v2.lineitem+json',
    lineItemContainer: 'application/vnd.ims.lis.v2.lineitemcontainer+json',
  });
});

test('every staff role, as a full URI or a short context role, launches as a recruiter; learners as candidates', () => {
  for (const role of [
    `${M}Instructor`,
    `${M}ContentDeveloper`,
    `${M}Administrator`,
    'Instructor',
    'ContentDeveloper',
    'Administrator',
    'http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator',
    'http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator',
    `${M}Administrator#ExternalDeveloper`,
  ]) {
    assert.equal(ltiRoleOf([role]), 'recruiter', role);
  }
  assert.equal(ltiRoleOf([`${M}Learner#Learner`]), 'candidate');
  assert.equal(ltiRoleOf(['http://purl.imsglobal.org/vocab/lis/v2/system/person#User']), undefined);
  assert.equal(ltiRoleOf(['#Instructor']), undefined);
});

test('platform URLs: IPv6 loopback allowed over http; other schemes refused; each fault named once', () => {
  assert.ok(platformUrlSchema.safeParse('http://[::1]:8080/jwks').success);
  for (const bad of [
    'ftp://localhost/jwks',
    'xhttp://localhost/jwks',
    'httpx://localhost/jwks',
    `https://lms.example.org/${'a'.repeat(2048)}`,
  ]) {
    assert.equal(platformUrlSchema.safeParse(bad).success, false, bad);
  }
  const messages = (u: string) => platformUrlSchema.safeParse(u).error?.issues.map((i) => i.message);
  assert.deepEqual(messages('lms.example.org'), ['must be an absolute http(s) URL'], 'a string that is no URL fails the URL check only');
  assert.deepEqual(messages('http://lms.example.org/jwks'), ['must use https (http only on 127.0.0.1 or localhost)']);
  assert.deepEqual(messages('https://lms.example.org/#x'), ['must not have a fragment']);
});

test("a registration's name is trimmed and at most 200 characters", () => {
  const good = {
    issuer: 'https://lms.example.org',
    client_id: 'tool',
    jwks_url: 'https://lms.example.org/jwks',
    auth_login_url: 'https://lms.example.org/auth',
    token_url: 'https://lms.example.org/token',
    deployment_ids: ['d1'],
  };
  assert.equal(ltiPlatformSchema.parse({ ...good, name: '  Moodle ' }).name, 'Moodle');
  assert.equal(ltiPlatformSchema.safeParse({ ...good, name: 'n'.repeat(201) }).success, false);
});

test('the tool URLs are all three strings', () => {
  const urls = { login_url: 'https://t/lti/login', launch_url: 'https://t/lti/launch', jwks_url: 'https://t/.well-known/jwks.json' };
  assert.deepEqual(ltiToolUrlsSchema.parse(urls), urls);
  assert.equal(ltiToolUrlsSchema.safeParse({ login_url: urls.login_url }).success, false);
});

test('login initiation and launch form: each field present, within its length', () => {
  const login = { iss: 'https://lms.example.org', login_hint: 'user-42', target_link_uri: 'https://tool/lti/launch' };
  assert.deepEqual(ltiLoginQuerySchema.parse({ ...login, extra: 'ignored' }), login);
  assert.equal(ltiLoginQuerySchema.parse({ ...login, lti_message_hint: 'h'.repeat(4096) }).lti_message_hint?.length, 4096);
  const limits: readonly (readonly [string, number])[] = [
    ['iss', 2048],
    ['login_hint', 4096],
    ['target_link_uri', 2048],
  ];
  for (const [field, max] of limits) {
    assert.ok(ltiLoginQuerySchema.safeParse({ ...login, [field]: 'x'.repeat(max) }).success, field);
    assert.equal(ltiLoginQuerySchema.safeParse({ ...login, [field]: 'x'.repeat(max + 1) }).success, false, field);
    assert.equal(ltiLoginQuerySchema.safeParse({ ...login, [field]: '' }).success, false, field);
  }
  assert.equal(ltiLoginQuerySchema.safeParse({ ...login, lti_message_hint: 'h'.repeat(4097) }).success, false);

  const form = { id_token: 'eyJ.a.b', state: 's1' };
  assert.deepEqual(ltiLaunchFormSchema.parse(form), form);
  for (const [field, max] of [
    ['id_token', 32_768],
    ['state', 256],
  ] as const) {
    assert.ok(ltiLaunchFormSchema.safeParse({ ...form, [field]: 'x'.repeat(max) }).success, field);
    assert.equal(ltiLaunchFormSchema.safeParse({ ...form, [field]: 'x'.repeat(max + 1) }).success, false, field);
    assert.equal(ltiLaunchFormSchema.safeParse({ ...form, [field]: '' }).success, false, field);
  }
});

test('a grade gives zero or more points of a positive maximum', () => {
  assert.deepEqual(gradeSchema.parse({ given: 7.5, maximum: 10 }), { given: 7.5, maximum: 10 });
  assert.equal(gradeSchema.parse({ given: 0, maximum: 1 }).given, 0);
  assert.equal(gradeSchema.safeParse({ given: -1, maximum: 10 }).success, false);
  assert.equal(gradeSchema.safeParse({ given: 1, maximum: 0 }).success, false);
  assert.equal(gradeSchema.safeParse({ given: 1 }).success, false);
});
