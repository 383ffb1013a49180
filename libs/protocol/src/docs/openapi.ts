import { z } from 'zod';
import { endpoints } from '../bus.ts';
import { errorBodySchema, idSchema } from '../common.ts';
import { httpBodies, ltiPlatformsReplySchema, ltiRegisterReplySchema, recruiterTestsSchema, reportQuerySchema, resultsQuerySchema } from '../http.ts';
import { ltiLaunchFormSchema, ltiLoginQuerySchema } from '../lti.ts';
import { qtiImportQuerySchema, qtiImportResponseSchema } from '../qti-import.ts';
import { errorCodeList } from './asyncapi.ts';
import { jsonSchema } from './json-schema.ts';

type Json = Record<string, unknown>;

const schema = (s: z.ZodType, io: 'input' | 'output'): Json => jsonSchema(s, { io, target: 'draft-2020-12' });
const jsonContent = (s: z.ZodType): Json => ({ 'application/json': { schema: schema(s, 'output') } });
const errorResponse = (description: string): Json => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});
const statusSchema = (values: readonly [string, ...string[]]) => z.object({ status: z.enum(values) });

/** The gateway's HTTP routes (method and path template); the gateway test checks its route table against this list. */
export const HTTP_ROUTES = [
  'GET /healthz',
  'GET /readyz',
  'POST /api/auth/login',
  'POST /api/auth/invitations/redeem',
  'GET /api/tests/{test_id}/info',
  'GET /api/tests/{test_id}/results',
  'POST /api/tests/{test_id}/invitations',
  'GET /api/tests',
  'POST /api/tests',
  'POST /api/items/import',
  'GET /api/tests/{test_id}/items',
  'GET /api/tests/{test_id}/report',
  'GET /api/lti/platforms',
  'POST /api/lti/platforms',
  'POST /api/lti/links',
  'GET /lti/login',
  'POST /lti/login',
  'POST /lti/launch',
  'GET /lti/jwks',
  'GET /asyncapi.yaml',
  'GET /openapi.yaml',
  'GET /',
  'GET /proctor',
  'GET /recruiter',
] as const;

const testIdParameter = {
  name: 'test_id',
  in: 'path',
  required: true,
  schema: schema(idSchema, 'input'),
};

/** Query parameters of a QTI upload to POST /api/items/import (ignored with a JSON bank). */
function qtiQueryParameters(): Json[] {
  const shape: Record<string, z.ZodType> = qtiImportQuerySchema.shape;
  return Object.keys(shape).map((name) => ({ name, in: 'query', required: false, schema: schema(shape[name] ?? z.never(), 'input') }));
}

/** Query parameters of a route, from its zod schema. */
function queryParameters(query: typeof resultsQuerySchema | typeof reportQuerySchema, required: boolean): Json[] {
  const shape: Record<string, z.ZodType> = query.shape;
  return Object.keys(shape).map((name) => ({
    name,
    in: 'query',
    required,
    schema: schema(shape[name] ?? z.never(), 'input'),
  }));
}

/** Query parameters of GET /api/tests/{test_id}/results, from its zod schema. */
function resultsQueryParameters(): Json[] {
  return queryParameters(resultsQuerySchema, false);
}

