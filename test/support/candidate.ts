import { findAssessments } from '../../services/assessment/src/repository.ts';
import { retryDelayMs } from '@ap/client';
import type { Db } from 'mongodb';
import { WebSocket } from 'ws';

/** What a candidate that survives faults saw: every answer acknowledged to it, and how it ended. */
export type CandidateRun = {
  acknowledged: Map<string, string>;
  /**
   * What the server said that contradicts an acknowledgement: an acknowledged question asked
   * again, a question whose index is below the answers acknowledged, or `answered` going down.
   * A forgotten answer that is asked again and re-answered would otherwise count as kept.
   */
  contradictions: string[];
  /** The gateway URL of each connection that started the assessment, in order. */
  gateways: string[];
  assessmentId: string | undefined;
  completed: Record<string, unknown> | undefined;
  reconnects: number;
  retries: number;
  /** Requests that got no reply in time (a hang, unless the connection was being cut). */
  timeouts: number;
  errors: Record<string, number>;
};

type Frame = { type: string; data: Record<string, unknown>; reply_to?: string };

/**
 * Plays a whole assessment the way a robust client does: on a dropped connection it reconnects
 * with backoff, sends start_assessment again and resends an answer whose acknowledgement it did
 * not get; a request that times out or gets SERVICE_UNAVAILABLE/TIMEOUT is retried after a pause
 * that grows with the failures in a row (200 ms doubling to 3 s, with jitter), as the SDK does.
 * Bounded by `deadlineMs`. `onAnswer` lets a test pace or observe the answers.
 */
export async function resilientCandidate(options: {
  wsUrl: string;
  /** Other gateways to fail over to: each reconnect moves on to the next URL, starting from `wsUrl`. */
  wsUrls?: string[];
  token: string;
  deadlineMs: number;
  thinkMs?: number;
  requestTimeoutMs?: number;
  choose?: (questionId: string, optionIds: string[]) => string;
  /** Called after each acknowledged answer, so that a test can act when traffic is in flight. */
  onAcknowledged?: () => void;
}): Promise<CandidateRun> {
  const run: CandidateRun = {
    acknowledged: new Map(),
    contradictions: [],
    gateways: [],
    assessmentId: undefined,
    completed: undefined,
    reconnects: 0,
    retries: 0,
    timeouts: 0,
    errors: {},
  };
  const stopAt = Date.now() + options.deadlineMs;
  const timeoutMs = options.requestTimeoutMs ?? 8000;
  let pending: { question_id: string; option: string } | undefined;
  // The most answers the server has reported (feedback `answered`, or a question's index).
  let answered = 0;
  const contradiction = (what: string) => run.contradictions.push(what);
  let seq = 0;
  const urls = [options.wsUrl, ...(options.wsUrls ?? []).filter((u) => u !== options.wsUrl)];
  // Error replies in a row: the pause before the next try grows with them.
  let failures = 0;
  const backoff = (frame: Frame) => {
    failures += 1;
    const details = frame.data['details'] as { retry_after_ms?: unknown } | undefined;
    const retryAfterMs = typeof details?.retry_after_ms === 'number' ? details.retry_after_ms : undefined;
    return sleep(retryDelayMs(failures, { baseMs: 200, maxMs: 3000, retryAfterMs }));
  };

  while (run.completed === undefined && Date.now() < stopAt) {
    let conn: Conn;
    const wsUrl = urls[run.reconnects % urls.length] as string;
    try {
      conn = await open(`${wsUrl}/ws/assessment?token=${encodeURIComponent(options.token)}`, timeoutMs);
    } catch {
      run.reconnects += 1;
      await sleep(Math.min(2000, 100 * 2 ** Math.min(run.reconnects, 4)));
      continue;
    }
    try {
      const request = async (type: string, data: Record<string, unknown>): Promise<Frame> => {
        const id = `r${++seq}`;
        conn.ws.send(JSON.stringify({ type, data, id }));
        return conn.reply(id, timeoutMs);
      };
      // (Re)start: resumes the in-progress assessment.
      const started = await request('start_assessment', {});
      if (started.type === 'assessment_completed') {
        run.completed = started.data;
        break;
      }
      if (started.type !== 'assessment_started') {
        count(run, started);
        await backoff(started);
        continue;
      }
      failures = 0;
      run.assessmentId = String(started.data['assessment_id']);
      run.gateways.push(wsUrl);
      while (run.completed === undefined && Date.now() < stopAt) {
        if (pending === undefined) {
          const q = await request('get_question', {});
          if (q.type === 'assessment_completed') {
            run.completed = q.data;
            break;
          }
          if (q.type !== 'question') {
            count(run, q);
            await backoff(q);
            continue;
          }
          failures = 0;
          const qid = String(q.data['question_id']);
          const index = Number(q.data['index']);
          if (run.acknowledged.has(qid)) contradiction(`acknowledged question ${qid} was asked again`);
          if (index < run.acknowledged.size)
            contradiction(`question index ${String(index)} after ${String(run.acknowledged.size)} acknowledged answers`);
          answered = Math.max(answered, index);
          const optionIds = (q.data['options'] as { id: string }[]).map((o) => o.id);
          pending = { question_id: qid, option: options.choose?.(qid, optionIds) ?? (optionIds[0] as string) };
          if (options.thinkMs !== undefined) await sleep(options.thinkMs);
        }
        const fb = await request('submit_answer', { question_id: pending.question_id, selected_option: pending.option });
        if (fb.type === 'answer_feedback') {
          failures = 0;
          const now = Number(fb.data['answered']);
          if (now < answered) contradiction(`answered went down from ${String(answered)} to ${String(now)}`);
          answered = Math.max(answered, now);
          run.acknowledged.set(pending.question_id, pending.option);
          pending = undefined;
          options.onAcknowledged?.();
          if (fb.data['finished'] === true) {
            const done = await conn.next((f) => f.type === 'assessment_completed', timeoutMs);
            run.completed = done.data;
          }
          continue;
        }
        count(run, fb);
        if (fb.type === 'error' && fb.data['code'] === 'CONFLICT') pending = undefined; // asked again from the server's view
        await backoff(fb);
      }
    } catch (err) {
      // Connection lost or a reply never came: reconnect and resume.
      run.retries += 1;
      if (err instanceof Error && err.message === 'timeout') run.timeouts += 1;
    } finally {
      conn.ws.terminate();
    }
    if (run.completed === undefined) {
      run.reconnects += 1;
      await sleep(100);
    }
  }
  return run;
}

