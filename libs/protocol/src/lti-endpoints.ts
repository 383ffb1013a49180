/** The LTI 1.3 endpoints of the auth service (`auth.v1.lti.*`), part of the registry in bus.ts. */
import { z } from 'zod';
import { idSchema, testIdSchema } from './common.ts';
import { AUTHORS, clientIpSchema, withCaller } from './endpoint-spec.ts';
import type { EndpointSpec } from './endpoint-spec.ts';
import { ltiLaunchFormSchema, ltiLoginQuerySchema, ltiPlatformSchema, ltiPlatformViewSchema } from './lti.ts';

export const ltiEndpoints = {
  ltiPlatformRegister: {
    subject: 'auth.v1.lti.platforms.register',
    roles: AUTHORS,
    /** Registers an LMS, or updates the registration of the same issuer and client id. */
    request: withCaller({ platform: ltiPlatformSchema }),
    response: z.object({ platform: ltiPlatformViewSchema, created: z.boolean() }),
  },
  ltiPlatformList: {
    subject: 'auth.v1.lti.platforms.list',
    roles: AUTHORS,
    request: withCaller({}),
    response: z.object({ platforms: z.array(ltiPlatformViewSchema) }),
  },
  ltiLinkBind: {
    subject: 'auth.v1.lti.links.bind',
    roles: AUTHORS,
    /** Binds a resource link of a registered platform to a test: its launches take (learners) or manage (instructors) that test. */
    request: withCaller({ platform_id: idSchema, resource_link_id: z.string().trim().min(1).max(255), test_id: testIdSchema }),
    response: z.object({ platform_id: idSchema, resource_link_id: z.string(), test_id: idSchema }),
  },
  ltiLogin: {
    subject: 'auth.v1.lti.login',
    /** The OIDC login initiation, with the tool's launch URL the gateway serves (`redirect_uri`). */
    request: ltiLoginQuerySchema.extend({ redirect_uri: z.url(), ip: clientIpSchema.optional() }).strict(),
    response: z.object({ redirect_url: z.string() }),
  },
  ltiLaunch: {
    subject: 'auth.v1.lti.launch',
    request: ltiLaunchFormSchema.extend({ ip: clientIpSchema.optional() }).strict(),
    /** A token for the linked test: a candidate's (Learner) or a recruiter's scoped to the test (Instructor). */
    response: z.object({
      role: z.enum(['candidate', 'recruiter']),
      token: z.string(),
      expires_at: z.string(),
      user_id: idSchema,
      test_id: idSchema,
      name: z.string(),
    }),
  },
  ltiJwks: {
    subject: 'auth.v1.lti.jwks',
    /** The tool's public keys, which sign its client assertions for grade return. */
    request: z.object({}).strict(),
    response: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }),
  },
} as const satisfies Record<string, EndpointSpec>;
