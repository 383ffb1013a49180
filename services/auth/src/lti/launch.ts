import { randomBytes, randomUUID } from 'node:crypto';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify } from 'jose';
import type { JWTPayload } from 'jose';
import { z } from 'zod';
import { isDuplicateKey } from '@ap/db';
import {
  AppError,
  LTI_CLAIMS,
  LTI_RESOURCE_LINK_REQUEST,
  LTI_VERSION,
  cleanDisplayName,
  idSchema,
  ltiRoleOf,
  platformUrlSchema,
} from '@ap/protocol';
import type { ParsedRequestOf, ResponseOf } from '@ap/protocol';
import type { AuthContext, HandlerTable } from '../context.ts';
import { addressKey, createThrottle, takeAttempts } from '../throttle.ts';
import { signToken } from '../tokens.ts';
import { keyWithin, platformIdOf } from './store.ts';
import type { GradeTargetDoc, LtiCollections, PlatformDoc, StateDoc } from './store.ts';
import type { ToolKey } from './tool-key.ts';

/** The LTI parts of the auth service: its collections, the tool's key, and the platforms' key sets. */
export type LtiParts = {
  col: LtiCollections;
  toolKey: () => Promise<ToolKey>;
  jwksFor(platform: PlatformDoc): ReturnType<typeof createRemoteJWKSet>;
  /** Drops what is cached of a platform whose registration changed. */
  forgetPlatform(platformId: string): void;
};

/** How long a login initiation waits for its launch. */
const STATE_TTL_MS = 10 * 60_000;
/** Clock difference allowed with the platform. */
const CLOCK_TOLERANCE_S = 60;
/** An id_token older than this (by `iat`) is refused, whatever its `exp`. */
const MAX_TOKEN_AGE_S = 10 * 60;
const PURGE_EVERY_MS = 60_000;
// The system caller the launch checks the test with (the launch itself is the authorization).
const LAUNCH_CALLER = { user_id: 'lti-launch', role: 'admin' as const };
const TEST_LOOKUP_TIMEOUT_MS = 3000;

/** Creates the LTI parts: the platforms' JWKS are fetched when a launch needs them and cached by jose. */
export function createLtiParts(col: LtiCollections, toolKey: () => Promise<ToolKey>): LtiParts {
  const jwks = new Map<string, { url: string; set: ReturnType<typeof createRemoteJWKSet> }>();
  return {
    col,
    toolKey,
    jwksFor(platform) {
      const cached = jwks.get(platform._id);
      if (cached?.url === platform.jwks_url) return cached.set;
      const set = createRemoteJWKSet(new URL(platform.jwks_url), { timeoutDuration: 5000, cooldownDuration: 30_000, cacheMaxAge: 600_000 });
      jwks.set(platform._id, { url: platform.jwks_url, set });
      return set;
    },
    forgetPlatform(platformId) {
      jwks.delete(platformId);
    },
  };
}

/** The launch: OIDC login initiation, the launch itself, and the tool's public keys. */
export function ltiLaunchHandlers(ctx: AuthContext, lti: LtiParts): HandlerTable {
  // Each login stores a state until it is used or expires: a client address may start only so many
  // (LTI_LOGIN_LIMIT per minute; a classroom behind one address launching together stays below it).
  const loginsPerAddress = createThrottle(ctx.config.limits.ltiLoginsPerAddress, { now: () => ctx.clock().getTime() });
  let lastPurge = 0;
  async function purge(): Promise<void> {
    const now = ctx.clock();
    if (now.getTime() - lastPurge < PURGE_EVERY_MS) return;
    lastPurge = now.getTime();
    // A scan of two small collections, once a minute at most, off the launch's reply.
    await lti.col.states.deleteMany({ expires_at: { $lt: now } });
    await lti.col.nonces.deleteMany({ expires_at: { $lt: now } });
  }
  return {
    ltiLogin: async (req) => {
      if (req.ip !== undefined) {
        takeAttempts([[loginsPerAddress, `ip:${addressKey(req.ip)}`]], 'too many LTI launches from this address; try again in a minute');
      }
      const reply = await login(ctx, lti, req);
      void purge().catch((err: unknown) => ctx.log.warn({ err }, 'expired LTI states not purged'));
      return reply;
    },
    ltiLaunch: (req) => launch(ctx, lti, req),
    ltiJwks: async () => ({ keys: [{ ...(await lti.toolKey()).publicJwk }] }),
  };
}

