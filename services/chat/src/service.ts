import type { Bus } from '@ap/bus';
import type { Db } from '@ap/db';
import type { Logger } from '@ap/logging';
import type { Clock } from '@ap/protocol';
import type { ChatContext } from './context.ts';
import { createMessageIdGenerator } from './message-id.ts';
import type { RandomBytes } from './message-id.ts';
import { createMessageStore } from './messages.ts';
import { postMessage, readHistory } from './posting.ts';
import { createRateLimiter } from './rate-limit.ts';
import type { RateLimitSettings } from './rate-limit.ts';
import { CHAT_ROOMS, createRoomDirectory } from './rooms.ts';
import type { SupportRoomDoc } from './rooms.ts';
import { listSupportRooms, openSupportRoom } from './support.ts';

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
  const supportRooms = deps.db.collection<SupportRoomDoc>(CHAT_ROOMS);
  const rooms = createRoomDirectory({
    bus,
    clock,
    supportRooms,
    ...(deps.roomCacheTtlMs === undefined ? {} : { cacheTtlMs: deps.roomCacheTtlMs }),
  });
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

  const ctx: ChatContext = { bus, clock, store, supportRooms, rooms, limiter, nextId, track };

  async function start(): Promise<void> {
    await store.ensureIndexes();
    await supportRooms.createIndexes([{ key: { members: 1 }, name: 'members' }]);
    subscriptions.push(
      bus.serve('chatPost', CHAT_QUEUE, (request, context) => track(postMessage(ctx, request, context))),
      bus.serve('chatHistory', CHAT_QUEUE, (request, context) => track(readHistory(ctx, request, context))),
      bus.serve('chatOpenRoom', CHAT_QUEUE, (request, context) => track(openSupportRoom(ctx, request, context))),
      bus.serve('chatRooms', CHAT_QUEUE, (request) => track(listSupportRooms(ctx, request))),
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
