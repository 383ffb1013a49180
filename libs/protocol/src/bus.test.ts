import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { z } from 'zod';
import { endpointHandlerTimeout, endpointRoles, endpoints, replySchema } from './bus.ts';
import type { EndpointName } from './bus.ts';

function refused(schema: z.ZodType, input: unknown): void {
  assert.equal(schema.safeParse(input).success, false, `accepted ${JSON.stringify(input)}`);
}

function parsed(schema: z.ZodType, input: unknown): unknown {
  const r = schema.safeParse(input);
  assert.ok(r.success, `refused ${JSON.stringify(input)}: ${r.error?.message ?? ''}`);
  return r.data;
}

const STAFF = ['proctor', 'recruiter', 'admin'];
const AUTHORS = ['recruiter', 'admin'];
const ADMIN = ['admin'];
const CANDIDATE = ['candidate'];

/** Every endpoint: its subject and the roles that may call it (undefined: any caller). */
const registry: Record<EndpointName, readonly [string, string[] | undefined]> = {
  authLogin: ['auth.v1.login', undefined],
  authRedeem: ['auth.v1.invitations.redeem', undefined],
  authInvite: ['auth.v1.invitations.create', AUTHORS],
  authInvitationCounts: ['auth.v1.invitations.counts', AUTHORS],
  authCreateUser: ['auth.v1.users.create', ADMIN],
  authJwks: ['auth.v1.jwks', undefined],
  ltiPlatformRegister: ['auth.v1.lti.platforms.register', AUTHORS],
  ltiPlatformList: ['auth.v1.lti.platforms.list', AUTHORS],
  ltiLinkBind: ['auth.v1.lti.links.bind', AUTHORS],
  ltiLogin: ['auth.v1.lti.login', undefined],
  ltiLaunch: ['auth.v1.lti.launch', undefined],
  ltiJwks: ['auth.v1.lti.jwks', undefined],
  testCreate: ['assessment.v1.tests.create', AUTHORS],
  itemsImport: ['assessment.v1.items.import', AUTHORS],
  testsList: ['assessment.v1.tests.list', AUTHORS],
  itemStats: ['assessment.v1.items.stats', AUTHORS],
  assessmentReport: ['assessment.v1.report', AUTHORS],
  exposureUpdate: ['assessment.v1.exposure.update', ADMIN],
  itemsCalibrate: ['assessment.v1.items.calibrate', ADMIN],
  testGet: ['assessment.v1.tests.get', undefined],
  testInfo: ['assessment.v1.tests.info', undefined],
  assessmentStart: ['assessment.v1.start', CANDIDATE],
  assessmentApproveStart: ['assessment.v1.approve_start', STAFF],
  assessmentQuestion: ['assessment.v1.question', undefined],
  assessmentAnswer: ['assessment.v1.answer', undefined],
  assessmentProgress: ['assessment.v1.progress', undefined],
  assessmentEnd: ['assessment.v1.end', undefined],
  assessmentExtraTime: ['assessment.v1.extra_time', STAFF],
  assessmentCommand: ['assessment.v1.command', STAFF],
  assessmentIntegrity: ['assessment.v1.integrity', CANDIDATE],
  assessmentAbandonIdle: ['assessment.v1.abandon_idle', ADMIN],
  authPurgeInvitations: ['auth.v1.invitations.purge_expired', ADMIN],
  authCandidateTests: ['auth.v1.candidates.tests', STAFF],
  assessmentDescribe: ['assessment.v1.describe', undefined],
  assessmentExpireDue: ['assessment.v1.expire_due', ADMIN],
  assessmentLive: ['assessment.v1.live', STAFF],
  assessmentResults: ['assessment.v1.results', AUTHORS],
  assessmentHelpContext: ['assessment.v1.help_context', undefined],
  chatOpenRoom: ['chat.v1.rooms.open', AUTHORS],
  chatRooms: ['chat.v1.rooms.list', undefined],
  chatPost: ['chat.v1.post', undefined],
  chatHistory: ['chat.v1.history', undefined],
};