async function platformOfLogin(lti: LtiParts, iss: string, clientId: string | undefined): Promise<PlatformDoc> {
  if (clientId !== undefined) {
    const p = await lti.col.platforms.findOne({ _id: platformIdOf(iss, clientId) });
    if (p === null) throw new AppError('NOT_FOUND', `no LTI platform is registered with issuer ${iss} and client id ${clientId}`);
    return p;
  }
  const candidates = await lti.col.platforms.find({ issuer: iss }).limit(2).toArray();
  const [only, other] = candidates;
  if (only === undefined) throw new AppError('NOT_FOUND', `no LTI platform is registered with issuer ${iss}`);
  if (other !== undefined) {
    throw new AppError('VALIDATION_FAILED', 'several registrations share this issuer: the login initiation must send client_id');
  }
  return only;
}

async function login(ctx: AuthContext, lti: LtiParts, req: ParsedRequestOf<'ltiLogin'>): Promise<ResponseOf<'ltiLogin'>> {
  const platform = await platformOfLogin(lti, req.iss, req.client_id);
  if (req.lti_deployment_id !== undefined && !platform.deployment_ids.includes(req.lti_deployment_id)) {
    throw new AppError('FORBIDDEN', `deployment ${req.lti_deployment_id} is not registered for this platform`);
  }
  let target: URL;
  try {
    target = new URL(req.target_link_uri);
  } catch {
    throw new AppError('VALIDATION_FAILED', 'target_link_uri is not a URL');
  }
  if (target.origin !== new URL(req.redirect_uri).origin) {
    throw new AppError('VALIDATION_FAILED', `target_link_uri must be a URL of this tool (${new URL(req.redirect_uri).origin})`);
  }
  const state: StateDoc = {
    _id: randomBytes(24).toString('base64url'),
    platform_id: platform._id,
    nonce: randomBytes(24).toString('base64url'),
    target_link_uri: req.target_link_uri,
    expires_at: new Date(ctx.clock().getTime() + STATE_TTL_MS),
  };
  await lti.col.states.insertOne(state);
  const url = new URL(platform.auth_login_url);
  const params: Record<string, string> = {
    scope: 'openid',
    response_type: 'id_token',
    response_mode: 'form_post',
    prompt: 'none',
    client_id: platform.client_id,
    redirect_uri: req.redirect_uri,
    login_hint: req.login_hint,
    state: state._id,
    nonce: state.nonce,
    ...(req.lti_message_hint === undefined ? {} : { lti_message_hint: req.lti_message_hint }),
  };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return { redirect_url: url.toString() };
}

/** Takes the state of a launch: it exists, it was not used, it has not expired. */
async function takeState(ctx: AuthContext, lti: LtiParts, id: string): Promise<StateDoc> {
  const state = await lti.col.states.findOne({ _id: id });
  // Deleting it is the claim: of two launches with one state, one deletes it and the other is refused.
  const taken = state === null ? 0 : (await lti.col.states.deleteOne({ _id: id })).deletedCount;
  if (state === null || taken !== 1) {
    throw new AppError('AUTH_INVALID', 'unknown or already used launch state: open the activity again from the course');
  }
  if (state.expires_at.getTime() <= ctx.clock().getTime()) {
    throw new AppError('AUTH_INVALID', 'the launch took more than 10 minutes: open the activity again from the course');
  }
  return state;
}

/** A jose refusal as the caller should read it. */
function refusal(err: unknown): AppError {
  if (err instanceof joseErrors.JWTExpired) return new AppError('AUTH_INVALID', 'the launch id_token has expired (exp)');
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    const what: Record<string, string> = {
      aud: 'is for another client id (aud)',
      iss: 'comes from another issuer (iss)',
      iat: 'was issued too long ago or in the future (iat)',
      nbf: 'is not valid yet (nbf)',
    };
    return new AppError('AUTH_INVALID', `the launch id_token ${what[err.claim] ?? `has a bad ${err.claim} claim`}`);
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return new AppError('AUTH_INVALID', 'the launch id_token must be signed with RS256');
  if (err instanceof joseErrors.JWSSignatureVerificationFailed)
    return new AppError('AUTH_INVALID', 'the launch id_token signature does not verify');
  if (err instanceof joseErrors.JWKSNoMatchingKey)
    return new AppError('AUTH_INVALID', "no key of the platform's JWKS matches the id_token (kid)");
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid || err instanceof TypeError) {
    return new AppError('SERVICE_UNAVAILABLE', "the platform's JWKS could not be read; try again");
  }
  if (err instanceof joseErrors.JOSEError) return new AppError('AUTH_INVALID', `the launch id_token is not valid (${err.code})`);
  return new AppError('SERVICE_UNAVAILABLE', "the platform's JWKS could not be read; try again");
}

