import { randomUUID } from 'node:crypto';
import { AppError, SUPPORT_ROOM_PREFIX, assessmentIdOfRoom, isAppError } from '@ap/protocol';
import type { Caller, ChatMessage, ParsedRequestOf, ResponseOf, Room } from '@ap/protocol';
import type { Bus, HandlerContext } from '@ap/bus';
import type { Db } from '@ap/db';
import type { Logger } from '@ap/logging';
import type { Clock } from '@ap/protocol';
import { createMessageIdGenerator } from './message-id.ts';
import type { RandomBytes } from './message-id.ts';
import { createMessageStore } from './messages.ts';
import type { HistoryPage } from './messages.ts';
import { createRateLimiter } from './rate-limit.ts';
import type { RateLimitSettings } from './rate-limit.ts';
import { CHAT_ROOMS, createRoomDirectory, isMember, roomView, supportRoom } from './rooms.ts';
import type { SupportRoomDoc } from './rooms.ts';
import { ASSISTANT_ID, assistantReply, wantsAuthorNote } from './assistant.ts';
import type { HelpContext } from './assistant.ts';
import type { NoteOptions } from './author-note.ts';
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
      created_at: clock(),
    });
    bus.publish('chatRoom', roomId, message, context.requestId === undefined ? {} : { requestId: context.requestId });
    context.log.debug({ room_id: roomId, message_id: message.message_id, sender_id: caller.user_id }, 'chat message stored');
    const assessmentId = assessmentIdOfRoom(roomId);
    if (caller.role === 'candidate' && assessmentId !== undefined) void track(assist(caller, roomId, assessmentId, text, context));
    return message;
  }

  /** The help assistant answers a candidate's question in an assessment room, after the question itself. */
  async function assist(caller: Caller, roomId: string, assessmentId: string, text: string, context: HandlerContext): Promise<void> {
    try {
      const opts = context.requestId === undefined ? {} : { requestId: context.requestId };
      const help = await bus.request('assessmentHelpContext', { caller, assessment_id: assessmentId }, opts);
      const reply = assistantReply(
        text,
        help,
        wantsAuthorNote(text, help) ? await questionOptions(caller, assessmentId, help, context) : undefined,
      );
      if (reply === undefined) return;
      const message = await store.insert({
        _id: nextId(),
        room_id: roomId,
        sender_id: ASSISTANT_ID,
        sender_role: 'assistant',
        text: reply,
        created_at: clock(),
      });
      bus.publish('chatRoom', roomId, message, context.requestId === undefined ? {} : { requestId: context.requestId });
    } catch (err) {
      // The candidate's message is stored and delivered; a proctor answers instead.
      context.log.warn({ err, room_id: roomId }, 'help assistant could not answer');
    }
  }

  /**
   * The options of the question the help context describes, as the candidate sees them, to check
   * its author's note against; undefined (the note is withheld) when they cannot be had or the
   * candidate has moved on to another question meanwhile.
   */
  async function questionOptions(
    caller: Caller,
    assessmentId: string,
    help: HelpContext,
    context: HandlerContext,
  ): Promise<NoteOptions | undefined> {
    try {
      const current = await bus.request(
        'assessmentQuestion',
        { caller, assessment_id: assessmentId },
        context.requestId === undefined ? {} : { requestId: context.requestId },
      );
      if (current.question === null || current.question.index !== help.question?.index) return undefined;
      return current.question.options;
    } catch (err) {
      context.log.warn({ err, assessment_id: assessmentId }, 'question options unavailable; the author note is withheld');
      return undefined;
    }
  }

  /**
   * The tests of a candidate that the opener of a support room may see, from the auth service, which
   * keeps invitations. NOT_FOUND for an id that is no candidate, or one with no test in the opener's
   * scope (the same answer, so that it does not tell whether someone exists elsewhere); admins may
   * open one with any candidate.
   */
  async function candidateTestsInScope(caller: Caller, candidateId: string, context: HandlerContext): Promise<string[]> {
    const missing = new AppError('NOT_FOUND', `no candidate ${candidateId} in your tests`);
    let tests: string[];
    try {
      ({ tests } = await bus.request(
        'authCandidateTests',
        { caller, candidate_id: candidateId },
        context.requestId === undefined ? {} : { requestId: context.requestId },
      ));
    } catch (err) {
      if (isAppError(err) && err.code === 'NOT_FOUND') throw missing;
      throw err;
    }
    if (tests.length === 0 && caller.role !== 'admin') throw missing;
    return tests;
  }

  async function openRoom(request: ParsedRequestOf<'chatOpenRoom'>, context: HandlerContext): Promise<Room> {
    const { caller } = request;
    if (request.candidate_id === caller.user_id) throw new AppError('VALIDATION_FAILED', 'a support room needs a candidate other than you');
    const topic = normalizeChatText(request.topic.length > 0 ? request.topic : 'Support');
    const tests = await candidateTestsInScope(caller, request.candidate_id, context);
    const doc: SupportRoomDoc = {
      _id: `${SUPPORT_ROOM_PREFIX}${randomUUID()}`,
      members: [caller.user_id, request.candidate_id],
      topic,
      opened_by: caller.user_id,
      created_at: clock(),
      tests,
    };
    await supportRooms.insertOne(doc);
    const room = roomView(supportRoom(doc));
    // The candidate's connections learn of it (and join it) wherever they are.
    bus.publish('pushToUser', request.candidate_id, { type: 'room_opened', data: room });
    context.log.info({ room_id: doc._id, candidate_id: request.candidate_id, by: caller.user_id }, 'support room opened');
    return room;
  }

  async function listRooms(request: ParsedRequestOf<'chatRooms'>): Promise<ResponseOf<'chatRooms'>> {
    const docs = await supportRooms.find({ members: request.caller.user_id }).sort({ created_at: -1 }).limit(100).toArray();
    return {
      rooms: docs
        .map(supportRoom)
        .filter((room) => isMember(request.caller, room))
        .map(roomView),
    };
  }

  async function history(request: ParsedRequestOf<'chatHistory'>, context: HandlerContext): Promise<HistoryPage> {
    await rooms.authorize(request.caller, request.room_id, context.requestId === undefined ? {} : { requestId: context.requestId });
    return store.history(request.room_id, { before: request.before, limit: request.limit });
  }

  async function start(): Promise<void> {
    await store.ensureIndexes();
    await supportRooms.createIndexes([{ key: { members: 1 }, name: 'members' }]);
    subscriptions.push(
      bus.serve('chatPost', CHAT_QUEUE, (request, context) => track(post(request, context))),
      bus.serve('chatHistory', CHAT_QUEUE, (request, context) => track(history(request, context))),
      bus.serve('chatOpenRoom', CHAT_QUEUE, (request, context) => track(openRoom(request, context))),
      bus.serve('chatRooms', CHAT_QUEUE, (request) => track(listRooms(request))),
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