const caller = { user_id: 'u1', role: 'admin' };

describe('endpoint registry', () => {
  test('subjects and roles of every endpoint', () => {
    assert.deepEqual(Object.keys(endpoints).sort(), Object.keys(registry).sort());
    for (const [name, [subject, roles]] of Object.entries(registry) as [EndpointName, (typeof registry)[EndpointName]][]) {
      assert.equal(endpoints[name].subject, subject, name);
      assert.deepEqual(endpointRoles(name), roles, name);
    }
  });

  test('subjects are unique', () => {
    const subjects = Object.values(endpoints).map((e) => e.subject);
    assert.equal(new Set(subjects).size, subjects.length);
  });

  test('only calibration sets its own handler timeout', () => {
    for (const name of Object.keys(endpoints) as EndpointName[])
      assert.equal(endpointHandlerTimeout(name), name === 'itemsCalibrate' ? 250_000 : undefined, name);
  });
});

describe('replies', () => {
  test('a reply is data or an error body with a known code', () => {
    assert.deepEqual(parsed(replySchema, { ok: true, data: { x: 1 } }), { ok: true, data: { x: 1 } });
    const error = { ok: false, error: { code: 'NOT_FOUND', message: 'no such test', details: { id: 't' } } };
    assert.deepEqual(parsed(replySchema, error), error);
    refused(replySchema, { ok: false, error: { code: 'NOPE', message: 'x' } });
    refused(replySchema, { ok: false, data: {} });
    refused(replySchema, { ok: 'yes', data: {} });
  });
});