const optionalText = z.string().max(500).optional().catch(undefined);
/** The claims of a resource link launch, after the signature and the registered claims verified. */
const launchClaimsSchema = z.object({
  sub: z.string().min(1).max(255),
  nonce: z.string().min(1).max(1024),
  azp: z.string().optional(),
  name: optionalText,
  given_name: optionalText,
  family_name: optionalText,
  email: optionalText,
  [LTI_CLAIMS.deploymentId]: z.string().min(1).max(255),
  [LTI_CLAIMS.targetLinkUri]: z.string().min(1).max(2048),
  [LTI_CLAIMS.resourceLink]: z.object({ id: z.string().min(1).max(255), title: optionalText }),
  [LTI_CLAIMS.roles]: z.array(z.string().max(512)).max(100),
  [LTI_CLAIMS.custom]: z.record(z.string(), z.unknown()).optional(),
  [LTI_CLAIMS.ags]: z
    .object({
      scope: z.array(z.string()).max(20).default([]),
      lineitems: platformUrlSchema.optional(),
      lineitem: platformUrlSchema.optional(),
    })
    .optional(),
});
type LaunchClaims = z.output<typeof launchClaimsSchema>;

/** Verifies the id_token: signature by the platform's keys, iss, aud (and azp), exp, iat, then the LTI claims. */
async function verifyLaunch(lti: LtiParts, platform: PlatformDoc, idToken: string, state: StateDoc): Promise<LaunchClaims> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(idToken, lti.jwksFor(platform), {
      issuer: platform.issuer,
      audience: platform.client_id,
      algorithms: ['RS256'],
      clockTolerance: CLOCK_TOLERANCE_S,
      maxTokenAge: MAX_TOKEN_AGE_S,
      requiredClaims: ['exp', 'iat', 'nonce'],
    }));
  } catch (err) {
    throw refusal(err);
  }
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if ((audiences.length > 1 || payload['azp'] !== undefined) && payload['azp'] !== platform.client_id) {
    throw new AppError('AUTH_INVALID', 'the launch id_token names another authorized party (azp)');
  }
  if (payload['nonce'] !== state.nonce) throw new AppError('AUTH_INVALID', 'the launch nonce does not match its login');
  if (payload[LTI_CLAIMS.messageType] !== LTI_RESOURCE_LINK_REQUEST) {
    throw new AppError(
      'VALIDATION_FAILED',
      `only ${LTI_RESOURCE_LINK_REQUEST} launches are supported (got ${String(payload[LTI_CLAIMS.messageType])})`,
    );
  }
  if (payload[LTI_CLAIMS.version] !== LTI_VERSION) {
    throw new AppError('VALIDATION_FAILED', `only LTI ${LTI_VERSION} launches are supported (got ${String(payload[LTI_CLAIMS.version])})`);
  }
  const claims = launchClaimsSchema.safeParse(payload);
  if (!claims.success) {
    const issue = claims.error.issues[0];
    throw new AppError('VALIDATION_FAILED', `the launch lacks a required claim: ${issue?.path.join('.') ?? ''} (${issue?.message ?? ''})`);
  }
  return claims.data;
}

/** The test a launch's resource link stands for: its binding, or the custom parameter `test_id` (bound then). */
async function testOfLink(ctx: AuthContext, lti: LtiParts, platform: PlatformDoc, claims: LaunchClaims): Promise<string> {
  const linkId = claims[LTI_CLAIMS.resourceLink].id;
  const key = keyWithin(platform._id, linkId);
  const bound = await lti.col.links.findOne({ _id: key });
  let testId = bound?.test_id;
  if (testId === undefined) {
    const custom = claims[LTI_CLAIMS.custom]?.['test_id'];
    const parsed = idSchema.safeParse(typeof custom === 'number' ? String(custom) : custom);
    if (!parsed.success) {
      throw new AppError(
        'NOT_FOUND',
        'this course link is not bound to a test: bind it (POST /api/lti/links) or give it the custom parameter test_id',
      );
    }
    testId = parsed.data;
  }
  await ctx.bus.request('testGet', { caller: LAUNCH_CALLER, test_id: testId }, { timeoutMs: TEST_LOOKUP_TIMEOUT_MS });
  if (bound === null) {
    const doc = {
      _id: key,
      platform_id: platform._id,
      resource_link_id: linkId,
      test_id: testId,
      created_by: LAUNCH_CALLER.user_id,
      created_at: ctx.clock(),
    };
    await lti.col.links.insertOne(doc).catch((err: unknown) => {
      if (!isDuplicateKey(err)) throw err;
    });
  }
  return testId;
}

function nameOf(claims: LaunchClaims): string {
  const full = claims.name ?? [claims.given_name, claims.family_name].filter((s) => s !== undefined).join(' ');
  const name = cleanDisplayName(full);
  return name.length > 0 ? name : cleanDisplayName(claims.email ?? '');
}

