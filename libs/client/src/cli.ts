/**
 * The CLI test client: connects to the assessment WebSocket, plays a whole assessment and prints
 * every frame. Run with `npm run client -- --help`.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { MAX_CHAT_CHARS, idSchema } from '@ap/protocol';
import type { Question, ServerFrame } from '@ap/protocol';
import { connectClient, describeFrame } from './client.ts';
import { apiBaseFromWsUrl, redeemInvitation } from './http.ts';
import { QuestionCapError, playAssessment } from './play.ts';
import type { OutgoingFrame, PlatformClient, ServerFrameOf } from './client.ts';

/** Usage text printed by `--help` and on bad arguments. */
export const USAGE = `Usage: npm run client -- [options]

Plays a whole assessment over the WebSocket protocol and prints every frame.

Options:
  --url URL             WebSocket URL (default ws://127.0.0.1:8080/ws/assessment)
  --token TOKEN         bearer token of the candidate
  --code CODE           invitation code, redeemed through the HTTP API instead of --token
  --api URL             HTTP API base for --code (default: from --url, ws→http, wss→https)
  --test TEST_ID        test to start (default: the redeemed invitation's test, or the server's choice)
  --answers MODE        random | first | FILE.json mapping question_id → option id (default random)
  --seed N              seed of --answers random (default: random, printed in the summary)
  --chat MESSAGE        chat message sent after the first question
  --max N               safety cap on questions answered (default 500)
  --progress-every N    ask get_progress after every N answers (default 5, 0 = never)
  --auth frame|query    send the token in an auth frame (default) or the token query parameter
  --timeout MS          connect/request timeout (default 10000)
  --quiet               print only the summary
  --json                print raw frames (sent and received) and the summary as JSON lines
  -h, --help            print this help

Exit code: 0 when the assessment completed, 1 otherwise, 2 on bad arguments.`;

const DEFAULT_URL = 'ws://127.0.0.1:8080/ws/assessment';

const wsUrl = z.string().refine((s) => URL.canParse(s) && ['ws:', 'wss:'].includes(new URL(s).protocol), 'must be a ws:// or wss:// URL');
const httpUrl = z
  .string()
  .refine((s) => URL.canParse(s) && ['http:', 'https:'].includes(new URL(s).protocol), 'must be an http:// or https:// URL');
const intArg = (min: number) =>
  z
    .string()
    .regex(/^-?\d+$/, 'must be an integer')
    .transform(Number)
    .pipe(z.number().int().min(min).max(Number.MAX_SAFE_INTEGER));

const argsSchema = z
  .object({
    url: wsUrl.default(DEFAULT_URL),
    token: z.string().min(1).optional(),
    code: z.string().trim().min(4).max(128).optional(),
    api: httpUrl.optional(),
    test: idSchema.optional(),
    answers: z.string().min(1).default('random'),
    seed: intArg(0).optional(),
    chat: z.string().min(1).max(MAX_CHAT_CHARS).optional(),
    max: intArg(1).default(500),
    'progress-every': intArg(0).default(5),
    auth: z.enum(['frame', 'query']).default('frame'),
    timeout: intArg(1).default(10_000),
    quiet: z.boolean().default(false),
    json: z.boolean().default(false),
  })
  .refine((a) => (a.token === undefined) !== (a.code === undefined), { message: 'give exactly one of --token and --code' });

/** The validated CLI options. */
export type CliArgs = z.infer<typeof argsSchema>;

