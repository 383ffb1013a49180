import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Caller } from '@ap/protocol';
import { z } from 'zod';
import { setup } from './support/setup.ts';
import type { TestStack } from './support/setup.ts';

/**
 * xAPI statements reach a Learning Record Store: a small LRS in this process checks each statement
 * against the xAPI 1.0.3 rules, and while it is down (answering 503, then refusing connections)
 * nothing is lost and, once it is back, nothing is stored twice.
 */
const ITEMS = 30;
const USER = 'lrs-user';
const PASSWORD = 'lrs-secret-password';
const HOME_PAGE = 'https://assess.example.org';
const ACTIVITY_BASE = 'https://assess.example.org/xapi/tests/';
const ADL = 'http://adlnet.gov/expapi/verbs/';

// The xAPI 1.0.3 rules the LRS checks, written here apart from the platform's own schema.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/iu;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/u;
const DURATION = /^P(?!$)(\d+Y)?(\d+M)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/u;
const absoluteIri = z.string().regex(/^[a-z][a-z0-9+.-]*:\/\/\S+$/iu, 'an absolute IRI');
const lrsStatement = z.looseObject({
  id: z.string().regex(UUID),
  actor: z.looseObject({
    objectType: z.literal('Agent').optional(),
    // Exactly one inverse functional identifier: here the account.
    account: z.strictObject({ homePage: absoluteIri, name: z.string().min(1) }),
    mbox: z.never().optional(),
    mbox_sha1sum: z.never().optional(),
    openid: z.never().optional(),
  }),
  verb: z.looseObject({ id: absoluteIri, display: z.record(z.string(), z.string()).optional() }),
  object: z.looseObject({
    objectType: z.literal('Activity').optional(),
    id: absoluteIri,
    definition: z.looseObject({ name: z.record(z.string(), z.string()).optional(), type: absoluteIri.optional() }).optional(),
  }),
  result: z
    .looseObject({
      score: z
        .looseObject({
          scaled: z.number().min(-1).max(1).optional(),
          raw: z.number().optional(),
          min: z.number().optional(),
          max: z.number().optional(),
        })
        .refine((s) => s.raw === undefined || ((s.min ?? -Infinity) <= s.raw && s.raw <= (s.max ?? Infinity)), 'min ≤ raw ≤ max')
        .optional(),
      success: z.boolean().optional(),
      completion: z.boolean().optional(),
      duration: z.string().regex(DURATION).optional(),
    })
    .optional(),
  context: z.looseObject({ registration: z.string().regex(UUID) }),
  timestamp: z.string().regex(TIMESTAMP),
  // Set by the LRS, never by a client.
  stored: z.never().optional(),
  authority: z.never().optional(),
});
type LrsStatement = z.infer<typeof lrsStatement>;

/** A Learning Record Store that keeps statements by id and records every rule a request broke. */
class Lrs {
  readonly statements = new Map<string, { json: string; statement: LrsStatement }>();
  readonly violations: string[] = [];
  mode: 'up' | 'unavailable' = 'up';
  posts = 0;
  refused = 0;
  private server: Server;
  private port = 0;

  constructor() {
    this.server = this.create();
  }

  get endpoint(): string {
    return `http://127.0.0.1:${String(this.port)}/xapi`;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Stops listening: connections to the port are refused until {@link listen}. */
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server = this.create();
  }

  byRegistration(registration: string): LrsStatement[] {
    return [...this.statements.values()].map((s) => s.statement).filter((s) => s.context.registration === registration);
  }