describe('request schemas', () => {
  test('login normalises the email and bounds the password and address', () => {
    const login = endpoints.authLogin.request;
    assert.deepEqual(parsed(login, { email: '  Ada@Example.ORG ', password: 'p' }), { email: 'ada@example.org', password: 'p' });
    assert.deepEqual(parsed(login, { email: 'a@b.io', password: 'p'.repeat(1024), ip: '::ffff:127.0.0.1' }), {
      email: 'a@b.io',
      password: 'p'.repeat(1024),
      ip: '::ffff:127.0.0.1',
    });
    parsed(login, { email: 'a@b.io', password: 'p', ip: 'fe80::1%eth0' });
    parsed(login, { email: 'a@b.io', password: 'p', ip: 'x'.repeat(64) });
    for (const bad of [
      { email: 'not-an-email', password: 'p' },
      { email: `${'a'.repeat(250)}@b.io`, password: 'p' },
      { email: 'a@b.io', password: '' },
      { email: 'a@b.io', password: 'p'.repeat(1025) },
      { email: 'a@b.io', password: 'p', ip: '1' },
      { email: 'a@b.io', password: 'p', ip: '1'.repeat(65) },
      { email: 'a@b.io', password: 'p', ip: '10.0.0.1 ' },
      { email: 'a@b.io', password: 'p', ip: '10.0.0.1/8' },
      { email: 'a@b.io', password: 'p', extra: 1 },
    ])
      refused(login, bad);
    const notAnAddress = login.safeParse({ email: 'a@b.io', password: 'p', ip: '10.0.0.1/8' });
    assert.deepEqual(
      notAnAddress.error?.issues.map((i) => [i.path.join('.'), i.message]),
      [['ip', 'must be an IP address']],
    );
  });

  test('redeem trims the code and the name', () => {
    const redeem = endpoints.authRedeem.request;
    assert.deepEqual(parsed(redeem, { code: '  ABCD ', name: ' Ada ', ip: '10.0.0.1' }), { code: 'ABCD', name: 'Ada', ip: '10.0.0.1' });
    parsed(redeem, { code: 'c'.repeat(128), name: 'n'.repeat(200) });
    for (const bad of [
      { code: 'abc' },
      { code: '  abc  ' },
      { code: 'c'.repeat(129) },
      { code: 'abcd', name: 'n'.repeat(201) },
      { code: 'abcd', x: 1 },
    ])
      refused(redeem, bad);
  });

  test('an invitation gets a week, one use and no name by default', () => {
    const invite = endpoints.authInvite.request;
    assert.deepEqual(parsed(invite, { caller, test_id: 7 }), {
      caller,
      test_id: '7',
      candidate_name: '',
      expires_in_s: 7 * 24 * 3600,
      max_uses: 1,
    });
    const full = {
      caller,
      test_id: 't1',
      candidate_email: 'ada@example.org',
      candidate_name: 'n'.repeat(200),
      expires_in_s: 90 * 24 * 3600,
      max_uses: 100_000,
      code: 'c'.repeat(8),
      accommodations: { time_multiplier: 2, extra_seconds: 60 },
    };
    assert.deepEqual(parsed(invite, full), full);
    parsed(invite, { caller, test_id: 't1', code: 'c'.repeat(128), expires_in_s: 1 });
    for (const bad of [
      { caller, test_id: 't1', candidate_email: 'nope' },
      { caller, test_id: 't1', candidate_name: 'n'.repeat(201) },
      { caller, test_id: 't1', expires_in_s: 0 },
      { caller, test_id: 't1', expires_in_s: 90 * 24 * 3600 + 1 },
      { caller, test_id: 't1', max_uses: 0 },
      { caller, test_id: 't1', max_uses: 100_001 },
      { caller, test_id: 't1', code: 'c'.repeat(7) },
      { caller, test_id: 't1', code: 'c'.repeat(129) },
      { caller, test_id: 't1', accommodations: { time_multiplier: 5 } },
      { test_id: 't1' },
    ])
      refused(invite, bad);
  });

  test('users get an empty name by default and a password of at least 8 characters', () => {
    const create = endpoints.authCreateUser.request;
    assert.deepEqual(parsed(create, { caller, email: 'P@X.io', password: 'p'.repeat(8), role: 'proctor' }), {
      caller,
      email: 'p@x.io',
      password: 'p'.repeat(8),
      role: 'proctor',
      name: '',
    });
    const full = { caller, email: 'p@x.io', password: 'p'.repeat(1024), role: 'recruiter', name: 'n'.repeat(200), tests: ['t1'] };
    assert.deepEqual(parsed(create, full), full);
    for (const bad of [
      { ...full, password: 'p'.repeat(7) },
      { ...full, password: 'p'.repeat(1025) },
      { ...full, role: 'root' },
      { ...full, name: 'n'.repeat(201) },
      { ...full, tests: ['t 1'] },
    ])
      refused(create, bad);
  });

  test('invitation counts take up to 500 tests; jwks takes nothing', () => {
    const counts = endpoints.authInvitationCounts.request;
    const ids = Array.from({ length: 500 }, (_, i) => `t${String(i)}`);
    assert.deepEqual(parsed(counts, { caller, test_ids: ids }), { caller, test_ids: ids });
    refused(counts, { caller, test_ids: [...ids, 'one-more'] });
    assert.deepEqual(parsed(endpoints.authJwks.request, {}), {});
    refused(endpoints.authJwks.request, { caller });
  });

  test('test creation takes a definition and, by default, no items', () => {
    const create = endpoints.testCreate.request;
    const definition = { title: 'T', time_limit_s: 60, strategy: 'fixed', items: ['q1'] };
    const r = parsed(create, { caller, definition }) as { items: unknown[]; definition: { title: string } };
    assert.deepEqual(r.items, []);
    assert.equal(r.definition.title, 'T');
    refused(create, { caller, definition: { ...definition, strategy: 'linear' } });
    refused(create, { caller, definition, items: [{ id: 'q1' }] });
  });

  test('imports are JSON or YAML text of at most 8 MiB', () => {
    const imports = endpoints.itemsImport.request;
    for (const format of ['json', 'yaml'])
      assert.deepEqual(parsed(imports, { caller, format, text: '[]' }), { caller, format, text: '[]' });
    parsed(imports, { caller, format: 'json', text: 'x'.repeat(8 * 1024 * 1024) });
    for (const bad of [
      { caller, format: 'xml', text: '[]' },
      { caller, format: 'json', text: '' },
      { caller, format: 'json', text: 'x'.repeat(8 * 1024 * 1024 + 1) },
    ])
      refused(imports, bad);
  });

  test('list limits and their defaults', () => {
    const cases: [z.ZodType, number, number, number][] = [
      // schema, default, smallest, largest
      [endpoints.testsList.request, 200, 1, 500],
      [endpoints.assessmentAbandonIdle.request, 100, 1, 1000],
      [endpoints.assessmentExpireDue.request, 100, 1, 1000],
      [endpoints.assessmentLive.request, 500, 1, 2000],
      [endpoints.chatHistory.request, 50, 1, 200],
    ];
    const room = { room_id: 'r1' };
    for (const [schema, fallback, min, max] of cases) {
      const base = schema === endpoints.chatHistory.request ? { caller, ...room } : { caller };
      assert.deepEqual(parsed(schema, base), { ...base, limit: fallback });
      assert.deepEqual(parsed(schema, { ...base, limit: min }), { ...base, limit: min });
      assert.deepEqual(parsed(schema, { ...base, limit: max }), { ...base, limit: max });
      refused(schema, { ...base, limit: min - 1 });
      refused(schema, { ...base, limit: max + 1 });
      refused(schema, { ...base, limit: 1.5 });
    }
  });

  test('requests that name a test or an assessment', () => {
    for (const name of ['itemStats', 'testGet', 'testInfo', 'assessmentStart'] as const) {
      assert.deepEqual(parsed(endpoints[name].request, { caller, test_id: 12 }), { caller, test_id: '12' }, name);
      refused(endpoints[name].request, { caller, test_id: 'x'.repeat(65) });
      refused(endpoints[name].request, { test_id: 't1' });
    }
    for (const name of [
      'assessmentQuestion',
      'assessmentProgress',
      'assessmentEnd',
      'assessmentDescribe',
      'assessmentHelpContext',
    ] as const) {
      assert.deepEqual(parsed(endpoints[name].request, { caller, assessment_id: 'a1' }), { caller, assessment_id: 'a1' }, name);
      refused(endpoints[name].request, { caller, assessment_id: 'x'.repeat(65) });
      refused(endpoints[name].request, { caller });
    }
    const report = { caller, test_id: 't1', assessment_id: 'a1' };
    assert.deepEqual(parsed(endpoints.assessmentReport.request, report), report);
    const approve = { caller, candidate_id: 'c1', test_id: 't1' };
    assert.deepEqual(parsed(endpoints.assessmentApproveStart.request, approve), approve);
    refused(endpoints.assessmentApproveStart.request, { caller, test_id: 't1' });
    const tests = { caller, candidate_id: 'c1' };
    assert.deepEqual(parsed(endpoints.authCandidateTests.request, tests), tests);
    refused(endpoints.authCandidateTests.request, { caller, candidate_id: 'c 1' });
    assert.deepEqual(parsed(endpoints.chatRooms.request, { caller }), { caller });
  });

  test('exposure update defaults to r_max 0.25 over at least 100 examinees', () => {
    const update = endpoints.exposureUpdate.request;
    assert.deepEqual(parsed(update, { caller, test_id: 't1' }), { caller, test_id: 't1', r_max: 0.25, min_examinees: 100 });
    assert.deepEqual(parsed(update, { caller, test_id: 't1', r_max: 1, min_examinees: 1 }), {
      caller,
      test_id: 't1',
      r_max: 1,
      min_examinees: 1,
    });
    for (const bad of [{ r_max: 0 }, { r_max: 1.01 }, { min_examinees: 0 }, { min_examinees: 1.5 }])
      refused(update, { caller, test_id: 't1', ...bad });
  });

  test('calibration defaults to 2PL, 100 responses and no apply', () => {
    const calibrate = endpoints.itemsCalibrate.request;
    assert.deepEqual(parsed(calibrate, { caller, test_id: 't1' }), {
      caller,
      test_id: 't1',
      model: '2PL',
      min_responses: 100,
      apply: false,
    });
    const full = { caller, test_id: 't1', model: '3PL', min_responses: 10, apply: true };
    assert.deepEqual(parsed(calibrate, full), full);
    parsed(calibrate, { ...full, min_responses: 100_000 });
    for (const bad of [{ model: '4PL' }, { min_responses: 9 }, { min_responses: 100_001 }, { apply: 'yes' }])
      refused(calibrate, { ...full, ...bad });
  });

  test('an answer names the question and an option of 1-16 characters', () => {
    const answer = endpoints.assessmentAnswer.request;
    const a = { caller, assessment_id: 'a1', question_id: 'q1', selected_option: 'o'.repeat(16) };
    assert.deepEqual(parsed(answer, a), a);
    for (const bad of [{ selected_option: '' }, { selected_option: 'o'.repeat(17) }, { question_id: 'q 1' }])
      refused(answer, { ...a, ...bad });
  });

  test('extra time is 1 s to 24 h with an empty reason by default', () => {
    const extra = endpoints.assessmentExtraTime.request;
    assert.deepEqual(parsed(extra, { caller, assessment_id: 'a1', seconds: 1 }), { caller, assessment_id: 'a1', seconds: 1, reason: '' });
    const full = { caller, assessment_id: 'a1', seconds: 24 * 3600, reason: 'r'.repeat(500), key: 'k1' };
    assert.deepEqual(parsed(extra, full), full);
    for (const bad of [{ seconds: 0 }, { seconds: 24 * 3600 + 1 }, { seconds: 1.5 }, { reason: 'r'.repeat(501) }, { key: 'k 1' }])
      refused(extra, { ...full, ...bad });
  });

  test('commands are pause, resume or terminate with an empty reason by default', () => {
    const command = endpoints.assessmentCommand.request;
    for (const c of ['pause', 'resume', 'terminate'])
      assert.deepEqual(parsed(command, { caller, assessment_id: 'a1', command: c }), {
        caller,
        assessment_id: 'a1',
        command: c,
        reason: '',
      });
    refused(command, { caller, assessment_id: 'a1', command: 'restart' });
    refused(command, { caller, assessment_id: 'a1', command: 'pause', reason: 'r'.repeat(501) });
  });

  test('integrity events have a known kind', () => {
    const integrity = endpoints.assessmentIntegrity.request;
    for (const kind of ['focus_lost', 'tab_hidden', 'paste', 'fullscreen_exit', 'copy', 'other']) {
      const e = { caller, assessment_id: 'a1', kind, at: 't'.repeat(64) };
      assert.deepEqual(parsed(integrity, e), e);
    }
    refused(integrity, { caller, assessment_id: 'a1', kind: 'screenshot', at: 'now' });
    refused(integrity, { caller, assessment_id: 'a1', kind: 'paste', at: 't'.repeat(65) });
  });

  test('the purge removes invitations expired for at least 0 s by default', () => {
    const purge = endpoints.authPurgeInvitations.request;
    assert.deepEqual(parsed(purge, { caller }), { caller, older_than_s: 0 });
    refused(purge, { caller, older_than_s: -1 });
    refused(purge, { caller, older_than_s: 0.5 });
  });

  test('live and results requests', () => {
    assert.deepEqual(parsed(endpoints.assessmentLive.request, { caller, test_id: 3 }), { caller, test_id: '3', limit: 500 });
    const results = endpoints.assessmentResults.request;
    assert.deepEqual(parsed(results, { caller, test_id: 't1' }), { caller, test_id: 't1', include_unfinished: false, limit: 100 });
    const full = { caller, test_id: 't1', include_unfinished: true, limit: 500, after: 'a1' };
    assert.deepEqual(parsed(results, full), full);
    for (const bad of [{ limit: 0 }, { limit: 501 }, { after: 'a 1' }, { include_unfinished: 'true' }])
      refused(results, { ...full, ...bad });
  });

  test('chat requests', () => {
    const open = endpoints.chatOpenRoom.request;
    assert.deepEqual(parsed(open, { caller, candidate_id: 'c1' }), { caller, candidate_id: 'c1', topic: '' });
    parsed(open, { caller, candidate_id: 'c1', topic: 't'.repeat(200) });
    refused(open, { caller, candidate_id: 'c1', topic: 't'.repeat(201) });
    const post = endpoints.chatPost.request;
    assert.deepEqual(parsed(post, { caller, room_id: 'r1', message: 'm'.repeat(8000) }), {
      caller,
      room_id: 'r1',
      message: 'm'.repeat(8000),
    });
    refused(post, { caller, room_id: 'r1', message: '' });
    refused(post, { caller, room_id: 'r1', message: 'm'.repeat(8001) });
    const history = endpoints.chatHistory.request;
    assert.deepEqual(parsed(history, { caller, room_id: 'r1', before: 'b'.repeat(64) }), {
      caller,
      room_id: 'r1',
      before: 'b'.repeat(64),
      limit: 50,
    });
    refused(history, { caller, room_id: 'r1', before: 'b'.repeat(65) });
  });
});