/** Parses and validates argv; returns the options, `'help'`, or an error message. */
export function parseCliArgs(argv: string[]): { ok: true; args: CliArgs } | { ok: true; help: true } | { ok: false; error: string } {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: 'string' },
        token: { type: 'string' },
        code: { type: 'string' },
        api: { type: 'string' },
        test: { type: 'string' },
        answers: { type: 'string' },
        seed: { type: 'string' },
        chat: { type: 'string' },
        max: { type: 'string' },
        'progress-every': { type: 'string' },
        auth: { type: 'string' },
        timeout: { type: 'string' },
        quiet: { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  if (values['help'] === true) return { ok: true, help: true };
  const parsed = argsSchema.safeParse(values);
  if (!parsed.success) {
    const error = parsed.error.issues.map((i) => (i.path.length > 0 ? `--${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
    return { ok: false, error };
  }
  return { ok: true, args: parsed.data };
}

/** A small deterministic PRNG (mulberry32) returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Chooser = (question: Question) => string;

/** Builds the answer strategy of `--answers`; a file is a JSON object question_id → option id. */
export async function makeChooser(mode: string, seed: number, warn: (line: string) => void): Promise<Chooser> {
  const first: Chooser = (q) => q.options[0]?.id ?? 'A';
  if (mode === 'first') return first;
  if (mode === 'random') {
    const random = seededRandom(seed);
    return (q) => q.options[Math.floor(random() * q.options.length)]?.id ?? first(q);
  }
  const text = await readFile(mode, 'utf8');
  const map = z.record(z.string(), z.string().min(1)).parse(JSON.parse(text));
  return (q) => {
    const option = map[q.question_id];
    if (option !== undefined) return option;
    warn(`no answer for ${q.question_id} in ${mode}: choosing the first option`);
    return first(q);
  };
}

const clip = (text: string, max = 60): string => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/** One-line summary of a received frame; `planned` is the number of questions planned when known. */
export function summarizeServerFrame(frame: ServerFrame, planned?: number): string {
  switch (frame.type) {
    case 'auth_success':
      return `user ${frame.data.user_id} (${frame.data.role}) until ${frame.data.expires_at}`;
    case 'assessment_started': {
      const d = frame.data;
      return `${d.resumed ? 'resumed' : 'new'} assessment ${d.assessment_id} of ${d.test.test_id} "${clip(d.test.title, 40)}", ${d.answered} answered, ${d.time_remaining_s} s left`;
    }
    case 'question': {
      const d = frame.data;
      return `${d.index + 1}${planned === undefined ? '' : `/${planned}`} [${d.skill}] ${clip(d.stem)}`;
    }
    case 'answer_feedback': {
      const d = frame.data;
      const correct = d.correct === undefined ? '' : d.correct ? ' correct' : ' wrong';
      return `${d.question_id} = ${d.selected_option} ${d.accepted ? 'accepted' : 'rejected'}${correct}, ${d.answered} answered${d.finished ? ', finished' : ''}`;
    }
    case 'progress_update': {
      const d = frame.data;
      return `${d.answered}/${d.planned} ${Math.round(d.percent)}% ${d.time_remaining_s} s left (${d.status})`;
    }
    case 'assessment_completed': {
      const d = frame.data;
      const parts = [`${d.status} (${d.reason})`];
      if (d.score !== undefined) parts.push(`score ${d.score}`);
      if (d.result !== undefined) parts.push(`${d.result.number_correct}/${d.result.answered} correct`);
      return parts.join(', ');
    }
    case 'heartbeat_ack':
      return frame.data.server_time;
    case 'chat_message':
      return `[${frame.data.sender_role}] ${clip(frame.data.text, 80)}`;
    case 'time_warning':
      return `${frame.data.time_remaining_s} s left`;
    case 'session_replaced':
      return `another connection took over ${frame.data.assessment_id}`;
    case 'error':
      return `${frame.data.code}: ${frame.data.message}`;
    default:
      return '';
  }
}

/** One-line summary of a sent frame (tokens are never printed). */
export function summarizeClientFrame(frame: OutgoingFrame): string {
  const d = frame.data;
  switch (frame.type) {
    case 'auth':
      return '(token)';
    case 'start_assessment':
      return typeof d['test_id'] === 'string' ? d['test_id'] : '(default test)';
    case 'submit_answer':
      return `${String(d['question_id'])} = ${String(d['selected_option'])}`;
    case 'chat_message':
      return JSON.stringify(clip(String(d['message']), 80));
    default:
      return '';
  }
}

/** Where the CLI writes. */
export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

const defaultIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

const clock = (): string => new Date().toISOString().slice(11, 23);

/** Runs the CLI; resolves with the exit code. */
export async function runCli(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const parsed = parseCliArgs(argv);
  if (!parsed.ok) {
    io.err(`error: ${parsed.error}\n(run with --help for the usage)`);
    return 2;
  }
  if ('help' in parsed) {
    io.out(USAGE);
    return 0;
  }
  const args = parsed.args;
  const t0 = Date.now();
  const seed = args.seed ?? Math.floor(Math.random() * 2 ** 31);
  let choose: Chooser;
  try {
    choose = await makeChooser(args.answers, seed, (line) => io.err(`warning: ${line}`));
  } catch (err) {
    io.err(`error: --answers ${args.answers}: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }

  const { note, printIn, printOut } = framePrinter(args, io);

  const summary: Record<string, unknown> = { completed: false, seed };
  const finish = (code: number, failure?: string): number => {
    summary['exit_code'] = code;
    summary['duration_s'] = Math.round((Date.now() - t0) / 100) / 10;
    if (failure !== undefined) summary['failure'] = failure;
    if (args.json) {
      io.out(JSON.stringify({ summary }));
    } else {
      const parts = Object.entries(summary)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
      io.out(`summary: ${parts.join(' ')}`);
    }
    if (failure !== undefined && !args.json) io.err(`error: ${failure}`);
    return code;
  };

  // 1. token
  let token = args.token ?? '';
  let testId = args.test;
  if (args.code !== undefined) {
    const apiBase = args.api ?? apiBaseFromWsUrl(args.url);
    note(`POST ${apiBase}/api/auth/invitations/redeem`);
    try {
      const redeemed = await redeemInvitation(apiBase, args.code);
      token = redeemed.token;
      testId ??= redeemed.test_id;
      note(`redeemed: user ${redeemed.user_id} (${redeemed.role}), test ${redeemed.test_id}, application ${redeemed.application_id}`);
    } catch (err) {
      return finish(1, `redeeming the invitation failed: ${message(err)}`);
    }
  }

  // 2. connect and authenticate
  let client: PlatformClient;
  try {
    client = await connectClient({
      url: args.url,
      ...(args.auth === 'query' ? { token } : {}),
      timeoutMs: args.timeout,
      onSend: printOut,
    });
  } catch (err) {
    return finish(1, message(err));
  }
  note(`connected to ${args.url}`);
  client.on('*', printIn);
  let errors = 0;
  client.on('error', () => errors++);

  let completed: ServerFrameOf<'assessment_completed'> | undefined;
  let failure: string | undefined;
  let answered = 0;
  try {
    if (args.auth === 'frame') {
      const reply = await client.auth(token);
      if (reply.type !== 'auth_success') throw new Error(`authentication failed: ${describeFrame(reply)}`);
    }
    // 3. play
    completed = await playAssessment(client, {
      ...(testId === undefined ? {} : { testId }),
      choose,
      maxQuestions: args.max,
      completionTimeoutMs: args.timeout,
      onQuestion: async (_question, count) => {
        if (count === 1 && args.chat !== undefined) {
          await client.chat(args.chat).catch((err: unknown) => note(`chat failed: ${message(err)}`));
        }
      },
      onAnswer: async (feedback, count) => {
        answered = feedback.data.answered;
        const every = args['progress-every'];
        if (every > 0 && count % every === 0 && !feedback.data.finished) {
          await client.getProgress().catch((err: unknown) => note(`get_progress failed: ${message(err)}`));
        }
      },
    });
  } catch (err) {
    failure = err instanceof QuestionCapError ? `${err.message} (--max ${args.max})` : message(err);
  }

  // 4. end it ourselves when the server has not completed it
  let endedByClient = false;
  if (completed === undefined && client.isOpen) {
    try {
      const reply = await client.endAssessment();
      if (reply.type === 'assessment_completed') {
        completed = reply;
        endedByClient = true;
      }
    } catch (err) {
      note(`end_assessment failed: ${message(err)}`);
    }
  }
  client.close(1000, 'done');
  await Promise.race([client.closed, new Promise((r) => setTimeout(r, 1000).unref())]);

  Object.assign(summary, outcomeSummary(completed, { endedByClient, failed: failure !== undefined, answered }));
  summary['errors'] = errors;
  summary['frames'] = client.frames.length;
  return finish(summary['completed'] === true ? 0 : 1, failure);
}

/** How the CLI shows frames and notes: one line each, JSON lines with --json, nothing but the summary with --quiet. */
function framePrinter(args: CliArgs, io: CliIo) {
  let planned: number | undefined;
  return {
    note: (line: string): void => {
      if (!args.quiet && !args.json) io.out(`${clock()} · ${line}`);
    },
    printIn: (frame: ServerFrame): void => {
      if (frame.type === 'assessment_started') planned = frame.data.test.planned_items.max;
      if (frame.type === 'progress_update') planned = frame.data.planned;
      if (args.quiet) return;
      if (args.json) io.out(JSON.stringify(frame));
      else io.out(`${clock()} ← ${frame.type} ${summarizeServerFrame(frame, planned)}`.trimEnd());
    },
    printOut: (frame: OutgoingFrame): void => {
      if (args.quiet) return;
      const shown = frame.type === 'auth' ? { ...frame, data: { token: '***' } } : frame;
      if (args.json) io.out(JSON.stringify(shown));
      else io.out(`${clock()} → ${frame.type} ${summarizeClientFrame(frame)}`.trimEnd());
    },
  };
}

/** The summary fields that say how the assessment ended. */
function outcomeSummary(
  completed: ServerFrameOf<'assessment_completed'> | undefined,
  run: { endedByClient: boolean; failed: boolean; answered: number },
): Record<string, unknown> {
  const d = completed?.data;
  const summary: Record<string, unknown> = {
    completed: completed !== undefined && !run.endedByClient && !run.failed,
    assessment_id: d?.assessment_id,
    status: d?.status,
    reason: d?.reason,
    answered: d?.result?.answered ?? run.answered,
  };
  if (d?.score !== undefined) summary['score'] = d.score;
  if (d?.result !== undefined) {
    summary['correct'] = d.result.number_correct;
    summary['percent_correct'] = d.result.percent_correct;
  }
  if (run.endedByClient) summary['ended_by_client'] = true;
  return summary;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

if (import.meta.main) {
  process.exitCode = await runCli(process.argv.slice(2));
}