  private create(): Server {
    return createServer((req, res) => {
      void this.handle(req, res);
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    this.posts += 1;
    if (this.mode === 'unavailable') {
      this.refused += 1;
      res.writeHead(503).end();
      return;
    }
    const reject = (status: number, why: string): undefined => {
      this.violations.push(why);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: why }));
    };
    if (req.method !== 'POST' || req.url !== '/xapi/statements') {
      reject(404, `${String(req.method)} ${String(req.url)}`);
      return;
    }
    if (req.headers['x-experience-api-version'] !== '1.0.3') {
      reject(400, 'X-Experience-API-Version is not 1.0.3');
      return;
    }
    const expected = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
    if (req.headers.authorization !== expected) {
      reject(401, 'wrong credentials');
      return;
    }
    if (!String(req.headers['content-type']).startsWith('application/json')) {
      reject(400, 'not JSON');
      return;
    }
    const body = z.union([z.array(z.unknown()), z.unknown()]).parse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    const batch = Array.isArray(body) ? body : [body];
    const parsed = batch.map((s) => lrsStatement.safeParse(s));
    const bad = parsed.find((p) => !p.success)?.error;
    if (bad !== undefined) {
      reject(400, `statement breaks xAPI 1.0.3: ${bad.message}`);
      return;
    }
    const ids: string[] = [];
    for (const [i, p] of parsed.entries()) {
      const statement = p.data as LrsStatement;
      const json = JSON.stringify(batch[i]);
      const known = this.statements.get(statement.id);
      if (known !== undefined && known.json !== json) {
        reject(409, `statement ${statement.id} sent again with other content`);
        return;
      }
      if (known === undefined) this.statements.set(statement.id, { json, statement });
      ids.push(statement.id);
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(ids));
  }
}

let stack: TestStack | undefined;
let testId: string;
let answeredInFirstTest = 0;
const lrs = new Lrs();

before(async () => {
  await lrs.listen();
  stack = await setup({
    env: {
      XAPI_ENDPOINT: lrs.endpoint,
      XAPI_USERNAME: USER,
      XAPI_PASSWORD: PASSWORD,
      XAPI_ACTIVITY_BASE: ACTIVITY_BASE,
      XAPI_HOME_PAGE: HOME_PAGE,
      XAPI_RETRY_MIN_MS: '100',
      XAPI_RETRY_MAX_MS: '800',
    },
  });
  testId = await started().createTest(
    {
      id: 'xapi-pass-fail',
      title: 'Pass/fail for the LRS',
      time_limit_s: 1800,
      strategy: 'adaptive',
      stopping: { min_items: 4, max_items: ITEMS },
      classification: { rule: 'SPRT', cut_theta: 0, delta: 0.4 },
    },
    ITEMS,
  );
});
after(async () => {
  await stack?.close();
  await lrs.stop();
});

function started(): TestStack {
  assert.ok(stack !== undefined, 'the stack started');
  return stack;
}

type Item = { _id: string; key: string; options: { id: string }[] };

/** Plays one assessment over the bus to its end, answering right or wrong. */
async function play(right: boolean): Promise<{ assessmentId: string; candidateId: string; answered: number }> {
  const platform = started();
  const c = await platform.inviteCandidate(testId);
  const caller: Caller = { user_id: c.user_id, role: 'candidate', tests: [testId] };
  const begun = await platform.bus.request('assessmentStart', { caller, test_id: testId });
  assert.ok('assessment_id' in begun);
  const items = platform.db.collection<Item>('items');
  let question = (await platform.bus.request('assessmentQuestion', { caller, assessment_id: begun.assessment_id })).question;
  let answered = 0;
  while (question !== null) {
    const item = await items.findOne({ _id: question.question_id });
    assert.ok(item !== null);
    const wrong = item.options.find((o) => o.id !== item.key)?.id ?? 'B';
    const r = await platform.bus.request('assessmentAnswer', {
      caller,
      assessment_id: begun.assessment_id,
      question_id: question.question_id,
      selected_option: right ? item.key : wrong,
    });
    answered += 1;
    assert.ok(answered <= ITEMS);
    question = r.feedback.finished ? null : (r.feedback.next_question ?? null);
  }
  return { assessmentId: begun.assessment_id, candidateId: c.user_id, answered };
}

