/**
 * LTI 1.3 (1EdTech Learning Tools Interoperability Core 1.3, with the Security Framework 1.0 and
 * Assignment and Grade Services 2.0): the claim names this platform reads, the roles it maps, the
 * platform registration and the messages of the launch, as the gateway and the auth service share them.
 */
import { z } from 'zod';
import { idSchema } from './common.ts';

export const LTI_VERSION = '1.3.0';
const CLAIM = 'https://purl.imsglobal.org/spec/lti/claim/';

/** The claims of an LTI 1.3 launch `id_token` that the tool reads. */
export const LTI_CLAIMS = {
  messageType: `${CLAIM}message_type`,
  version: `${CLAIM}version`,
  deploymentId: `${CLAIM}deployment_id`,
  targetLinkUri: `${CLAIM}target_link_uri`,
  resourceLink: `${CLAIM}resource_link`,
  roles: `${CLAIM}roles`,
  context: `${CLAIM}context`,
  custom: `${CLAIM}custom`,
  ags: 'https://purl.imsglobal.org/spec/lti-ags/claim/endpoint',
} as const;

/** The only message this tool accepts: a resource link launch (deep linking is not supported). */
export const LTI_RESOURCE_LINK_REQUEST = 'LtiResourceLinkRequest';

/** Assignment and Grade Services scopes. */
export const AGS_SCOPES = {
  score: 'https://purl.imsglobal.org/spec/lti-ags/scope/score',
  lineItem: 'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem',
  lineItemReadOnly: 'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly',
} as const;

/** Media types of AGS 2.0. */
export const AGS_MEDIA = {
  score: 'application/vnd.ims.lis.v1.score+json',
  lineItem: 'application/vnd.ims.lis.v2.lineitem+json',
  lineItemContainer: 'application/vnd.ims.lis.v2.lineitemcontainer+json',
} as const;

const MEMBERSHIP = 'http://purl.imsglobal.org/vocab/lis/v2/membership#';
const INSTITUTION = 'http://purl.imsglobal.org/vocab/lis/v2/institution/person#';
const SYSTEM = 'http://purl.imsglobal.org/vocab/lis/v2/system/person#';

/**
 * Roles that launch as a recruiter scoped to the linked test: context Instructor, ContentDeveloper
 * or Administrator (full URIs, or the short names LTI 1.3 allows for context roles), institution
 * and system administrators. Learner launches as the test's candidate; a launch with neither is refused.
 */
export const LTI_STAFF_ROLES: readonly string[] = [
  `${MEMBERSHIP}Instructor`,
  `${MEMBERSHIP}ContentDeveloper`,
  `${MEMBERSHIP}Administrator`,
  'Instructor',
  'ContentDeveloper',
  'Administrator',
  `${INSTITUTION}Administrator`,
  `${SYSTEM}Administrator`,
];
export const LTI_LEARNER_ROLES: readonly string[] = [`${MEMBERSHIP}Learner`, 'Learner'];

/** What an LTI launch makes of its roles: a recruiter of the linked test, its candidate, or neither. */
export function ltiRoleOf(roles: readonly string[]): 'recruiter' | 'candidate' | undefined {
  // Sub-roles (…#Instructor#TeachingAssistant) keep their principal role's meaning.
  const principal = roles.map((r) => {
    const hash = r.indexOf('#');
    const second = hash < 0 ? -1 : r.indexOf('#', hash + 1);
    return second < 0 ? r : r.slice(0, second);
  });
  if (principal.some((r) => LTI_STAFF_ROLES.includes(r))) return 'recruiter';
  if (principal.some((r) => LTI_LEARNER_ROLES.includes(r))) return 'candidate';
  return undefined;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** An https URL, or http on the loopback interface (a platform on the same machine, for trials and tests). */
export const platformUrlSchema = z
  .url({ protocol: /^https?$/u, error: 'must be an absolute http(s) URL' })
  .max(2048)
  // zod runs these after a failed URL check too: a string that is not a URL passes them, having failed already.
  .refine((u) => {
    const url = URL.parse(u);
    return url === null || url.protocol === 'https:' || LOOPBACK_HOSTS.has(url.hostname);
  }, 'must use https (http only on 127.0.0.1 or localhost)')
  .refine((u) => (URL.parse(u)?.hash ?? '') === '', 'must not have a fragment');

const opaque = z.string().trim().min(1).max(255);

/** A platform (an LMS) as a recruiter or admin registers it. */
export const ltiPlatformSchema = z
  .object({
    /** The platform's issuer (`iss` of its id_tokens), exactly as it sends it. */
    issuer: platformUrlSchema,
    /** The client id the platform gave this tool (`aud` of its id_tokens). */
    client_id: opaque,
    name: z.string().trim().max(200).default(''),
    /** The platform's public keys (JWKS). */
    jwks_url: platformUrlSchema,
    /** The platform's OIDC authorization endpoint, where the login initiation sends the browser. */
    auth_login_url: platformUrlSchema,
    /** The platform's OAuth 2 token endpoint, for grade return (client credentials with a signed JWT). */
    token_url: platformUrlSchema,
    /** The `aud` of the tool's client assertion when the platform wants one other than its token URL. */
    token_audience: opaque.optional(),
    /** The deployments of this tool on the platform; a launch from any other is refused. */
    deployment_ids: z.array(opaque).min(1).max(100),
  })
  .strict();
export type LtiPlatform = z.output<typeof ltiPlatformSchema>;

/** A registered platform as the API returns it. */
export const ltiPlatformViewSchema = ltiPlatformSchema.extend({
  platform_id: idSchema,
  created_at: z.string(),
  updated_at: z.string(),
});

/** The URLs to enter in the platform when registering this tool. */
export const ltiToolUrlsSchema = z.object({
  login_url: z.string(),
  launch_url: z.string(),
  jwks_url: z.string(),
});

/**
 * The third-party login initiation (OIDC), as the platform sends it with GET or a form POST to
 * /lti/login. Unknown parameters are ignored, as the specification requires.
 */
export const ltiLoginQuerySchema = z.object({
  iss: z.string().min(1).max(2048),
  login_hint: z.string().min(1).max(4096),
  target_link_uri: z.string().min(1).max(2048),
  lti_message_hint: z.string().max(4096).optional(),
  client_id: opaque.optional(),
  lti_deployment_id: opaque.optional(),
});

/** The form the platform posts to /lti/launch (`response_mode=form_post`). */
export const ltiLaunchFormSchema = z.object({
  id_token: z.string().min(1).max(32_768),
  state: z.string().min(1).max(256),
});

/** The grade an assessment gives: points of a maximum (what AGS sends as `scoreGiven`/`scoreMaximum`). */
export const gradeSchema = z.object({
  given: z.number().min(0),
  maximum: z.number().positive(),
});
export type Grade = z.infer<typeof gradeSchema>;