/** The user id of a platform's person, made on their first launch. */
async function userOf(
  ctx: AuthContext,
  lti: LtiParts,
  platform: PlatformDoc,
  claims: LaunchClaims,
): Promise<{ userId: string; name: string }> {
  const id = keyWithin(platform._id, claims.sub);
  const name = nameOf(claims);
  const existing = await lti.col.users.findOne({ _id: id });
  if (existing !== null) {
    if (name.length > 0 && name !== existing.name) await lti.col.users.updateOne({ _id: id }, { $set: { name } });
    return { userId: existing.user_id, name: name.length > 0 ? name : existing.name };
  }
  const doc = {
    _id: id,
    platform_id: platform._id,
    sub: claims.sub,
    user_id: randomUUID(),
    name,
    ...(claims.email === undefined ? {} : { email: claims.email }),
    created_at: ctx.clock(),
  };
  try {
    await lti.col.users.insertOne(doc);
    return { userId: doc.user_id, name };
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    const winner = await lti.col.users.findOne({ _id: id });
    if (winner === null) throw err;
    return { userId: winner.user_id, name };
  }
}

/** Records where the learner's grade for the test goes, keeping the application id across launches. */
async function recordGradeTarget(
  ctx: AuthContext,
  lti: LtiParts,
  platform: PlatformDoc,
  claims: LaunchClaims,
  userId: string,
  testId: string,
): Promise<GradeTargetDoc> {
  const id = `${userId}:${testId}`;
  const existing = await lti.col.grades.findOne({ _id: id });
  const ags = claims[LTI_CLAIMS.ags];
  const link = claims[LTI_CLAIMS.resourceLink];
  const lineitem = ags?.lineitem ?? (existing?.resource_link_id === link.id ? existing.lineitem : undefined);
  const doc: GradeTargetDoc = {
    ...(existing?.last_grade === undefined ? {} : { last_grade: existing.last_grade }),
    _id: id,
    platform_id: platform._id,
    sub: claims.sub,
    test_id: testId,
    application_id: existing?.application_id ?? randomUUID(),
    resource_link_id: link.id,
    ...(link.title === undefined ? {} : { resource_link_title: link.title }),
    ...(lineitem === undefined ? {} : { lineitem }),
    ...(ags?.lineitems === undefined ? {} : { lineitems: ags.lineitems }),
    scopes: ags?.scope ?? [],
    updated_at: ctx.clock(),
  };
  await lti.col.grades.replaceOne({ _id: id }, doc, { upsert: true });
  return doc;
}

async function launch(ctx: AuthContext, lti: LtiParts, req: ParsedRequestOf<'ltiLaunch'>): Promise<ResponseOf<'ltiLaunch'>> {
  const state = await takeState(ctx, lti, req.state);
  const platform = await lti.col.platforms.findOne({ _id: state.platform_id });
  if (platform === null) throw new AppError('AUTH_INVALID', 'the platform of this launch is no longer registered');
  const claims = await verifyLaunch(lti, platform, req.id_token, state);
  const deployment = claims[LTI_CLAIMS.deploymentId];
  if (!platform.deployment_ids.includes(deployment)) {
    throw new AppError('FORBIDDEN', `deployment ${deployment} is not registered for this platform`);
  }
  if (claims[LTI_CLAIMS.targetLinkUri] !== state.target_link_uri) {
    throw new AppError('AUTH_INVALID', 'the launch target_link_uri differs from its login initiation');
  }
  // Single use beyond the state: a nonce seen before is a replay, even through another login.
  const expires = new Date((Math.floor(ctx.clock().getTime() / 1000) + MAX_TOKEN_AGE_S + CLOCK_TOLERANCE_S) * 1000);
  try {
    await lti.col.nonces.insertOne({ _id: keyWithin(platform._id, claims.nonce), expires_at: expires });
  } catch (err) {
    if (isDuplicateKey(err)) throw new AppError('AUTH_INVALID', 'this launch was already used (nonce replayed)');
    throw err;
  }
  const role = ltiRoleOf(claims[LTI_CLAIMS.roles]);
  if (role === undefined) throw new AppError('FORBIDDEN', 'the launch has no Learner or Instructor role');
  const testId = await testOfLink(ctx, lti, platform, claims);
  const { userId, name } = await userOf(ctx, lti, platform, claims);
  const now = ctx.clock();
  const key = await ctx.keyRing.signingKey();
  const target = role === 'candidate' ? await recordGradeTarget(ctx, lti, platform, claims, userId, testId) : undefined;
  const issued = await signToken(
    key,
    { userId, role, tests: [testId], name, ...(target === undefined ? {} : { applicationId: target.application_id }) },
    now,
    role === 'candidate' ? ctx.config.candidateTokenTtlS : ctx.config.tokenTtlS,
  );
  ctx.log.info({ platform_id: platform._id, deployment, user_id: userId, role, test_id: testId, ip: req.ip }, 'LTI launch');
  return { role, token: issued.token, expires_at: issued.expiresAt.toISOString(), user_id: userId, test_id: testId, name };
}
