/**
 * Test helper: a scripted WebSocket peer — a tiny protocol-speaking server (the `ws` package) whose
 * handlers answer frames like the gateway would, for the SDK and CLI unit tests. Node-only; not
 * exported from the package.
 */
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { RawData, WebSocket as WsWebSocket } from 'ws';

/** A frame the scripted server received. */
export type Incoming = { type: string; data: Record<string, unknown>; id?: string };
/** Sends a server frame. */
export type Reply = (type: string, data: Record<string, unknown>, replyTo?: string) => void;
/** Answers one received frame. */
export type Handler = (frame: Incoming, reply: Reply, socket: WsWebSocket) => void;

/** A running scripted server. */
export interface TestServer {
  url: string;
  received: Incoming[];
  upgradeUrls: string[];
  close: () => Promise<void>;
}

/** The text of a received WebSocket message, whichever shape `ws` delivered it in. */
function rawText(raw: RawData): string {
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  return new TextDecoder().decode(raw);
}

/** A tiny protocol-speaking WebSocket server on a free port; `handler` answers each frame. */
export async function startServer(handler: Handler): Promise<TestServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const received: Incoming[] = [];
  const upgradeUrls: string[] = [];
  wss.on('connection', (socket, req) => {
    upgradeUrls.push(req.url ?? '');
    const reply: Reply = (type, data, replyTo) => {
      const frame: Record<string, unknown> = { type, data, ts: new Date().toISOString() };
      if (replyTo !== undefined) frame['reply_to'] = replyTo;
      socket.send(JSON.stringify(frame));
    };
    socket.on('message', (raw) => {
      const frame = JSON.parse(rawText(raw)) as Incoming;
      received.push(frame);
      handler(frame, reply, socket);
    });
  });
  const port = (wss.address() as AddressInfo).port;
  const server: TestServer = {
    url: `ws://127.0.0.1:${port}/ws/assessment`,
    received,
    upgradeUrls,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
  return server;
}

/** Answers the simple request/reply frames like the gateway does. */
export const basic: Handler = (frame, reply) => {
  switch (frame.type) {
    case 'heartbeat':
      reply('heartbeat_ack', { server_time: new Date().toISOString() }, frame.id);
      break;
    case 'auth':
      if (frame.data['token'] === 'good') reply('auth_success', { user_id: 'u1', role: 'candidate', expires_at: 'x' }, frame.id);
      else reply('error', { code: 'AUTH_INVALID', message: 'bad token' }, frame.id);
      break;
    default:
      reply('error', { code: 'UNKNOWN_TYPE', message: `unknown frame type "${frame.type}"` }, frame.id);
  }
};

const question = (n: number) => ({
  assessment_id: 'a1',
  question_id: `q${n}`,
  index: n - 1,
  type: 'single_choice',
  stem: `What is ${n} + ${n}?`,
  options: [
    { id: 'A', text: String(n * 2) },
    { id: 'B', text: String(n * 3) },
  ],
  skill: 'math',
  time_remaining_s: 600,
});

const completedData = (reason: string) => ({
  assessment_id: 'a1',
  status: 'completed',
  reason,
  finished_at: new Date().toISOString(),
  score: 100,
});

/**
 * A scripted assessment of `total` questions; completion arrives as a push after the last answer,
 * or as the get_question reply. With `nextInFeedback`, each feedback carries the next question.
 */
export function assessmentHandler(
  total: number,
  mode: 'push-after-answer' | 'reply-to-get-question',
  options: { nextInFeedback?: boolean } = {},
): Handler {
  let answered = 0;
  let done = false;
  return (frame, reply, socket) => {
    switch (frame.type) {
      case 'start_assessment': {
        const testId = frame.data['test_id'];
        reply(
          'assessment_started',
          {
            assessment_id: 'a1',
            test: {
              test_id: typeof testId === 'string' ? testId : 't1',
              title: 'T',
              strategy: 'fixed',
              time_limit_s: 600,
              planned_items: { min: total, max: total },
              skills: ['math'],
              show_feedback: true,
            },
            started_at: new Date().toISOString(),
            deadline: new Date(Date.now() + 600_000).toISOString(),
            resumed: false,
            answered: 0,
            time_remaining_s: 600,
            current_question_id: null,
          },
          frame.id,
        );
        break;
      }
      case 'get_question':
        if (done || answered >= total) reply('assessment_completed', completedData('all_answered'), frame.id);
        else reply('question', question(answered + 1), frame.id);
        break;
      case 'submit_answer': {
        answered++;
        const finished = mode === 'push-after-answer' && answered >= total;
        reply(
          'answer_feedback',
          {
            assessment_id: 'a1',
            question_id: frame.data['question_id'],
            accepted: true,
            selected_option: frame.data['selected_option'],
            answered,
            finished,
            ...(options.nextInFeedback === true && !finished && answered < total ? { next_question: question(answered + 1) } : {}),
          },
          frame.id,
        );
        if (finished) {
          done = true;
          reply('assessment_completed', completedData('max_items'));
        }
        break;
      }
      case 'get_progress':
        reply(
          'progress_update',
          {
            assessment_id: 'a1',
            status: done ? 'completed' : 'in_progress',
            answered,
            planned: total,
            planned_range: { min: total, max: total },
            percent: (100 * answered) / total,
            time_remaining_s: 600,
            skills: [{ skill: 'math', answered }],
          },
          frame.id,
        );
        break;
      case 'chat_message': {
        const message = { message_id: 'm1', room_id: 'r1', created_at: new Date().toISOString() };
        reply('chat_message', { ...message, sender_id: 'u1', sender_role: 'candidate', text: frame.data['message'] }, frame.id);
        reply('chat_message', { ...message, message_id: 'm2', sender_id: 'assistant', sender_role: 'assistant', text: 'How can I help?' });
        break;
      }
      case 'end_assessment':
        if (done) {
          reply('error', { code: 'ASSESSMENT_NOT_ACTIVE', message: 'the assessment is over' }, frame.id);
        } else {
          done = true;
          reply('assessment_completed', completedData('candidate_ended'), frame.id);
        }
        break;
      default:
        basic(frame, reply, socket);
    }
  };
}
