import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { z } from 'zod';

/**
 * An LTI 1.3 platform (an LMS) for tests, written from the specifications apart from the tool's
 * code: its OIDC authorization endpoint checks the tool's authentication request and answers with
 * an auto-submitting form carrying a signed id_token; it publishes its JWKS; its token endpoint
 * verifies the tool's client assertion against the tool's JWKS; its AGS endpoints keep line items
 * and scores, and record every rule a request broke. `mode = 'down'` makes the token and AGS
 * endpoints answer 503, as a platform under maintenance does.
 */
export const CLIENT_ID = 'assessment-tool';
export const DEPLOYMENT_ID = 'deployment-1';
const MEMBERSHIP = 'http://purl.imsglobal.org/vocab/lis/v2/membership#';
export const ROLES = { learner: [`${MEMBERSHIP}Learner`], instructor: [`${MEMBERSHIP}Instructor`] };
const SCORE_SCOPE = 'https://purl.imsglobal.org/spec/lti-ags/scope/score';
const LINEITEM_SCOPE = 'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem';

/** The score rules of AGS 2.0 §3.4 that the platform checks. */
const scoreSchema = z
  .strictObject({
    userId: z.string().min(1),
    scoreGiven: z.number().min(0).optional(),
    scoreMaximum: z.number().positive().optional(),
    comment: z.string().optional(),
    activityProgress: z.enum(['Initialized', 'Started', 'InProgress', 'Submitted', 'Completed']),
    gradingProgress: z.enum(['FullyGraded', 'Pending', 'PendingManual', 'Failed', 'NotReady']),
    timestamp: z.iso.datetime({ offset: true }),
  })
  .refine((s) => (s.scoreGiven === undefined) === (s.scoreMaximum === undefined), 'scoreGiven needs scoreMaximum');
export type Score = z.infer<typeof scoreSchema>;

const lineItemSchema = z.strictObject({
  scoreMaximum: z.number().positive(),
  label: z.string().min(1),
  resourceId: z.string().optional(),
  resourceLinkId: z.string().optional(),
  tag: z.string().optional(),
});

/** What a launch says, and what a test may break in it. */
export type LaunchOptions = {
  sub: string;
  name?: string;
  roles: string[];
  resourceLinkId: string;
  /** The custom parameter test_id. */
  testId?: string | undefined;
  /** Give the line item in the launch (otherwise only the container, and the tool finds or creates it). */
  withLineItem?: boolean;
  /** Claims to override in the id_token (wrong aud, expired, another deployment…). */
  claims?: Record<string, unknown>;
  /** Sign with a key the platform does not publish. */
  foreignKey?: boolean;
};

type Pending = { options: LaunchOptions };

export class TestLms {
  mode: 'up' | 'down' = 'up';
  readonly violations: string[] = [];
  readonly scores: { lineItem: string; score: Score }[] = [];
  readonly lineItems = new Map<string, z.infer<typeof lineItemSchema> & { id: string }>();
  /** Requests answered 503 while down. */
  refused = 0;
  tokenRequests = 0;
  private server: Server;
  private port = 0;
  private key!: { privateKey: CryptoKey; publicJwk: JWK; kid: string };
  private foreign!: CryptoKey;
  private readonly pending = new Map<string, Pending>();
  private readonly tokens = new Map<string, string[]>();
  private readonly assertionIds = new Set<string>();
  private toolJwks: ReturnType<typeof createRemoteJWKSet> | undefined;

  private readonly toolBase: string;

  constructor(toolBase: string) {
    this.toolBase = toolBase;
    this.server = createServer((req, res) => {
      void this.handle(req, res).catch((err: unknown) => {
        this.violations.push(`platform error: ${String(err)}`);
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
  }

  get issuer(): string {
    return `http://127.0.0.1:${String(this.port)}`;
  }

  /** The registration a recruiter enters in the tool. */
  registration(): Record<string, unknown> {
    return {
      issuer: this.issuer,
      client_id: CLIENT_ID,
      name: 'Test LMS',
      jwks_url: `${this.issuer}/jwks`,
      auth_login_url: `${this.issuer}/auth`,
      token_url: `${this.issuer}/token`,
      deployment_ids: [DEPLOYMENT_ID],
    };
  }

  async start(): Promise<void> {
    const pair = await generateKeyPair('RS256', { extractable: true });
    const kid = randomUUID();
    this.key = { privateKey: pair.privateKey, publicJwk: { ...(await exportJWK(pair.publicKey)), kid, alg: 'RS256', use: 'sig' }, kid };
    this.foreign = (await generateKeyPair('RS256')).privateKey;
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /**
   * Starts a launch as the platform does: the browser is sent to the tool's login initiation.
   * Returns the login URL (GET) the browser would follow; `login_hint` names the pending launch.
   */
  loginUrl(options: LaunchOptions): string {
    const hint = randomUUID();
    this.pending.set(hint, { options });
    const url = new URL(`${this.toolBase}/lti/login`);
    url.searchParams.set('iss', this.issuer);
    url.searchParams.set('login_hint', hint);
    url.searchParams.set('target_link_uri', `${this.toolBase}/lti/launch`);
    url.searchParams.set('lti_message_hint', `link-${options.resourceLinkId}`);
    url.searchParams.set('client_id', CLIENT_ID);
    url.searchParams.set('lti_deployment_id', DEPLOYMENT_ID);
    return url.toString();
  }

  scoresFor(sub: string): Score[] {
    return this.scores.filter((s) => s.score.userId === sub).map((s) => s.score);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.issuer);
    const body = await new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
    if (url.pathname === '/jwks') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [this.key.publicJwk] }));
      return;
    }
    if (url.pathname === '/auth') {
      await this.authorize(url, res);
      return;
    }
    if (this.mode === 'down') {
      this.refused += 1;
      res.writeHead(503).end();
      return;
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      await this.token(body, res);
      return;
    }
    if (url.pathname.startsWith('/lineitems')) {
      this.ags(req, url, body, res);
      return;
    }
    this.reject(res, 404, `${String(req.method)} ${url.pathname}`);
  }