/** The routes of the recruiter's workspace: tests, bank import, item statistics, one assessment's report. */
function recruiterPaths(): Record<string, Json> {
  const staffErrors = {
    '401': errorResponse('AUTH_REQUIRED or AUTH_INVALID: no valid bearer token.'),
    '403': errorResponse('FORBIDDEN: candidates and proctors, or recruiters outside the test.'),
    ...commonErrors,
  };
  return {
    '/api/tests': {
      get: {
        summary:
          'The tests the caller may see, newest first, with invitations, assessments started and finished, and the mean score ' +
          '(recruiters and admins; a scan, read when the workspace opens).',
        tags: ['tests'],
        security: [{ bearer: [] }],
        responses: { '200': { description: 'the tests', content: jsonContent(recruiterTestsSchema) }, ...staffErrors },
      },
      post: {
        summary: 'Create a test from its definition over items already in the bank (import them first with POST /api/items/import).',
        tags: ['tests'],
        security: [{ bearer: [] }],
        requestBody: requestBody(httpBodies.createTest),
        responses: { '201': { description: 'the test', content: jsonContent(endpoints.testCreate.response) }, ...staffErrors },
      },
    },
    '/api/items/import': {
      post: {
        summary:
          'Import a bank file (JSON or YAML text): every item is checked first; with any error nothing is stored and ' +
          '`details.errors` lists each `{item, field, message}`. An item id that exists with other content is an error (an import ' +
          'from here never changes the items of existing tests). A QTI 3.0 or 2.1 content package (`application/zip`, at most ' +
          '8 MiB) or item document (`application/xml` or `text/xml`, at most 1 MiB) is converted to a bank and imported the same ' +
          'way; an item outside the supported subset refuses the upload (`details.errors` lists each `{item, file, reason}`) ' +
          'unless `skip_unsupported=true`, which imports the rest and lists them in `skipped`. A DOCTYPE refuses the upload.',
        tags: ['tests'],
        security: [{ bearer: [] }],
        parameters: qtiQueryParameters(),
        requestBody: {
          required: true,
          content: {
            'application/json': { schema: schema(httpBodies.importItems, 'input') },
            'application/zip': { schema: { type: 'string', contentMediaType: 'application/zip' } },
            'application/xml': { schema: { type: 'string', contentMediaType: 'application/xml' } },
            'text/xml': { schema: { type: 'string', contentMediaType: 'text/xml' } },
          },
        },
        responses: {
          '200': {
            description: 'the imported item ids (and, for a QTI upload, the items left out)',
            content: jsonContent(qtiImportResponseSchema.partial({ skipped: true })),
          },
          ...staffErrors,
        },
      },
    },
    '/api/tests/{test_id}/items': {
      get: {
        summary: "Statistics of a test's items from its finished assessments: exposure, proportion correct, mean time, IRT parameters.",
        tags: ['tests'],
        security: [{ bearer: [] }],
        parameters: [testIdParameter],
        responses: {
          '200': { description: 'item statistics', content: jsonContent(endpoints.itemStats.response) },
          '404': errorResponse('NOT_FOUND: no such test.'),
          ...staffErrors,
        },
      },
    },
    '/api/tests/{test_id}/report': {
      get: {
        summary: "One assessment's report: result, θ trace on adaptive tests, answers with correctness, incidents and staff actions.",
        tags: ['tests'],
        security: [{ bearer: [] }],
        parameters: [testIdParameter, ...queryParameters(reportQuerySchema, true)],
        responses: {
          '200': { description: 'the report', content: jsonContent(endpoints.assessmentReport.response) },
          '404': errorResponse('NOT_FOUND: no such assessment in this test.'),
          ...staffErrors,
        },
      },
    },
  };
}

