import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { findAssessment } from '../services/assessment/src/repository.ts';
import { assertAccessible } from './support/a11y.ts';
import { launchChromium, openPage, visible } from './support/browser.ts';
import { resilientCandidate } from './support/candidate.ts';
import { CLIENT_ID, DEPLOYMENT_ID, ROLES, TestLms } from './support/lms.ts';
import type { LaunchOptions } from './support/lms.ts';
import { setup } from './support/setup.ts';
import type { TestStack } from './support/setup.ts';

/**
 * LTI 1.3 end to end: an LMS in this process registers with the platform, launches a learner
 * (login initiation → OIDC authentication → form_post launch), the learner takes the linked test
 * over the WebSocket with the token the launch gave, and the grade comes back to the LMS through
 * AGS; an instructor launches into the recruiter's workspace scoped to the test; bad launches are
 * refused; and while the LMS is down grades wait and arrive once it is back.
 */
const ITEMS = 4;
/** Login initiations per address per minute in this stack (each stores a state). */
const LOGIN_LIMIT = 60;
let stack: TestStack | undefined;
let lms: TestLms;
let testId: string;
let otherTestId: string;
let recruiterToken: string;

function started(): TestStack {
  assert.ok(stack !== undefined, 'the stack started');
  return stack;
}

async function api(
  path: string,
  init: { method?: string; token?: string; body?: unknown } = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${started().httpUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      ...(init.token === undefined ? {} : { authorization: `Bearer ${init.token}` }),
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

before(async () => {
  stack = await setup({ env: { LTI_RETRY_MIN_MS: '100', LTI_RETRY_MAX_MS: '600', LTI_LOGIN_LIMIT: String(LOGIN_LIMIT) } });
  testId = await stack.createTest({ id: 'lti-quiz', title: 'Quiz from the LMS', time_limit_s: 1800, strategy: 'fixed' }, ITEMS);
  otherTestId = await stack.createTest({ id: 'lti-other', title: 'Another test', time_limit_s: 1800, strategy: 'fixed' }, 2);
  const login = await api('/api/auth/login', {
    method: 'POST',
    body: { email: stack.seed.recruiter.email, password: stack.seed.recruiter.password },
  });
  recruiterToken = String(login.json['token']);
  lms = new TestLms(stack.httpUrl);
  await lms.start();
});
after(async () => {
  await stack?.close();
  await lms.stop();
});

type Launched = { status: number; location: string; body: string; idToken: string; state: string };

/** The browser's part of a launch: follow the login initiation to the platform, post its form to the tool. */
async function launch(options: LaunchOptions): Promise<Launched> {
  const login = await fetch(lms.loginUrl(options), { redirect: 'manual' });
  assert.equal(login.status, 303, await login.clone().text());
  const toPlatform = login.headers.get('location') ?? '';
  assert.ok(toPlatform.startsWith(`${lms.issuer}/auth?`), toPlatform);
  const page = await (await fetch(toPlatform)).text();
  const idToken = /name="id_token" value="([^"]+)"/u.exec(page)?.[1];
  const state = /name="state" value="([^"]+)"/u.exec(page)?.[1];
  assert.ok(
    idToken !== undefined && state !== undefined,
    `the platform answered with its form: ${page.slice(0, 300)}; ${JSON.stringify(lms.violations)}`,
  );
  return post(idToken, state);
}

async function post(idToken: string, state: string): Promise<Launched> {
  const res = await fetch(`${started().httpUrl}/lti/launch`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ id_token: idToken, state }).toString(),
    redirect: 'manual',
  });
  return { status: res.status, location: res.headers.get('location') ?? '', body: await res.text(), idToken, state };
}

function fragment(location: string): URLSearchParams {
  const hash = location.slice(location.indexOf('#') + 1);
  assert.ok(hash.startsWith('lti&'), location);
  return new URLSearchParams(hash.slice(4));
}

