import { AppError, assessmentIdOfRoom } from '@ap/protocol';
import type { Caller, ChatMessage, ParsedRequestOf } from '@ap/protocol';
import type { HandlerContext } from '@ap/bus';
import { ASSISTANT_ID, assistantReply, wantsAuthorNote } from './assistant.ts';
import type { HelpContext } from './assistant.ts';
import type { NoteOptions } from './author-note.ts';
import type { ChatContext } from './context.ts';
import type { HistoryPage } from './messages.ts';
import { normalizeChatText } from './text.ts';

/** Stores a member's message in a room and publishes it; in an assessment room the help assistant may answer a candidate after it. */
export async function postMessage(ctx: ChatContext, request: ParsedRequestOf<'chatPost'>, context: HandlerContext): Promise<ChatMessage> {
  const { bus, clock, store } = ctx;
  const { caller, room_id: roomId } = request;
  const waitMs = ctx.limiter.take(caller.user_id);
  if (waitMs > 0) {
    throw new AppError('RATE_LIMITED', 'too many chat messages; slow down', { details: { retry_after_ms: waitMs } });
  }
  await ctx.rooms.authorize(caller, roomId, context.requestId === undefined ? {} : { requestId: context.requestId });
  const text = normalizeChatText(request.message);
  const message = await store.insert({
    _id: ctx.nextId(),
    room_id: roomId,
    sender_id: caller.user_id,
    sender_role: caller.role,
    text,
    created_at: clock(),
  });
  bus.publish('chatRoom', roomId, message, context.requestId === undefined ? {} : { requestId: context.requestId });
  context.log.debug({ room_id: roomId, message_id: message.message_id, sender_id: caller.user_id }, 'chat message stored');
  const assessmentId = assessmentIdOfRoom(roomId);
  if (caller.role === 'candidate' && assessmentId !== undefined) void ctx.track(assist(ctx, caller, roomId, assessmentId, text, context));
  return message;
}

/** The help assistant answers a candidate's question in an assessment room, after the question itself. */
async function assist(
  ctx: ChatContext,
  caller: Caller,
  roomId: string,
  assessmentId: string,
  text: string,
  context: HandlerContext,
): Promise<void> {
  const { bus, clock, store } = ctx;
  try {
    const opts = context.requestId === undefined ? {} : { requestId: context.requestId };
    const help = await bus.request('assessmentHelpContext', { caller, assessment_id: assessmentId }, opts);
    const reply = assistantReply(
      text,
      help,
      wantsAuthorNote(text, help) ? await questionOptions(ctx, caller, assessmentId, help, context) : undefined,
    );
    if (reply === undefined) return;
    const message = await store.insert({
      _id: ctx.nextId(),
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
  ctx: ChatContext,
  caller: Caller,
  assessmentId: string,
  help: HelpContext,
  context: HandlerContext,
): Promise<NoteOptions | undefined> {
  try {
    const current = await ctx.bus.request(
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

/** A page of a room's messages, for its members. */
export async function readHistory(
  ctx: ChatContext,
  request: ParsedRequestOf<'chatHistory'>,
  context: HandlerContext,
): Promise<HistoryPage> {
  await ctx.rooms.authorize(request.caller, request.room_id, context.requestId === undefined ? {} : { requestId: context.requestId });
  return ctx.store.history(request.room_id, { before: request.before, limit: request.limit });
}