/** LTI 1.3: platform registration and link binding (recruiters, admins), and the tool's browser routes. */
function ltiPaths(): Record<string, Json> {
  const staffErrors = {
    '401': errorResponse('AUTH_REQUIRED or AUTH_INVALID: no valid bearer token.'),
    '403': errorResponse('FORBIDDEN: not a recruiter or admin (registering a platform: not restricted to some tests).'),
    ...commonErrors,
  };
  const loginParameters = (): Json[] =>
    Object.entries(ltiLoginQuerySchema.shape as Record<string, z.ZodType>).map(([name, s]) => ({
      name,
      in: 'query',
      required: !s.safeParse(undefined).success,
      schema: schema(s, 'input'),
    }));
  const refusedPage = { description: 'a page saying why the launch was refused (status per the error code)', content: { 'text/html': {} } };
  const form = (s: z.ZodType): Json => ({ required: true, content: { 'application/x-www-form-urlencoded': { schema: schema(s, 'input') } } });
  return {
    '/api/lti/platforms': {
      get: {
        summary: 'The registered LMS platforms, and the URLs of this tool to enter in an LMS.',
        tags: ['lti'],
        security: [{ bearer: [] }],
        responses: { '200': { description: 'platforms and tool URLs', content: jsonContent(ltiPlatformsReplySchema) }, ...staffErrors },
      },
      post: {
        summary:
          'Register an LMS (LTI 1.3 platform): issuer, client id, JWKS, OIDC authorization and token endpoints, deployment ids. ' +
          'Registering the same issuer and client id again updates it.',
        tags: ['lti'],
        security: [{ bearer: [] }],
        requestBody: requestBody(httpBodies.ltiPlatform),
        responses: {
          '201': { description: 'registered', content: jsonContent(ltiRegisterReplySchema) },
          '200': { description: 'updated', content: jsonContent(ltiRegisterReplySchema) },
          ...staffErrors,
        },
      },
    },
    '/api/lti/links': {
      post: {
        summary:
          "Bind a resource link of a registered platform to a test (otherwise a link's custom parameter `test_id` binds it on its first launch).",
        tags: ['lti'],
        security: [{ bearer: [] }],
        requestBody: requestBody(httpBodies.ltiLink),
        responses: {
          '200': { description: 'the binding', content: jsonContent(endpoints.ltiLinkBind.response) },
          '404': errorResponse('NOT_FOUND: no such platform or test.'),
          ...staffErrors,
        },
      },
    },
    '/lti/login': {
      get: {
        summary: 'OIDC third-party login initiation from an LMS: redirects the browser to the platform with a single-use state and nonce.',
        tags: ['lti'],
        parameters: loginParameters(),
        responses: { '303': { description: "to the platform's authorization endpoint" }, '4XX': refusedPage },
      },
      post: {
        summary: 'The same login initiation as a form post.',
        tags: ['lti'],
        requestBody: form(ltiLoginQuerySchema),
        responses: { '303': { description: "to the platform's authorization endpoint" }, '4XX': refusedPage },
      },
    },
    '/lti/launch': {
      post: {
        summary:
          "The launch (`id_token` and `state`, form_post): verified against the platform's JWKS (RS256, iss, aud, azp, exp, iat, " +
          'single-use nonce and state, deployment, message type, version); a Learner goes to the candidate page, an Instructor to the ' +
          "recruiter's workspace scoped to the linked test, with a token in the URL fragment.",
        tags: ['lti'],
        requestBody: form(ltiLaunchFormSchema),
        responses: { '303': { description: 'to `/#lti&token=…` or `/recruiter#lti&token=…`' }, '4XX': refusedPage, '5XX': refusedPage },
      },
    },
    '/lti/jwks': {
      get: {
        summary: "The tool's public key (RS256) that signs its client assertions for grade return.",
        tags: ['lti'],
        responses: { '200': { description: 'a JWKS', content: jsonContent(endpoints.ltiJwks.response) } },
      },
    },
  };
}

const requestBody = (s: z.ZodType): Json => ({ required: true, content: { 'application/json': { schema: schema(s, 'input') } } });

const commonErrors = {
  '400': errorResponse('VALIDATION_FAILED or INVALID_JSON: the body, query or path is not valid (details.issues lists why).'),
  '429': errorResponse('RATE_LIMITED; `Retry-After` says when to try again.'),
  '503': errorResponse('SERVICE_UNAVAILABLE: the service behind the route does not answer.'),
  '504': errorResponse('TIMEOUT: the service did not answer in time.'),
};

const documentResponse = (what: string): Json => ({
  get: {
    summary: `This ${what} document (generated from the protocol's schemas).`,
    tags: ['documents'],
    responses: { '200': { description: 'YAML', content: { 'application/yaml': { schema: { type: 'string' } } } } },
  },
});

const page = (summary: string): Json => ({
  get: {
    summary,
    tags: ['pages'],
    responses: { '200': { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } } },
  },
});

