import type { Question, ServerFrame } from '@ap/protocol';
import { RETRYABLE_CODES, retryAfterOf, retryDelayMs } from './backoff.ts';
import type { BackoffOptions } from './backoff.ts';
import { DEFAULT_TIMEOUT_MS, UnexpectedFrameError } from './client.ts';
import type { FrameListener, PlatformClient, ServerFrameOf } from './client.ts';

/** Options of `playAssessment`. */
export interface PlayOptions {
  /** Test to start or resume; omitted lets the server pick the token's test. */
  testId?: string;
  /** Picks the option id to submit for a question. */
  choose: (question: Question) => string | Promise<string>;
  /** Called with every frame received while playing. */
  onFrame?: FrameListener;
  /** Called after each `question` reply (before answering). */
  onQuestion?: (question: Question, count: number) => void | Promise<void>;
  /** Called after each `answer_feedback` reply. */
  onAnswer?: (feedback: ServerFrameOf<'answer_feedback'>, count: number) => void | Promise<void>;
  /** Safety cap on questions answered; reaching it throws (default 500). */
  maxQuestions?: number;
  /** How long to wait for `assessment_completed` after the last answer (default: the client's timeout). */
  completionTimeoutMs?: number;
  /**
   * How many times in a row one request is sent again after a {@link RETRYABLE_CODES} error before
   * the error ends the game (default 6); the pauses between them follow `backoff`.
   */
  retries?: number;
  /** Spacing of those retries (default: 250 ms doubling to 10 s, with jitter). */
  backoff?: BackoffOptions;
}

/** Thrown by `playAssessment` when the question cap is reached before the assessment completed. */
export class QuestionCapError extends Error {
  readonly answered: number;
  constructor(answered: number) {
    super(`stopped after ${answered} questions (cap reached) before the assessment completed`);
    this.name = 'QuestionCapError';
    this.answered = answered;
  }
}

/**
 * Starts (or resumes) an assessment and answers questions until it completes; returns the
 * `assessment_completed` frame, whether it came as a reply or as a push. Throws on an unexpected
 * error frame, the question cap, a timeout or a closed connection.
 */
export async function playAssessment(client: PlatformClient, options: PlayOptions): Promise<ServerFrameOf<'assessment_completed'>> {
  const maxQuestions = options.maxQuestions ?? 500;
  let completed: ServerFrameOf<'assessment_completed'> | undefined;
  let wakeCompleted: (() => void) | undefined;
  const offCompleted = client.on('assessment_completed', (frame) => {
    completed ??= frame as ServerFrameOf<'assessment_completed'>;
    wakeCompleted?.();
  });
  // Read through a function: `completed` is set by the listener above while this function awaits,
  // which control-flow narrowing does not see.
  const completedPush = (): ServerFrameOf<'assessment_completed'> | undefined => completed;
  const offFrame = options.onFrame === undefined ? () => {} : client.on('*', options.onFrame);

  /** Waits until `assessment_completed` has arrived (or the timeout). */
  const awaitCompleted = (timeoutMs: number): Promise<ServerFrameOf<'assessment_completed'> | undefined> => {
    if (completed !== undefined) return Promise.resolve(completed);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        wakeCompleted = undefined;
        resolve(completed);
      }, timeoutMs);
      wakeCompleted = () => {
        clearTimeout(timer);
        wakeCompleted = undefined;
        resolve(completed);
      };
      void client.closed.then(() => wakeCompleted?.());
    });
  };
  const completionTimeout = options.completionTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const retries = options.retries ?? 6;

  /** Sends a request, and again after a growing, jittered pause while the reply is a retryable error. */
  const ask = async (send: () => Promise<ServerFrame>): Promise<ServerFrame> => {
    for (let attempt = 1; ; attempt++) {
      const reply = await send();
      if (reply.type !== 'error' || !RETRYABLE_CODES.has(reply.data.code) || attempt > retries || completed !== undefined) return reply;
      const delay = retryDelayMs(attempt, { ...options.backoff, retryAfterMs: retryAfterOf(reply) });
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  };

  /** An error frame ends the game: if the server completed the assessment meanwhile, that is the result. */
  const onError = async (frame: ServerFrame, expected: string[]): Promise<ServerFrameOf<'assessment_completed'>> => {
    const code = frame.type === 'error' ? frame.data.code : '';
    const maybeOver = code === 'ASSESSMENT_NOT_ACTIVE' || code === 'TIME_EXPIRED';
    const done = await awaitCompleted(maybeOver ? Math.min(2000, completionTimeout) : 0);
    if (done !== undefined) return done;
    throw new UnexpectedFrameError(frame, expected);
  };

  try {
    const started = await ask(() => client.startAssessment(options.testId));
    if (started.type === 'assessment_completed') return started;
    if (started.type !== 'assessment_started') return await onError(started, ['assessment_started']);

    let count = 0;
    // The question the last feedback named as next: shown without asking get_question for it.
    let announced: Question | undefined;
    for (;;) {
      if (completed !== undefined) return completed;
      let question: Question;
      if (announced === undefined) {
        const reply = await ask(() => client.getQuestion());
        if (reply.type === 'assessment_completed') return completedPush() ?? reply;
        if (reply.type !== 'question') return await onError(reply, ['question', 'assessment_completed']);
        question = reply.data;
      } else {
        question = announced;
        announced = undefined;
      }
      if (count >= maxQuestions) throw new QuestionCapError(count);
      count++;
      await options.onQuestion?.(question, count);
      const option = await options.choose(question);
      const feedback = await ask(() => client.submitAnswer(question.question_id, option));
      if (feedback.type === 'assessment_completed') return completedPush() ?? feedback;
      if (feedback.type !== 'answer_feedback') return await onError(feedback, ['answer_feedback']);
      await options.onAnswer?.(feedback, count);
      announced = feedback.data.next_question;
      if (feedback.data.finished) {
        const done = await awaitCompleted(completionTimeout);
        if (done === undefined) throw new Error(`the test finished but no assessment_completed came within ${completionTimeout} ms`);
        return done;
      }
    }
  } finally {
    offCompleted();
    offFrame();
  }
}
