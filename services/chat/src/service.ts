import { AppError, events } from '@ap/protocol';
import type { ChatMessage, ParsedRequestOf } from '@ap/protocol';
import type { Bus, HandlerContext } from '@ap/bus';
import type { Db } from '@ap/db';
import type { Logger } from '@ap/logging';
import type { Clock } from './clock.ts';
import { createMessageIdGenerator } from './message-id.ts';
import type { RandomBytes } from './message-id.ts';
import { createMessageStore } from './messages.ts';
import type { HistoryPage } from './messages.ts';
import { createRateLimiter } from './rate-limit.ts';
import type { RateLimitSettings } from './rate-limit.ts';
import { createRoomDirectory } from './rooms.ts';
import { normalizeChatText } from './text.ts';

/** NATS queue group of the chat service. */
export const CHAT_QUEUE = 'chat';

/** What the chat service needs. */
export type ChatServiceDeps = {
  bus: Bus;
  db: Db;
  log: Logger;
  clock: Clock;
  /** Messages per user: burst and refill; default 5 burst, 1 per second. */
  rateLimit?: RateLimitSettings;
  /** How long a room's members are cached; default 5 minutes. */
  roomCacheTtlMs?: number;
  /** Random source of message ids; default node:crypto. */
  random?: RandomBytes;
};

/** The chat service: serves `chatPost` and `chatHistory` once started. */
export type ChatService = {
  /** Creates the indexes, then starts answering requests in the `chat` queue group. */
  start(): Promise<void>;
  /** Stops taking requests and waits for those in progress. */
  close(): Promise<void>;
};

/** Creates the chat service of assessment rooms. */
export function createChatService(deps: ChatServiceDeps): ChatService {
  const { bus, clock } = deps;
  const log = deps.log.child({ module: 'chat' });
  const store = createMessageStore(deps.db);
  const rooms = createRoomDirectory({ bus, clock, ...(deps.roomCacheTtlMs === undefined ? {} : { cacheTtlMs: deps.roomCacheTtlMs }) });
  const limiter = createRateLimiter(deps.rateLimit ?? { burst: 5, refillPerSecond: 1 }, clock);
  const nextId = createMessageIdGenerator(clock, deps.random);
  const subscriptions: Array<ReturnType<Bus['serve']>> = [];
  const inFlight = new Set<Promise<unknown>>();

  function track<T>(work: Promise<T>): Promise<T> {
    inFlight.add(work);
    void work.then(
      () => inFlight.delete(work),
      () => inFlight.delete(work),
    );
    return work;
  }

  async function post(request: ParsedRequestOf<'chatPost'>, context: HandlerContext): Promise<ChatMessage> {
    const { caller, room_id: roomId } = request;
    const waitMs = limiter.take(caller.user_id);
    if (waitMs > 0) {
      throw new AppError('RATE_LIMITED', 'too many chat messages; slow down', { details: { retry_after_ms: waitMs } });
    }
    await rooms.authorize(caller, roomId, context.requestId === undefined ? {} : { requestId: context.requestId });
    const text = normalizeChatText(request.message);
    const message = await store.insert({
      _id: nextId(),
      room_id: roomId,
      sender_id: caller.user_id,
      sender_role: caller.role,
      text,
      created_at: clock.now(),
    });
    bus.publish(events.chatRoom.subject(roomId), message, context.requestId === undefined ? {} : { requestId: context.requestId });
    context.log.debug({ room_id: roomId, message_id: message.message_id, sender_id: caller.user_id }, 'chat message stored');
    return message;
  }

  async function history(request: ParsedRequestOf<'chatHistory'>, context: HandlerContext): Promise<HistoryPage> {
    await rooms.authorize(request.caller, request.room_id, context.requestId === undefined ? {} : { requestId: context.requestId });
    return store.history(request.room_id, { before: request.before, limit: request.limit });
  }

  async function start(): Promise<void> {
    await store.ensureIndexes();
    subscriptions.push(
      bus.serve('chatPost', CHAT_QUEUE, (request, context) => track(post(request, context))),
      bus.serve('chatHistory', CHAT_QUEUE, (request, context) => track(history(request, context))),
    );
    log.info('chat service started');
  }

  async function close(): Promise<void> {
    const draining = subscriptions.splice(0).map((s) => (s.isClosed() ? Promise.resolve() : s.drain()));
    await Promise.allSettled(draining);
    await Promise.allSettled([...inFlight]);
    log.info('chat service stopped');
  }

  return { start, close };
}
