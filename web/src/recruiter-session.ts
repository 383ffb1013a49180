/**
 * The recruiter's session with the platform: the sign-in kept for the tab, and the HTTP API of
 * the workspace (tests, bank import, invitations, results, reports, item statistics), each reply
 * parsed with its schema from `@ap/protocol`. No DOM here: the page renders what it returns.
 */
import { HttpApiError, login } from '@ap/client';
import {
  accommodationsSchema,
  endpoints,
  httpBodies,
  itemStatsSchema,
  ltiPlatformsReplySchema,
  ltiRegisterReplySchema,
  polyIrtSchema,
  assessmentReportSchema,
  recruiterTestsSchema,
} from '@ap/protocol';
import type { Accommodations, AssessmentReport, ResponseOf } from '@ap/protocol';
import { z } from 'zod';
import { loadStored, saveStored } from './dom.ts';

export { HttpApiError };

const STORAGE_KEY = 'ap.recruiter';

/** Who is signed in, kept in `sessionStorage` so that a reload keeps the session. */
export type RecruiterSignIn = { token: string; user_id: string; email: string; expires_at: string };

export type RecruiterTests = z.output<typeof recruiterTestsSchema>['tests'];
export type ResultRow = ResponseOf<'assessmentResults'>['results'][number];
export type ResultsPage = ResponseOf<'assessmentResults'>;
export type Invitation = ResponseOf<'authInvite'>;
export type InvitationRequest = z.input<typeof httpBodies.invite>;
export type { AssessmentReport };

/** A likert or partial-credit item's model as the item view draws it (D = 1, as the single choices' curve). */
export const polyCurveSchema = polyIrtSchema;
export type PolyCurve = z.output<typeof polyCurveSchema>;
export type ItemStats = z.output<typeof itemStatsSchema>;
export type LtiPlatforms = z.output<typeof ltiPlatformsReplySchema>;

/**
 * P(X = k | θ) for k = 0..K: GRM P(X ≥ k) = logistic(a(θ − b_k)), GPCM P(X = k) ∝ exp(Σ_{t≤k} a(θ − b_t)).
 */
export function categoryProbabilitiesAt(item: PolyCurve, theta: number): number[] {
  const K = item.thresholds.length;
  if (item.model === 'GRM') {
    const atLeast = [1, ...item.thresholds.map((b) => 1 / (1 + Math.exp(-item.a * (theta - b)))), 0];
    return Array.from({ length: K + 1 }, (_, k) => Math.max(0, (atLeast[k] as number) - (atLeast[k + 1] as number)));
  }
  const z: number[] = [0];
  for (const b of item.thresholds) z.push((z[z.length - 1] as number) + item.a * (theta - b));
  const top = Math.max(...z);
  const e = z.map((v) => Math.exp(v - top));
  const total = e.reduce((sum, v) => sum + v, 0);
  return e.map((v) => v / total);
}

/** The category response curves over θ ∈ [−3, 3] in `steps` steps: one array of (θ, P) points per category. */
export function categoryCurves(item: PolyCurve, steps = 60): { theta: number; p: number }[][] {
  const curves = Array.from({ length: item.thresholds.length + 1 }, () => [] as { theta: number; p: number }[]);
  for (let i = 0; i <= steps; i++) {
    const theta = -3 + (6 * i) / steps;
    categoryProbabilitiesAt(item, theta).forEach((p, k) => curves[k]?.push({ theta, p }));
  }
  return curves;
}

/** One problem of a bank file: the item (id or position), the field and what is wrong. */
export type BankError = { item: string; field: string; message: string };

/** An import refused because of the bank's content: nothing was stored. */
export class BankRejected extends Error {
  readonly errors: BankError[];
  constructor(message: string, errors: BankError[]) {
    super(message);
    this.name = 'BankRejected';
    this.errors = errors;
  }
}

const bankErrorsSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z
      .object({
        errors: z
          .array(z.object({ item: z.union([z.string(), z.number()]).transform(String), field: z.string(), message: z.string() }))
          .optional(),
      })
      .optional(),
  }),
});

/** The sign-in stored for this tab, unless it is missing or expired. */
export function storedSignIn(): RecruiterSignIn | undefined {
  const value = loadStored(STORAGE_KEY) as Partial<RecruiterSignIn> | null | undefined;
  if (typeof value?.token !== 'string' || typeof value.user_id !== 'string' || typeof value.expires_at !== 'string') return undefined;
  if (Date.parse(value.expires_at) <= Date.now()) return undefined;
  return {
    token: value.token,
    user_id: value.user_id,
    email: typeof value.email === 'string' ? value.email : '',
    expires_at: value.expires_at,
  };
}