/** The OpenAPI 3.1 document of the gateway's HTTP routes, generated from the zod schemas. */
export function openApiDocument(): Json {
  const paths: Record<string, Json> = {
    '/healthz': {
      get: {
        summary: 'Liveness: the process serves requests.',
        tags: ['health'],
        responses: { '200': { description: 'alive', content: jsonContent(statusSchema(['ok'])) } },
      },
    },
    '/readyz': {
      get: {
        summary: "Readiness: NATS is connected and the auth service's keys are loaded.",
        tags: ['health'],
        responses: {
          '200': { description: 'ready', content: jsonContent(statusSchema(['ready'])) },
          '503': { description: 'not ready', content: jsonContent(statusSchema(['not_ready'])) },
        },
      },
    },
    '/api/auth/login': {
      post: {
        summary: 'Staff sign-in with email and password; throttled per account and per client address.',
        tags: ['auth'],
        requestBody: requestBody(httpBodies.login),
        responses: {
          '200': { description: 'a token', content: jsonContent(endpoints.authLogin.response) },
          '401': errorResponse('AUTH_INVALID: wrong email or password.'),
          ...commonErrors,
        },
      },
    },
    '/api/auth/invitations/redeem': {
      post: {
        summary: 'A candidate redeems an invitation code for a token to take that test.',
        tags: ['auth'],
        requestBody: requestBody(httpBodies.redeem),
        responses: {
          '200': { description: 'a candidate token', content: jsonContent(endpoints.authRedeem.response) },
          '401': errorResponse('AUTH_INVALID: unknown code.'),
          '409': errorResponse('INVITATION_USED: the code has no uses left.'),
          '410': errorResponse('INVITATION_EXPIRED.'),
          ...commonErrors,
        },
      },
    },
    '/api/tests/{test_id}/info': {
      get: {
        summary:
          "A test's public facts (title, time limit, questions, skills, rules) and the caller's attempt, read without starting it; " +
          'candidates (for the test of their token) and staff who may see the test. Nothing is created and no clock runs.',
        tags: ['tests'],
        security: [{ bearer: [] }],
        parameters: [testIdParameter],
        responses: {
          '200': { description: 'the test as the candidate sees it before starting', content: jsonContent(endpoints.testInfo.response) },
          '401': errorResponse('AUTH_REQUIRED or AUTH_INVALID: no valid bearer token.'),
          '403': errorResponse('FORBIDDEN: a token for another test.'),
          '404': errorResponse('NOT_FOUND: no such test.'),
          ...commonErrors,
        },
      },
    },
    '/api/tests/{test_id}/results': {
      get: {
        summary: "A test's results, a page at a time (staff who may see the test).",
        tags: ['tests'],
        security: [{ bearer: [] }],
        parameters: [testIdParameter, ...resultsQueryParameters()],
        responses: {
          '200': { description: 'a page of results', content: jsonContent(endpoints.assessmentResults.response) },
          '401': errorResponse('AUTH_REQUIRED or AUTH_INVALID: no valid bearer token.'),
          '403': errorResponse('FORBIDDEN: candidates, or staff outside the test.'),
          '404': errorResponse('NOT_FOUND: no such test.'),
          ...commonErrors,
        },
      },
    },
    '/api/tests/{test_id}/invitations': {
      post: {
        summary: 'Invite a candidate (with an email) or create an open code (without) for a test.',
        tags: ['tests'],
        security: [{ bearer: [] }],
        parameters: [testIdParameter],
        requestBody: requestBody(httpBodies.invite),
        responses: {
          '201': { description: 'the invitation and its code', content: jsonContent(endpoints.authInvite.response) },
          '401': errorResponse('AUTH_REQUIRED or AUTH_INVALID: no valid bearer token.'),
          '403': errorResponse('FORBIDDEN: candidates, or staff outside the test.'),
          '404': errorResponse('NOT_FOUND: no such test.'),
          ...commonErrors,
        },
      },
    },
    '/asyncapi.yaml': documentResponse('AsyncAPI 3.0 (WebSocket frames and NATS subjects)'),
    '/openapi.yaml': documentResponse('OpenAPI 3.1'),
    '/': page("The candidate's page (its scripts and styles are served beside it)."),
    '/proctor': page('The proctor dashboard.'),
    '/recruiter': page("The recruiter's workspace: tests, banks, invitations, results, reports and item statistics."),
    ...recruiterPaths(),
    ...ltiPaths(),
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Assessment platform: gateway HTTP routes',
      version: '1.0.0',
      description:
        'Generated from the zod schemas in libs/protocol (`npm run docs`); do not edit by hand. The WebSocket protocol and the NATS ' +
        'bus are in the AsyncAPI document (`/asyncapi.yaml`). Every error body is `{error: {code, message, details?}}`; the codes:\n\n' +
        errorCodeList() +
        '\n\nEach gateway (and each service with METRICS_PORT set) also serves `/metrics` (Prometheus), `/healthz` and `/readyz` on its metrics port.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: 'http://127.0.0.1:8080', description: 'The gateway as `npm start` runs it (PORT, default 8080).' }],
    tags: [
      { name: 'auth', description: 'Sign-in' },
      { name: 'tests', description: "Recruiters' routes" },
      { name: 'lti', description: 'LTI 1.3 tool: platform registration, login, launch, keys' },
      { name: 'health', description: 'Probes' },
      { name: 'documents', description: 'API documents' },
      { name: 'pages', description: 'The web pages' },
    ],
    paths,
    components: {
      schemas: { Error: schema(z.object({ error: errorBodySchema }), 'output') },
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A staff token from POST /api/auth/login.' },
      },
    },
  };
}