function count(run: CandidateRun, frame: Frame): void {
  const code = frame.type === 'error' ? String(frame.data['code']) : frame.type;
  run.errors[code] = (run.errors[code] ?? 0) + 1;
  run.retries += 1;
}

type Conn = {
  ws: WebSocket;
  reply(id: string, timeoutMs: number): Promise<Frame>;
  next(pred: (f: Frame) => boolean, timeoutMs: number): Promise<Frame>;
};

function open(url: string, timeoutMs: number): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const frames: Frame[] = [];
    const waiters = new Set<() => void>();
    let closed = false;
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('connect timeout'));
    }, timeoutMs);
    ws.on('message', (raw) => {
      frames.push(JSON.parse((raw as Buffer).toString('utf8')) as Frame);
      for (const w of waiters) w();
    });
    ws.on('close', () => {
      closed = true;
      for (const w of waiters) w();
    });
    ws.on('error', () => undefined);
    ws.once('open', () => {
      clearTimeout(timer);
      const next = (pred: (f: Frame) => boolean, ms: number): Promise<Frame> =>
        new Promise((res, rej) => {
          const check = () => {
            const i = frames.findIndex(pred);
            if (i >= 0) {
              const [hit] = frames.splice(i, 1);
              done();
              res(hit as Frame);
            } else if (closed) {
              done();
              rej(new Error('closed'));
            }
          };
          const t = setTimeout(() => {
            done();
            rej(new Error('timeout'));
          }, ms);
          const done = () => {
            clearTimeout(t);
            waiters.delete(check);
          };
          waiters.add(check);
          check();
        });
      resolve({ ws, next, reply: (id, ms) => next((f) => f.reply_to === id, ms) });
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** What the database holds against what each candidate was told. */
export type Tally = {
  acknowledged: number;
  stored: number;
  /** Answers stored twice for the same question. */
  duplicates: number;
  /** Acknowledged answers not stored exactly once with the acknowledged option. */
  lost: number;
  /** Candidates whose run did not complete, or whose assessment is missing, not completed or short of `items`. */
  unfinished: number;
  /** Contradictions of acknowledgements the candidates saw (see CandidateRun.contradictions), all listed. */
  contradictions: string[];
  /** Candidates with other than exactly one assessment of the test(s) played. */
  notOneAssessment: number;
  reconnects: number;
  timeouts: number;
  errors: Record<string, number>;
};

/**
 * Reads the candidates' assessments from the database and checks every acknowledged answer
 * against them (`userIds[i]` played `runs[i]`).
 */
export async function tallyRuns(db: Db, userIds: readonly string[], runs: readonly CandidateRun[], items?: number): Promise<Tally> {
  const docs = await findAssessments(db, { candidate_id: { $in: [...userIds] } });
  const byCandidate = new Map(docs.map((d) => [d.candidate_id, d] as const));
  const perCandidate = new Map<string, number>();
  for (const d of docs) perCandidate.set(d.candidate_id, (perCandidate.get(d.candidate_id) ?? 0) + 1);
  const t: Tally = {
    acknowledged: 0,
    stored: 0,
    duplicates: 0,
    lost: 0,
    unfinished: 0,
    contradictions: [],
    notOneAssessment: userIds.filter((u) => perCandidate.get(u) !== 1).length,
    reconnects: 0,
    timeouts: 0,
    errors: {},
  };
  for (const [i, run] of runs.entries()) {
    const doc = byCandidate.get(userIds[i] ?? '');
    t.acknowledged += run.acknowledged.size;
    t.contradictions.push(...run.contradictions.map((c) => `${userIds[i] ?? String(i)}: ${c}`));
    t.reconnects += run.reconnects;
    t.timeouts += run.timeouts;
    for (const [code, n] of Object.entries(run.errors)) t.errors[code] = (t.errors[code] ?? 0) + n;
    if (doc === undefined) {
      t.lost += run.acknowledged.size;
      t.unfinished += 1;
      continue;
    }
    t.stored += doc.responses.length;
    t.duplicates += doc.responses.length - new Set(doc.responses.map((r) => r.item_id)).size;
    for (const [qid, option] of run.acknowledged) {
      if (doc.responses.filter((r) => r.item_id === qid && r.selected_option === option).length !== 1) t.lost += 1;
    }
    if (run.completed === undefined || doc.status !== 'completed' || (items !== undefined && doc.responses.length !== items))
      t.unfinished += 1;
  }
  return t;
}