/** Signs in with email and password; a candidate's or a proctor's account is refused here. */
export async function signIn(email: string, password: string): Promise<RecruiterSignIn> {
  const result = await login(location.origin, email, password);
  if (result.role !== 'recruiter' && result.role !== 'admin') {
    throw new HttpApiError(403, 'FORBIDDEN', 'This page is for recruiters. Proctors watch assessments at /proctor.');
  }
  const session = { token: result.token, user_id: result.user_id, email, expires_at: result.expires_at };
  saveStored(STORAGE_KEY, session);
  return session;
}

/** Keeps a sign-in made elsewhere (an LTI launch of an instructor) for this tab. */
export function adoptSignIn(session: RecruiterSignIn): void {
  saveStored(STORAGE_KEY, session);
}

export function forgetSignIn(): void {
  saveStored(STORAGE_KEY, undefined);
}

/** The workspace's API calls with the recruiter's token. */
export class RecruiterApi {
  readonly #token: string;

  constructor(session: RecruiterSignIn) {
    this.#token = session.token;
  }

  async tests(): Promise<RecruiterTests> {
    return (await this.#call('GET', '/api/tests', recruiterTestsSchema)).tests;
  }

  /** Imports a bank file's text; a bank with errors throws {@link BankRejected} and stores nothing. */
  async importBank(format: 'json' | 'yaml', text: string): Promise<ResponseOf<'itemsImport'>> {
    try {
      return await this.#call('POST', '/api/items/import', endpoints.itemsImport.response, { format, text });
    } catch (err) {
      if (err instanceof ApiBodyError && err.code === 'VALIDATION_FAILED') {
        const parsed = bankErrorsSchema.safeParse(err.body);
        const errors = parsed.success ? (parsed.data.error.details?.errors ?? []) : [];
        throw new BankRejected(err.serverMessage, errors);
      }
      throw err;
    }
  }

  createTest(body: z.input<typeof httpBodies.createTest>): Promise<ResponseOf<'testCreate'>> {
    return this.#call('POST', '/api/tests', endpoints.testCreate.response, body);
  }

  invite(testId: string, body: InvitationRequest): Promise<Invitation> {
    return this.#call('POST', `/api/tests/${encodeURIComponent(testId)}/invitations`, endpoints.authInvite.response, body);
  }

  results(testId: string, after: string | null, limit = 50): Promise<ResultsPage> {
    const query = new URLSearchParams({ include_unfinished: 'true', limit: String(limit) });
    if (after !== null) query.set('after', after);
    return this.#call('GET', `/api/tests/${encodeURIComponent(testId)}/results?${query.toString()}`, endpoints.assessmentResults.response);
  }

  /** Every result of a test, page after page (for the CSV export). */
  async allResults(testId: string): Promise<ResultRow[]> {
    const rows: ResultRow[] = [];
    let after: string | null = null;
    do {
      const page: ResultsPage = await this.results(testId, after, 500);
      rows.push(...page.results);
      after = page.next_cursor;
    } while (after !== null);
    return rows;
  }

  report(testId: string, assessmentId: string): Promise<AssessmentReport> {
    const query = new URLSearchParams({ assessment_id: assessmentId });
    return this.#call('GET', `/api/tests/${encodeURIComponent(testId)}/report?${query.toString()}`, assessmentReportSchema);
  }

  itemStats(testId: string): Promise<ItemStats> {
    return this.#call('GET', `/api/tests/${encodeURIComponent(testId)}/items`, itemStatsSchema);
  }

  /** The registered LMSs and the tool's URLs to enter in an LMS. */
  ltiPlatforms(): Promise<LtiPlatforms> {
    return this.#call('GET', '/api/lti/platforms', ltiPlatformsReplySchema);
  }

  /** Registers an LMS (or updates the registration of the same issuer and client id). */
  registerLti(platform: z.input<typeof httpBodies.ltiPlatform>): Promise<z.output<typeof ltiRegisterReplySchema>> {
    return this.#call('POST', '/api/lti/platforms', ltiRegisterReplySchema, platform);
  }

  async #call<S extends z.ZodType>(method: 'GET' | 'POST', path: string, schema: S, body?: unknown): Promise<z.output<S>> {
    const res = await fetch(path, {
      method,
      headers: {
        authorization: `Bearer ${this.#token}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const error = z.object({ error: z.object({ code: z.string(), message: z.string() }) }).safeParse(json);
      throw new ApiBodyError(
        res.status,
        error.success ? error.data.error.code : `HTTP_${res.status}`,
        error.success ? error.data.error.message : res.statusText,
        json,
      );
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new Error(`${method} ${path.split('?')[0] ?? ''}: unexpected reply`);
    return parsed.data;
  }
}

/** A refused request, with the whole error body (its `details`). */
export class ApiBodyError extends HttpApiError {
  readonly body: unknown;
  /** The server's message alone, to show to the recruiter. */
  readonly serverMessage: string;
  constructor(status: number, code: string, message: string, body: unknown) {
    super(status, code, message);
    this.body = body;
    this.serverMessage = message;
  }
}

/** One line of an invitations CSV: `email,name` (a header line naming the columns is skipped). */
/** A line of an invitations CSV; accommodations when the line gives a time multiplier or extra seconds. */
export type CsvInvitee = { line: number; email: string; name: string; accommodations?: Accommodations };

const csvEmail = z.string().trim().toLowerCase().pipe(z.email().max(254));

/**
 * Reads an invitations CSV: one candidate a line, `email,name`, fields optionally in double quotes
 * (`""` inside quotes is one quote). Returns the candidates and, per bad line, why.
 */
export function parseInviteesCsv(text: string): { invitees: CsvInvitee[]; errors: { line: number; message: string }[] } {
  const invitees: CsvInvitee[] = [];
  const errors: { line: number; message: string }[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    const fields = splitCsvLine(raw);
    if (fields === undefined) {
      errors.push({ line, message: 'an opening quote is not closed' });
      return;
    }
    const [first = '', second = '', multiplier = '', extra = ''] = fields.map((f) => f.trim());
    if (line === 1 && first.toLowerCase() === 'email') return;
    const email = csvEmail.safeParse(first);
    if (!email.success) {
      errors.push({ line, message: `"${first.slice(0, 60)}" is not an email address` });
      return;
    }
    if (second.length > 200) {
      errors.push({ line, message: 'the name is longer than 200 characters' });
      return;
    }
    const accommodations = csvAccommodations(multiplier, extra);
    if (accommodations === null) {
      errors.push({ line, message: 'the time multiplier is 1 to 4 and the extra seconds a whole number from 0 to 14400' });
      return;
    }
    invitees.push({ line, email: email.data, name: second, ...(accommodations === undefined ? {} : { accommodations }) });
  });
  return { invitees, errors };
}

/** The accommodations of a CSV line: undefined when both columns are empty, null when they are not valid. */
export function csvAccommodations(multiplier: string, extra: string): Accommodations | undefined | null {
  if (multiplier === '' && extra === '') return undefined;
  const parsed = accommodationsSchema.safeParse({
    ...(multiplier === '' ? {} : { time_multiplier: Number(multiplier) }),
    ...(extra === '' ? {} : { extra_seconds: Number(extra) }),
  });
  return parsed.success ? parsed.data : null;
}

function splitCsvLine(line: string): string[] | undefined {
  const fields: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        if (i >= line.length) return undefined;
        if (line[i] === '"' && line[i + 1] === '"') {
          value += '"';
          i += 2;
        } else if (line[i] === '"') {
          i++;
          break;
        } else {
          value += line.charAt(i);
          i++;
        }
      }
      fields.push(value);
      const comma = line.indexOf(',', i);
      i = comma === -1 ? line.length + 1 : comma + 1;
    } else {
      const comma = line.indexOf(',', i);
      fields.push(line.slice(i, comma === -1 ? line.length : comma));
      i = comma === -1 ? line.length + 1 : comma + 1;
    }
  }
  return fields;
}

/** One CSV field, quoted when it holds a comma, a quote or a line break, and never read as a formula by a spreadsheet. */
export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The results as CSV, one line per assessment, with a header line. */
export function resultsCsv(rows: readonly ResultRow[]): string {
  const header = [
    'assessment_id',
    'candidate_id',
    'candidate_name',
    'status',
    'reason',
    'started_at',
    'finished_at',
    'answered',
    'number_correct',
    'percent_correct',
    'score',
    'decision',
    'theta',
    'se',
    'percentile',
    'incidents',
  ];
  const lines = rows.map((r) =>
    [
      r.assessment_id,
      r.candidate_id,
      r.candidate_name,
      r.status,
      r.reason,
      r.started_at,
      r.finished_at,
      r.answered,
      r.result?.number_correct,
      r.result?.percent_correct,
      r.score,
      r.result?.decision,
      r.result?.theta,
      r.result?.se,
      r.result?.percentile,
      r.incidents,
    ]
      .map(csvField)
      .join(','),
  );
  return [header.join(','), ...lines].join('\r\n') + '\r\n';
}
