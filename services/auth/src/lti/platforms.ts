import { AppError, staffMaySee } from '@ap/protocol';
import type { Caller, ParsedRequestOf, ResponseOf } from '@ap/protocol';
import type { z } from 'zod';
import type { ltiPlatformViewSchema } from '@ap/protocol';
import type { AuthContext, HandlerTable } from '../context.ts';
import type { LtiParts } from './launch.ts';
import { keyWithin, platformIdOf } from './store.ts';
import type { LinkDoc, PlatformDoc } from './store.ts';

// How long an invitation-style lookup of the test waits for the assessment service.
const TEST_LOOKUP_TIMEOUT_MS = 3000;
const MAX_PLATFORMS = 500;

/** What recruiters and admins do with LTI: register platforms, list them, bind resource links to tests. */
export function ltiPlatformHandlers(ctx: AuthContext, lti: LtiParts): HandlerTable {
  return {
    ltiPlatformRegister: (req) => register(ctx, lti, req),
    ltiPlatformList: async () => {
      const docs = await lti.col.platforms.find({}).sort({ created_at: 1 }).limit(MAX_PLATFORMS).toArray();
      return { platforms: docs.map(platformView) };
    },
    ltiLinkBind: (req) => bind(ctx, lti, req),
  };
}

export function platformView(p: PlatformDoc): z.output<typeof ltiPlatformViewSchema> {
  const { _id, created_by: _by, created_at, updated_at, ...registration } = p;
  return { ...registration, platform_id: _id, created_at: created_at.toISOString(), updated_at: updated_at.toISOString() };
}

/** A platform reaches every test: only admins and recruiters not restricted to some tests may register one. */
function requireUnscoped(caller: Caller): void {
  if (caller.role !== 'admin' && caller.tests !== undefined) {
    throw new AppError('FORBIDDEN', 'a recruiter restricted to some tests cannot register an LMS; ask an admin');
  }
}

async function register(
  ctx: AuthContext,
  lti: LtiParts,
  req: ParsedRequestOf<'ltiPlatformRegister'>,
): Promise<ResponseOf<'ltiPlatformRegister'>> {
  requireUnscoped(req.caller);
  const p = req.platform;
  const id = platformIdOf(p.issuer, p.client_id);
  const now = ctx.clock();
  const existing = await lti.col.platforms.findOne({ _id: id });
  const doc: PlatformDoc = {
    ...p,
    _id: id,
    deployment_ids: [...new Set(p.deployment_ids)],
    created_by: existing?.created_by ?? req.caller.user_id,
    created_at: existing?.created_at ?? now,
    updated_at: now,
  };
  await lti.col.platforms.replaceOne({ _id: id }, doc, { upsert: true });
  lti.forgetPlatform(id);
  ctx.log.info({ platform_id: id, issuer: p.issuer, by: req.caller.user_id, created: existing === null }, 'LTI platform registered');
  return { platform: platformView(doc), created: existing === null };
}

async function bind(ctx: AuthContext, lti: LtiParts, req: ParsedRequestOf<'ltiLinkBind'>): Promise<ResponseOf<'ltiLinkBind'>> {
  const { caller } = req;
  if (!staffMaySee(caller, req.test_id)) throw new AppError('FORBIDDEN', 'not allowed to bind links to this test');
  const platform = await lti.col.platforms.findOne({ _id: req.platform_id });
  if (platform === null) throw new AppError('NOT_FOUND', `no LTI platform ${req.platform_id}`);
  await ctx.bus.request('testGet', { caller, test_id: req.test_id }, { timeoutMs: TEST_LOOKUP_TIMEOUT_MS });
  const id = keyWithin(platform._id, req.resource_link_id);
  const existing = await lti.col.links.findOne({ _id: id });
  if (existing !== null && existing.test_id !== req.test_id && !staffMaySee(caller, existing.test_id)) {
    throw new AppError('FORBIDDEN', 'this link is bound to a test you may not see');
  }
  const doc: LinkDoc = {
    _id: id,
    platform_id: platform._id,
    resource_link_id: req.resource_link_id,
    test_id: req.test_id,
    created_by: caller.user_id,
    created_at: ctx.clock(),
  };
  await lti.col.links.replaceOne({ _id: id }, doc, { upsert: true });
  return { platform_id: platform._id, resource_link_id: req.resource_link_id, test_id: req.test_id };
}