async function until(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const giveUp = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > giveUp) assert.fail(`timed out waiting until ${what} (violations ${JSON.stringify(lms.violations)})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Plays the assessment of a launched learner over the WebSocket, always choosing the first option;
 * `percent` is its grade out of 100: the scaled score on the default 0–100 scoring (these fixed
 * tests have IRT parameters, so they have one), or the percentage correct.
 */
async function takeTest(token: string): Promise<{ assessmentId: string; percent: number }> {
  const run = await resilientCandidate({ wsUrl: started().wsUrl, token, deadlineMs: 60_000, choose: (_q, options) => options[0] ?? 'A' });
  assert.ok(run.completed !== undefined && run.assessmentId !== undefined, JSON.stringify(run.errors));
  const a = await findAssessment(started().db, { _id: run.assessmentId });
  assert.ok(a?.result !== null && a?.result !== undefined);
  return { assessmentId: run.assessmentId, percent: Math.round((a.result.scaled_score ?? a.result.percent_correct) * 100) / 100 };
}

describe('LTI 1.3', () => {
  test('a recruiter registers the LMS; a scoped recruiter and a bad registration are refused', async () => {
    const registered = await api('/api/lti/platforms', { method: 'POST', token: recruiterToken, body: lms.registration() });
    assert.equal(registered.status, 201, JSON.stringify(registered.json));
    assert.equal(registered.json['created'], true);
    assert.deepEqual(registered.json['tool'], {
      login_url: `${started().httpUrl}/lti/login`,
      launch_url: `${started().httpUrl}/lti/launch`,
      jwks_url: `${started().httpUrl}/lti/jwks`,
    });
    const again = await api('/api/lti/platforms', { method: 'POST', token: recruiterToken, body: lms.registration() });
    assert.equal(again.status, 200);
    assert.equal(again.json['created'], false);
    const list = await api('/api/lti/platforms', { token: recruiterToken });
    assert.equal((list.json['platforms'] as unknown[]).length, 1);

    const scoped = await started().staffToken('lti-scoped@example.org', 'recruiter', [testId]);
    assert.equal((await api('/api/lti/platforms', { method: 'POST', token: scoped, body: lms.registration() })).status, 403);
    const bad = await api('/api/lti/platforms', {
      method: 'POST',
      token: recruiterToken,
      body: { ...lms.registration(), jwks_url: 'ftp://x.example/jwks' },
    });
    assert.equal(bad.status, 400);
    assert.equal((bad.json['error'] as { code: string }).code, 'VALIDATION_FAILED');
    const insecure = await api('/api/lti/platforms', {
      method: 'POST',
      token: recruiterToken,
      body: { ...lms.registration(), issuer: 'http://lms.example.org' },
    });
    assert.equal(insecure.status, 400, 'plain http is refused outside the loopback interface');
    const jwks = (await (await fetch(`${started().httpUrl}/lti/jwks`)).json()) as {
      keys: { kty: string; alg: string; kid: string; d?: string }[];
    };
    assert.equal(jwks.keys.length, 1);
    assert.equal(jwks.keys[0]?.alg, 'RS256');
    assert.ok(!JSON.stringify(jwks).includes('"d"'), 'no private part is published');
  });

  test('a learner launches, takes the linked test, and the grade reaches the LMS through a line item the tool creates', async () => {
    const launched = await launch({ sub: 'learner-1', name: 'Ada Learner', roles: ROLES.learner, resourceLinkId: 'rl-1', testId });
    assert.equal(launched.status, 303, launched.body);
    assert.ok(launched.location.startsWith('/#lti&'), launched.location);
    const f = fragment(launched.location);
    assert.equal(f.get('test_id'), testId);
    assert.equal(f.get('name'), 'Ada Learner');
    const token = f.get('token') ?? '';
    const info = await api(`/api/tests/${testId}/info`, { token });
    assert.equal(info.status, 200, 'the token is a candidate token for the linked test');
    assert.equal((await api(`/api/tests/${otherTestId}/info`, { token })).status, 403, 'and for no other test');

    const { percent } = await takeTest(token);
    await until('the grade arrived', () => lms.scoresFor('learner-1').length > 0);
    const [score] = lms.scoresFor('learner-1');
    assert.equal(score?.scoreGiven, percent);
    assert.equal(score.scoreMaximum, 100);
    assert.equal(score.activityProgress, 'Completed');
    assert.equal(score.gradingProgress, 'FullyGraded');
    const item = [...lms.lineItems.values()].find((i) => i.resourceLinkId === 'rl-1');
    assert.ok(item !== undefined, 'the tool created a line item for the link');
    assert.equal(item.label, 'Quiz rl-1');
    assert.equal(item.resourceId, testId);
    assert.equal(lms.scores.find((s) => s.score.userId === 'learner-1')?.lineItem, item.id);
    assert.deepEqual(lms.violations, []);

    // Launching again is the same candidate: the finished assessment is not started again.
    const again = fragment((await launch({ sub: 'learner-1', roles: ROLES.learner, resourceLinkId: 'rl-1', testId })).location);
    assert.equal(again.get('user_id'), f.get('user_id'));
  });

  test('an instructor launches into the workspace as a recruiter of the linked test only', async () => {
    const launched = await launch({ sub: 'teacher-1', name: 'Tom Teacher', roles: ROLES.instructor, resourceLinkId: 'rl-1' });
    assert.equal(launched.status, 303, launched.body);
    assert.ok(launched.location.startsWith('/recruiter#lti&'), launched.location);
    const token = fragment(launched.location).get('token') ?? '';
    const results = await api(`/api/tests/${testId}/results`, { token });
    assert.equal(results.status, 200, 'the link was bound to the test by the first launch');
    assert.ok((results.json['results'] as unknown[]).length >= 1);
    assert.equal((await api(`/api/tests/${otherTestId}/results`, { token })).status, 403);
  });

  test('a link bound through the API, with the line item given in the launch', async () => {
    const platformId = ((await api('/api/lti/platforms', { token: recruiterToken })).json['platforms'] as { platform_id: string }[])[0]
      ?.platform_id;
    const bound = await api('/api/lti/links', {
      method: 'POST',
      token: recruiterToken,
      body: { platform_id: platformId, resource_link_id: 'rl-2', test_id: otherTestId },
    });
    assert.equal(bound.status, 200, JSON.stringify(bound.json));
    const launched = await launch({ sub: 'learner-2', roles: ROLES.learner, resourceLinkId: 'rl-2', withLineItem: true });
    const f = fragment(launched.location);
    assert.equal(f.get('test_id'), otherTestId);
    const { percent } = await takeTest(f.get('token') ?? '');
    await until('the grade arrived', () => lms.scoresFor('learner-2').length > 0);
    assert.equal(lms.scoresFor('learner-2')[0]?.scoreGiven, percent);
    assert.equal(lms.scores.find((s) => s.score.userId === 'learner-2')?.lineItem, `${lms.issuer}/lineitems/given-rl-2`);
    const unknown = await api('/api/lti/links', {
      method: 'POST',
      token: recruiterToken,
      body: { platform_id: 'ltp_none', resource_link_id: 'x', test_id: testId },
    });
    assert.equal(unknown.status, 404);
  });

  test('in a browser, a learner lands on the test and an instructor in the workspace, the token gone from the address', async () => {
    const browser = await launchChromium();
    try {
      // The platform's page posts its form by script, as LMSs do; the tool redirects to the page.
      const learner = await openPage(browser);
      await learner.page.goto(
        lms.loginUrl({ sub: 'learner-browser', name: 'Bea Browser', roles: ROLES.learner, resourceLinkId: 'rl-1', testId }),
      );
      await visible(learner.page, 'screen-intro');
      assert.match((await learner.page.textContent('body')) ?? '', /Quiz from the LMS/u);
      assert.equal(new URL(learner.page.url()).hash, '', 'the token left the address bar');
      assert.deepEqual(learner.problems.errors, []);
      const teacher = await openPage(browser);
      await teacher.page.goto(
        lms.loginUrl({ sub: 'teacher-browser', name: 'Tess Teacher', roles: ROLES.instructor, resourceLinkId: 'rl-1' }),
      );
      await visible(teacher.page, 'screen-tests');
      await teacher.page.waitForSelector('text=Quiz from the LMS');
      assert.equal(new URL(teacher.page.url()).pathname, '/recruiter');
      assert.equal(new URL(teacher.page.url()).hash, '');
      assert.doesNotMatch((await teacher.page.textContent('#screen-tests')) ?? '', /Another test/u, 'scoped to the linked test');
    } finally {
      await browser.close();
    }
  });

  test('in the workspace, a recruiter reads the tool URLs and registers an LMS with the form; a bad URL is refused in words', async () => {
    const browser = await launchChromium();
    try {
      const { page, problems } = await openPage(browser, 1200, 900);
      await page.goto(`${started().httpUrl}/recruiter`);
      await visible(page, 'screen-signin');
      await page.fill('#email', started().seed.recruiter.email);
      await page.fill('#password', started().seed.recruiter.password);
      await page.keyboard.press('Enter');
      await visible(page, 'screen-tests');
      await page.waitForSelector('#lti-tool dd');
      assert.deepEqual(await page.$$eval('#lti-tool dd', (dds) => dds.map((d) => d.textContent)), [
        `${started().httpUrl}/lti/login`,
        `${started().httpUrl}/lti/launch`,
        `${started().httpUrl}/lti/jwks`,
      ]);
      assert.match((await page.textContent('#lti-platforms')) ?? '', new RegExp(`issuer ${lms.issuer}, client id ${CLIENT_ID}`, 'u'));
      const fill = async (issuer: string) => {
        await page.fill('#lti-issuer', issuer);
        await page.fill('#lti-client', 'tool-2');
        await page.fill('#lti-deployments', 'd-1, d-2');
        await page.fill('#lti-jwks', 'https://lms2.example.edu/jwks');
        await page.fill('#lti-auth', 'https://lms2.example.edu/auth');
        await page.fill('#lti-token', 'https://lms2.example.edu/token');
        await page.click('#lti-button');
      };
      await fill('http://lms2.example.edu');
      await page.waitForSelector('#lti-error:not([hidden])');
      assert.match((await page.textContent('#lti-error')) ?? '', /not registered/u);
      await fill('https://lms2.example.edu');
      await page.waitForSelector('#lti-platforms li:nth-child(2)');
      assert.match(
        (await page.textContent('#lti-platforms')) ?? '',
        /issuer https:\/\/lms2\.example\.edu, client id tool-2, deployments d-1, d-2/u,
      );
      const platforms = (await api('/api/lti/platforms', { token: recruiterToken })).json['platforms'] as {
        issuer: string;
        deployment_ids: string[];
      }[];
      assert.deepEqual(platforms.find((p) => p.issuer === 'https://lms2.example.edu')?.deployment_ids, ['d-1', 'd-2']);
      await assertAccessible(page, 'recruiter workspace with the LMS panel');
      assert.deepEqual(problems.errors, []);
      assert.deepEqual(problems.csp, []);
    } finally {
      await browser.close();
    }
  });

  test('bad launches are refused with a page that says why, and nothing is issued', async () => {
    const base = { sub: 'mallory', roles: ROLES.learner, resourceLinkId: 'rl-1', testId };
    const cases: [string, LaunchOptions, number, RegExp][] = [
      ['wrong audience', { ...base, claims: { aud: 'another-tool' } }, 401, /another client id \(aud\)/u],
      [
        'expired',
        { ...base, claims: { exp: Math.floor(Date.now() / 1000) - 600, iat: Math.floor(Date.now() / 1000) - 900 } },
        401,
        /expired/u,
      ],
      [
        'unknown deployment',
        { ...base, claims: { 'https://purl.imsglobal.org/spec/lti/claim/deployment_id': 'rogue' } },
        403,
        /deployment rogue/u,
      ],
      ['another signer', { ...base, foreignKey: true }, 401, /signature|kid/u],
      [
        'deep linking',
        { ...base, claims: { 'https://purl.imsglobal.org/spec/lti/claim/message_type': 'LtiDeepLinkingRequest' } },
        400,
        /LtiResourceLinkRequest/u,
      ],
      ['LTI 1.1 version', { ...base, claims: { 'https://purl.imsglobal.org/spec/lti/claim/version': '1.1' } }, 400, /1\.3\.0/u],
      ['no role', { ...base, roles: ['http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor'] }, 403, /Learner or Instructor/u],
      ['unbound link', { ...base, resourceLinkId: 'rl-unbound', testId: undefined }, 404, /not bound to a test/u],
      ['unknown test', { ...base, resourceLinkId: 'rl-ghost', testId: 'no-such-test' }, 404, /./u],
    ];
    for (const [name, options, status, message] of cases) {
      const r = await launch(options);
      assert.equal(r.status, status, `${name}: ${r.body}`);
      assert.equal(r.location, '', `${name}: no redirect`);
      assert.match(r.body, message, name);
      assert.doesNotMatch(r.body, /<script/u, name);
    }
    // The same id_token and state again: the state was used.
    const good = await launch(base);
    assert.equal(good.status, 303);
    const replay = await post(good.idToken, good.state);
    assert.equal(replay.status, 401);
    assert.match(replay.body, /already used/u);
    // The same id_token with a fresh state of its own: the nonce is not the one of that login.
    const fresh = await fetch(lms.loginUrl(base), { redirect: 'manual' });
    const freshState = new URL(fresh.headers.get('location') ?? '').searchParams.get('state') ?? '';
    const crossed = await post(good.idToken, freshState);
    assert.equal(crossed.status, 401);
    assert.match(crossed.body, /nonce/u);
    // A login for a client id nobody registered, and a malformed launch form.
    const stranger = new URL(lms.loginUrl(base));
    stranger.searchParams.set('client_id', 'nobody');
    assert.equal((await fetch(stranger, { redirect: 'manual' })).status, 404);
    const empty = await fetch(`${started().httpUrl}/lti/launch`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'state=x',
    });
    assert.equal(empty.status, 400);
    assert.equal(CLIENT_ID, 'assessment-tool');
    assert.equal(DEPLOYMENT_ID, 'deployment-1');
  });

  test('while the LMS is down grades wait, and arrive once it is back', async () => {
    const learners = ['learner-3', 'learner-4'];
    const tokens = [];
    for (const sub of learners) {
      tokens.push(fragment((await launch({ sub, roles: ROLES.learner, resourceLinkId: 'rl-1', testId })).location).get('token') ?? '');
    }
    lms.mode = 'down';
    const refusedBefore = lms.refused;
    const percents = [];
    for (const token of tokens) percents.push((await takeTest(token)).percent);
    await until('the LMS refused a few attempts', () => lms.refused >= refusedBefore + 4);
    for (const sub of learners) assert.equal(lms.scoresFor(sub).length, 0);
    lms.mode = 'up';
    await until('both grades arrived', () => learners.every((sub) => lms.scoresFor(sub).length > 0));
    for (const [i, sub] of learners.entries()) {
      const scores = lms.scoresFor(sub);
      assert.equal(scores.length, 1, `${sub}: one score`);
      assert.equal(scores[0]?.scoreGiven, percents[i]);
    }
    assert.deepEqual(lms.violations, []);
  });

  test('login initiations from one address are limited: beyond the limit a page says to wait, and nothing is stored', async () => {
    const states = started().db.collection('lti_states');
    let accepted = 0;
    let refused: Response | undefined;
    for (let i = 0; i <= LOGIN_LIMIT && refused === undefined; i++) {
      const res = await fetch(lms.loginUrl({ sub: 'flood', roles: ROLES.learner, resourceLinkId: 'rl-1', testId }), { redirect: 'manual' });
      if (res.status === 303) accepted += 1;
      else refused = res;
    }
    assert.ok(refused !== undefined, `a login was refused within ${String(LOGIN_LIMIT + 1)}`);
    assert.equal(refused.status, 429);
    assert.match(await refused.text(), /too many LTI launches/u);
    assert.ok(accepted <= LOGIN_LIMIT, `${String(accepted)} accepted`);
    const stored = await states.countDocuments({});
    const again = await fetch(lms.loginUrl({ sub: 'flood', roles: ROLES.learner, resourceLinkId: 'rl-1', testId }), { redirect: 'manual' });
    assert.equal(again.status, 429);
    assert.equal(await states.countDocuments({}), stored, 'a refused login stores no state');
  });
});