async function until(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const giveUp = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > giveUp)
      assert.fail(`timed out waiting until ${what} (LRS: ${String(lrs.posts)} posts, violations ${JSON.stringify(lrs.violations)})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The registration of an assessment, as the LRS sees it: the one its statements share. */
function registrationOf(candidateId: string): string | undefined {
  return [...lrs.statements.values()].find((s) => s.statement.actor.account.name === candidateId)?.statement.context.registration;
}

/** The verbs of an assessment's statements but `answered` (one per answer, counted by {@link answersOf}). */
function verbsOf(candidateId: string): string[] {
  return allVerbsOf(candidateId).filter((v) => v !== 'answered');
}

function answersOf(candidateId: string): number {
  return allVerbsOf(candidateId).filter((v) => v === 'answered').length;
}

function allVerbsOf(candidateId: string): string[] {
  const registration = registrationOf(candidateId);
  if (registration === undefined) return [];
  return lrs
    .byRegistration(registration)
    .map((s) => s.verb.id.replace(ADL, ''))
    .sort();
}

describe('xAPI statements', () => {
  test('a finished pass/fail assessment sends attempted, completed and passed, each by the rules', async () => {
    const run = await play(true);
    await until('the statements arrived', () => verbsOf(run.candidateId).length === 3);
    assert.deepEqual(verbsOf(run.candidateId), ['attempted', 'completed', 'passed']);
    assert.equal(answersOf(run.candidateId), run.answered, 'one answered statement per answer');
    answeredInFirstTest = run.answered;
    const registration = registrationOf(run.candidateId);
    assert.ok(registration !== undefined);
    const statements = lrs.byRegistration(registration);
    for (const s of statements) {
      assert.deepEqual(s.actor.account, { homePage: HOME_PAGE, name: run.candidateId });
      if (s.verb.id === `${ADL}answered`) {
        // A question of the test: its own activity, with the test as its parent.
        assert.match(s.object.id, new RegExp(`^${ACTIVITY_BASE}${testId}/questions/[^/]+$`, 'u'));
        assert.deepEqual(s.context['contextActivities'], { parent: [{ objectType: 'Activity', id: `${ACTIVITY_BASE}${testId}` }] });
        assert.equal(s.result?.success, true, 'every answer of this run was right');
        continue;
      }
      assert.equal(s.object.id, `${ACTIVITY_BASE}${testId}`);
      assert.deepEqual(s.object.definition?.name, { 'en-US': 'Pass/fail for the LRS' });
    }
    const completed = statements.find((s) => s.verb.id === `${ADL}completed`);
    assert.equal(completed?.result?.completion, true);
    assert.equal(completed.result.success, true);
    assert.equal(completed.result.score?.raw !== undefined && completed.result.score.max, run.answered);
    assert.ok(completed.result.duration !== undefined);
    assert.deepEqual(lrs.violations, []);
  });

  test('while the LRS answers 503 and then refuses connections, nothing is lost or stored twice once it is back', async () => {
    lrs.mode = 'unavailable';
    const refusedBefore = lrs.refused;
    const failing = await play(false);
    // The sender tried, was refused, and will try again.
    await until('the LRS refused a few attempts', () => lrs.refused >= refusedBefore + 3);
    await lrs.stop();
    const passing = await play(true);
    assert.equal(verbsOf(failing.candidateId).length, 0);
    assert.equal(verbsOf(passing.candidateId).length, 0);
    lrs.mode = 'up';
    await lrs.listen();
    await until(
      'both assessments are in the LRS',
      () => verbsOf(failing.candidateId).length === 3 && verbsOf(passing.candidateId).length === 3,
    );
    assert.deepEqual(verbsOf(failing.candidateId), ['attempted', 'completed', 'failed']);
    assert.deepEqual(verbsOf(passing.candidateId), ['attempted', 'completed', 'passed']);
    const failed = lrs.byRegistration(registrationOf(failing.candidateId) ?? '').find((s) => s.verb.id === `${ADL}failed`);
    assert.equal(failed?.result?.success, false);
    assert.equal(answersOf(failing.candidateId), failing.answered);
    assert.equal(answersOf(passing.candidateId), passing.answered);
    // Three statements per assessment and one per answer, three assessments, each id stored once;
    // none sent again with other content.
    assert.equal(lrs.statements.size, 9 + failing.answered + passing.answered + answeredInFirstTest);
    assert.deepEqual(lrs.violations, []);
  });
});