describe('response schemas', () => {
  const iso = '2026-11-25T10:00:00.000Z';
  const summary = {
    test_id: 't1',
    title: 'T',
    strategy: 'adaptive',
    time_limit_s: 600,
    planned_items: { min: 5, max: 20 },
    skills: ['algebra'],
    show_feedback: true,
    time_warnings_s: [60],
    on_expiry: 'grace',
    grace_s: 30,
  };
  const approval = {
    test_id: 't1',
    candidate_id: 'c1',
    candidate_name: 'Ada',
    status: 'approved',
    requested_at: iso,
    approved_at: iso,
    approved_by: 'p1',
  };
  const question = {
    assessment_id: 'a1',
    question_id: 'q1',
    index: 0,
    type: 'single_choice',
    stem: 's',
    options: [{ id: 'a', text: 'A' }],
    skill: 'algebra',
    time_remaining_s: 100,
  };
  const result = {
    number_correct: 1,
    answered: 2,
    percent_correct: 50,
    theta: 0.1,
    se: 0.3,
    scaled_score: 51.5,
    percentile: 40,
    incidents: 0,
    decision: 'pass',
    skills: [{ skill: 'algebra', answered: 2, correct: 1, theta: 0.1, se: 0.3 }],
  };
  const completed = { assessment_id: 'a1', status: 'completed', reason: 'se_target', finished_at: iso, score: 51.5, result };
  const room = { room_id: 'sup_1', kind: 'support', members: ['c1', 'r1'], topic: 'x', opened_by: 'r1', created_at: iso };
  const message = { message_id: 'm1', room_id: 'r1', sender_id: 'u1', sender_role: 'assistant', text: 'hi', created_at: iso };

  // One valid reply per endpoint: it parses to itself (no field dropped, no enum value lost).
  const PLATFORM = {
    platform_id: 'ltp_1',
    issuer: 'https://lms.example.org',
    client_id: 'tool',
    name: 'LMS',
    jwks_url: 'https://lms.example.org/jwks',
    auth_login_url: 'https://lms.example.org/auth',
    token_url: 'https://lms.example.org/token',
    deployment_ids: ['d1'],
    created_at: iso,
    updated_at: iso,
  };
  const replies: Partial<Record<EndpointName, unknown>> = {
    authLogin: { token: 't', expires_at: iso, user_id: 'u1', role: 'admin' },
    authRedeem: { token: 't', expires_at: iso, user_id: 'c1', role: 'candidate', test_id: 't1', application_id: 'app1', re_sign_in: true },
    authInvite: {
      invitation_id: 'i1',
      code: 'abcd',
      candidate_id: 'c1',
      application_id: 'app1',
      expires_at: iso,
      max_uses: 1,
      accommodations: { time_multiplier: 1.5, extra_seconds: 0 },
    },
    authInvitationCounts: { counts: [{ test_id: 't1', invitations: 2, uses: 1 }] },
    authCreateUser: { user_id: 'u2', created: true },
    authJwks: { keys: [{ kty: 'OKP', crv: 'Ed25519' }] },
    ltiPlatformRegister: { platform: PLATFORM, created: true },
    ltiPlatformList: { platforms: [PLATFORM] },
    ltiLinkBind: { platform_id: 'ltp_1', resource_link_id: 'rl-1', test_id: 't1' },
    ltiLogin: { redirect_url: 'https://lms.example.org/auth?state=s' },
    ltiLaunch: { role: 'candidate', token: 't', expires_at: iso, user_id: 'u1', test_id: 't1', name: 'Ada' },
    ltiJwks: { keys: [{ kty: 'RSA', n: 'x', e: 'AQAB', kid: 'k', alg: 'RS256' }] },
    testCreate: { test_id: 't1', items: 3 },
    itemsImport: { imported: 1, item_ids: ['q1'] },
    testsList: {
      tests: [
        {
          test_id: 't1',
          title: 'T',
          strategy: 'random',
          time_limit_s: 60,
          items: 3,
          created_at: iso,
          started: 2,
          finished: 1,
          average_score: null,
        },
      ],
    },
    itemStats: {
      test_id: 't1',
      examinees: 2,
      items: [
        {
          item_id: 'q1',
          skill: 's',
          stem: 'x',
          administered: 1,
          exposure: 0.5,
          proportion_correct: null,
          mean_time_s: 3.5,
          irt: { a: 1, b: 0, c: 0.2 },
        },
      ],
    },
    assessmentReport: {
      assessment_id: 'a1',
      test_id: 't1',
      test_title: 'T',
      adaptive: true,
      candidate_id: 'c1',
      candidate_name: 'Ada',
      status: 'completed',
      reason: 'max_items',
      started_at: iso,
      finished_at: iso,
      score: 70,
      result: { ...result, trace: [{ theta: 0, se: 1 }] },
      answers: [{ index: 0, item_id: 'q1', skill: 's', stem: 'x', selected_option: 'a', correct: true, answered_at: iso, time_s: 2 }],
      timeline: [{ at: iso, kind: 'pause', detail: 'by p1' }],
    },
    exposureUpdate: { examinees: 100, updated: 1, max_exposure_rate: 0.25, items: [{ id: 'q1', exposure_k: 0.9, exposure_rate: 0.2 }] },
    itemsCalibrate: {
      test_id: 't1',
      model: '3PL',
      examinees: 200,
      cycles: 30,
      converged: true,
      applied: 0,
      items: [
        {
          id: 'q1',
          pretest: false,
          n: 200,
          p_value: 0.6,
          estimated: true,
          a: 1.1,
          b: -0.2,
          c: 0.15,
          se: { a: 0.1, b: 0.1, c: 0.02 },
          fit: { q1: 8.1, df: 7, p: 0.3 },
          previous: { a: 1, b: 0, c: 0.2 },
        },
      ],
    },
    testGet: summary,
    testInfo: {
      test: summary,
      description: 'd',
      proctored: true,
      start_requires_approval: true,
      start_approval: approval,
      practice: { stem: 's', options: [{ id: 'a', text: 'A' }], answer: 'a' },
      accommodations: { time_multiplier: 2, extra_seconds: 0 },
      time_allowed_s: 1200,
      attempt: { assessment_id: 'a1', status: 'paused', answered: 3, time_remaining_s: 500 },
    },
    assessmentStart: { start_approval: { ...approval, status: 'waiting', approved_at: null, approved_by: null } },
    assessmentApproveStart: approval,
    assessmentQuestion: { question, completed },
    assessmentAnswer: {
      feedback: {
        assessment_id: 'a1',
        question_id: 'q1',
        accepted: true,
        selected_option: 'a',
        correct: false,
        answered: 1,
        finished: false,
        next_question: question,
      },
    },
    assessmentProgress: {
      assessment_id: 'a1',
      status: 'in_progress',
      answered: 1,
      planned: 10,
      planned_range: { min: 5, max: 10 },
      percent: 10,
      time_remaining_s: 50,
      skills: [{ skill: 's', answered: 1, target: 2 }],
    },
    assessmentEnd: completed,
    assessmentExtraTime: { assessment_id: 'a1', deadline: iso, time_remaining_s: 60, status: 'in_progress' },
    assessmentCommand: { assessment_id: 'a1', status: 'paused', deadline: iso, time_remaining_s: 60 },
    assessmentIntegrity: { assessment_id: 'a1', kind: 'paste', incidents: 2 },
    assessmentAbandonIdle: { abandoned: [{ assessment_id: 'a1', candidate_id: 'c1' }] },
    authPurgeInvitations: { removed: 3 },
    authCandidateTests: { candidate_id: 'c1', tests: ['t1'] },
    assessmentDescribe: { assessment_id: 'a1', candidate_id: 'c1', test_id: 't1', status: 'overdue' },
    assessmentExpireDue: { expired: [{ assessment_id: 'a1', candidate_id: 'c1' }] },
    assessmentLive: { assessments: [], start_requests: [approval] },
    assessmentResults: {
      results: [
        {
          assessment_id: 'a1',
          candidate_id: 'c1',
          candidate_name: 'Ada',
          status: 'completed',
          reason: 'classified',
          started_at: iso,
          finished_at: null,
          answered: 2,
          score: 1,
          incidents: 0,
          accommodations: { time_multiplier: 1, extra_seconds: 60 },
          result,
        },
      ],
      next_cursor: 'a1',
    },
    assessmentHelpContext: {
      assessment_id: 'a1',
      status: 'in_progress',
      time_remaining_s: 60,
      answered: 2,
      planned: { min: 5, max: 10 },
      adaptive: false,
      on_expiry: 'autosubmit',
      question: { index: 2, type: 'single_choice', skill: 's', options: 4, clarification: 'c' },
    },
    chatOpenRoom: room,
    chatRooms: { rooms: [room, { room_id: 'asm_a1', kind: 'assessment' }] },
    chatPost: message,
    chatHistory: { messages: [message], next_cursor: null },
  };

  test('a valid reply of every endpoint parses to itself', () => {
    for (const name of Object.keys(endpoints) as EndpointName[]) {
      assert.ok(name in replies, `no sample reply for ${name}`);
      assert.deepEqual(parsed(endpoints[name].response, replies[name]), replies[name], name);
    }
  });

  test('replies are refused when a field breaks its schema', () => {
    const bad: [EndpointName, unknown][] = [
      ['authLogin', { token: 't', expires_at: iso, user_id: 'u1', role: 'root' }],
      ['authRedeem', { token: 't', expires_at: iso, user_id: 'c1', role: 'candidate', test_id: 't1' }],
      ['authInvite', { invitation_id: 'i1', code: 'c', expires_at: iso, max_uses: 1.5 }],
      ['itemStats', { test_id: 't1', examinees: -1, items: [] }],
      ['itemsCalibrate', { ...(replies.itemsCalibrate as object), model: '1PL' }],
      ['assessmentDescribe', { assessment_id: 'a1', candidate_id: 'c1', test_id: 't1', status: 'running' }],
      ['assessmentHelpContext', { ...(replies.assessmentHelpContext as object), time_remaining_s: -1 }],
      ['assessmentHelpContext', { ...(replies.assessmentHelpContext as object), on_expiry: 'discard' }],
      ['assessmentResults', { results: [], next_cursor: undefined }],
      ['chatRooms', { rooms: [{ room_id: 'r1', kind: 'private' }] }],
    ];
    for (const [name, reply] of bad) refused(endpoints[name].response, reply);
  });
});