  private reject(res: ServerResponse, status: number, why: string): undefined {
    this.violations.push(why);
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: why }));
    return undefined;
  }

  /** The OIDC authorization endpoint (LTI 1.3 §5.1.1.2, Security Framework §5.1.1.3). */
  private async authorize(url: URL, res: ServerResponse): Promise<void> {
    const q = Object.fromEntries(url.searchParams);
    const expected = {
      scope: 'openid',
      response_type: 'id_token',
      response_mode: 'form_post',
      prompt: 'none',
      client_id: CLIENT_ID,
      redirect_uri: `${this.toolBase}/lti/launch`,
    };
    for (const [k, v] of Object.entries(expected)) {
      if (q[k] !== v) {
        this.reject(res, 400, `authentication request: ${k} is ${String(q[k])}, not ${v}`);
        return;
      }
    }
    const pending = this.pending.get(q['login_hint'] ?? '');
    if (pending === undefined || q['state'] === undefined || q['nonce'] === undefined) {
      this.reject(res, 400, 'authentication request without a known login_hint, a state or a nonce');
      return;
    }
    if (q['lti_message_hint'] !== `link-${pending.options.resourceLinkId}`) {
      this.reject(res, 400, 'lti_message_hint was not passed back');
      return;
    }
    const idToken = await this.idToken(pending.options, q['nonce']);
    const form =
      `<!doctype html><form method="post" action="${expected.redirect_uri}">` +
      `<input type="hidden" name="id_token" value="${idToken}"><input type="hidden" name="state" value="${q['state']}">` +
      '</form><script>document.forms[0].submit()</script>';
    res.writeHead(200, { 'content-type': 'text/html' }).end(form);
  }

  /** Signs the launch's id_token (LTI 1.3 §5.3). */
  async idToken(o: LaunchOptions, nonce: string): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const claim = 'https://purl.imsglobal.org/spec/lti/claim/';
    const lineItem = `${this.issuer}/lineitems/given-${o.resourceLinkId}`;
    if (o.withLineItem === true && !this.lineItems.has(lineItem)) {
      this.lineItems.set(lineItem, { id: lineItem, scoreMaximum: 100, label: 'Given line item', resourceLinkId: o.resourceLinkId });
    }
    const claims: Record<string, unknown> = {
      nonce,
      name: o.name ?? 'Ada Learner',
      email: `${o.sub}@school.example`,
      [`${claim}message_type`]: 'LtiResourceLinkRequest',
      [`${claim}version`]: '1.3.0',
      [`${claim}deployment_id`]: DEPLOYMENT_ID,
      [`${claim}target_link_uri`]: `${this.toolBase}/lti/launch`,
      [`${claim}resource_link`]: { id: o.resourceLinkId, title: `Quiz ${o.resourceLinkId}` },
      [`${claim}roles`]: o.roles,
      [`${claim}context`]: { id: 'course-1', title: 'Course 1' },
      ...(o.testId === undefined ? {} : { [`${claim}custom`]: { test_id: o.testId } }),
      'https://purl.imsglobal.org/spec/lti-ags/claim/endpoint': {
        scope: [SCORE_SCOPE, LINEITEM_SCOPE],
        lineitems: `${this.issuer}/lineitems`,
        ...(o.withLineItem === true ? { lineitem: lineItem } : {}),
      },
      ...o.claims,
    };
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: this.key.kid, typ: 'JWT' })
      .setIssuer(typeof o.claims?.['iss'] === 'string' ? o.claims['iss'] : this.issuer)
      .setSubject(o.sub)
      .setAudience((o.claims?.['aud'] as string | string[] | undefined) ?? CLIENT_ID)
      .setIssuedAt(typeof o.claims?.['iat'] === 'number' ? o.claims['iat'] : now)
      .setExpirationTime(typeof o.claims?.['exp'] === 'number' ? o.claims['exp'] : now + 300);
    return jwt.sign(o.foreignKey === true ? this.foreign : this.key.privateKey);
  }

  /** The token endpoint (Security Framework §4.1): client credentials with a JWT client assertion. */
  private async token(body: string, res: ServerResponse): Promise<undefined> {
    this.tokenRequests += 1;
    const form = new URLSearchParams(body);
    if (form.get('grant_type') !== 'client_credentials') {
      this.reject(res, 400, 'grant_type is not client_credentials');
      return;
    }
    if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
      this.reject(res, 400, 'client_assertion_type is not jwt-bearer');
      return;
    }
    this.toolJwks ??= createRemoteJWKSet(new URL(`${this.toolBase}/lti/jwks`));
    try {
      const { payload, protectedHeader } = await jwtVerify(form.get('client_assertion') ?? '', this.toolJwks, {
        issuer: CLIENT_ID,
        subject: CLIENT_ID,
        audience: `${this.issuer}/token`,
        algorithms: ['RS256'],
        requiredClaims: ['exp', 'iat', 'jti'],
      });
      if (protectedHeader.kid === undefined) {
        this.reject(res, 400, 'client assertion without kid');
        return;
      }
      if (this.assertionIds.has(String(payload.jti))) {
        this.reject(res, 400, 'client assertion jti reused');
        return;
      }
      this.assertionIds.add(String(payload.jti));
    } catch (err) {
      this.reject(res, 401, `client assertion refused: ${String(err)}`);
      return;
    }
    const scopes = (form.get('scope') ?? '').split(' ').filter((s) => s !== '');
    if (!scopes.includes(SCORE_SCOPE)) {
      this.reject(res, 400, 'token request without the score scope');
      return;
    }
    const token = randomUUID();
    this.tokens.set(token, scopes);
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 3600, scope: scopes.join(' ') }));
    return undefined;
  }

  /** Line items and scores (AGS 2.0 §3.2, §3.4). */
  private ags(req: IncomingMessage, url: URL, body: string, res: ServerResponse): undefined {
    const scopes = this.tokens.get(/^Bearer (.+)$/u.exec(req.headers.authorization ?? '')?.[1] ?? '');
    if (scopes === undefined) {
      this.reject(res, 401, `${url.pathname}: no valid access token`);
      return;
    }
    const container = `${this.issuer}/lineitems`;
    if (url.pathname === '/lineitems' && req.method === 'GET') {
      if (req.headers.accept !== 'application/vnd.ims.lis.v2.lineitemcontainer+json') {
        this.reject(res, 406, 'line items read without the container media type');
        return;
      }
      const link = url.searchParams.get('resource_link_id');
      const items = [...this.lineItems.values()].filter((i) => link === null || i.resourceLinkId === link);
      res.writeHead(200, { 'content-type': 'application/vnd.ims.lis.v2.lineitemcontainer+json' }).end(JSON.stringify(items));
      return undefined;
    }
    if (url.pathname === '/lineitems' && req.method === 'POST') {
      if (!scopes.includes(LINEITEM_SCOPE)) {
        this.reject(res, 403, 'line item created without the lineitem scope');
        return;
      }
      if (req.headers['content-type'] !== 'application/vnd.ims.lis.v2.lineitem+json') {
        this.reject(res, 415, 'line item without its media type');
        return;
      }
      const item = lineItemSchema.safeParse(JSON.parse(body));
      if (!item.success) {
        this.reject(res, 400, `line item breaks AGS: ${item.error.message}`);
        return;
      }
      const id = `${container}/${randomUUID()}`;
      this.lineItems.set(id, { ...item.data, id });
      res.writeHead(201, { 'content-type': 'application/vnd.ims.lis.v2.lineitem+json' }).end(JSON.stringify({ ...item.data, id }));
      return undefined;
    }
    const scores = /^(\/lineitems\/[^/]+)\/scores$/u.exec(url.pathname);
    if (scores !== null && req.method === 'POST') {
      const lineItem = `${this.issuer}${scores[1] ?? ''}`;
      if (!this.lineItems.has(lineItem)) {
        this.reject(res, 404, `scores for unknown line item ${lineItem}`);
        return;
      }
      if (req.headers['content-type'] !== 'application/vnd.ims.lis.v1.score+json') {
        this.reject(res, 415, 'score without its media type');
        return;
      }
      const score = scoreSchema.safeParse(JSON.parse(body));
      if (!score.success) {
        this.reject(res, 400, `score breaks AGS: ${score.error.message}`);
        return;
      }
      const max = score.data.scoreMaximum ?? 0;
      if ((score.data.scoreGiven ?? 0) > max * 10) this.violations.push('scoreGiven far above scoreMaximum');
      this.scores.push({ lineItem, score: score.data });
      res.writeHead(200).end();
      return undefined;
    }
    this.reject(res, 404, `${String(req.method)} ${url.pathname}`);
  }
}
