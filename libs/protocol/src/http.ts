import { z } from 'zod';
import { endpoints } from './bus.ts';
import { idSchema } from './common.ts';
import { ltiPlatformSchema, ltiPlatformViewSchema, ltiToolUrlsSchema } from './lti.ts';
import { recruiterTestSchema } from './recruiter.ts';

/** HTTP bodies accepted by the gateway's /api routes. */
export const httpBodies = {
  /** The client's address is the gateway's to add, so a body cannot carry `ip`. */
  login: endpoints.authLogin.request.omit({ ip: true }).strict(),
  redeem: endpoints.authRedeem.request.omit({ ip: true }).strict(),
  /** POST /api/tests/{test_id}/invitations: the invitation fields; the caller and test come from the token and path. */
  invite: endpoints.authInvite.request.omit({ caller: true, test_id: true }).strict(),
  /**
   * POST /api/tests: a test definition over items already in the bank (imported first with
   * POST /api/items/import); items are never written through this route.
   */
  createTest: endpoints.testCreate.request.omit({ caller: true, items: true }).strict(),
  /** POST /api/items/import: a bank file's text; every item is checked before any is stored. */
  importItems: endpoints.itemsImport.request.omit({ caller: true }).strict(),
  /** POST /api/lti/platforms: an LMS registration. */
  ltiPlatform: ltiPlatformSchema,
  /** POST /api/lti/links: a resource link of a registered platform bound to a test. */
  ltiLink: endpoints.ltiLinkBind.request.omit({ caller: true }).strict(),
} as const;

/** Replies of GET and POST /api/lti/platforms: the registrations, and the URLs to enter in the LMS. */
export const ltiPlatformsReplySchema = z.object({ platforms: z.array(ltiPlatformViewSchema), tool: ltiToolUrlsSchema });
export const ltiRegisterReplySchema = endpoints.ltiPlatformRegister.response.extend({ tool: ltiToolUrlsSchema });

/** Reply of GET /api/tests: the caller's tests, each with its invitation counts from auth. */
export const recruiterTestsSchema = z.object({
  tests: z.array(
    recruiterTestSchema.extend({
      /** Invitations created for the test. */
      invited: z.number().int().nonnegative(),
      /** Sign-ins with those invitations' codes (first uses). */
      invitation_uses: z.number().int().nonnegative(),
    }),
  ),
});

/** Query of GET /api/tests/{test_id}/report. */
export const reportQuerySchema = z.object({ assessment_id: idSchema }).strict();

/** Query of GET /api/tests/{test_id}/results. */
export const resultsQuerySchema = z
  .object({
    include_unfinished: z
      .enum(['true', 'false'])
      .default('false')
      .transform((v) => v === 'true'),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    after: idSchema.optional(),
  })
  .strict();

export const httpErrorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
