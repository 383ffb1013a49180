import { randomUUID } from 'node:crypto';
import { AppError, SUPPORT_ROOM_PREFIX, isAppError } from '@ap/protocol';
import type { Caller, ParsedRequestOf, ResponseOf, Room } from '@ap/protocol';
import type { HandlerContext } from '@ap/bus';
import type { ChatContext } from './context.ts';
import { isMember, roomView, supportRoom } from './rooms.ts';
import type { SupportRoomDoc } from './rooms.ts';
import { normalizeChatText } from './text.ts';

/**
 * The tests of a candidate that the opener of a support room may see, from the auth service, which
 * keeps invitations. NOT_FOUND for an id that is no candidate, or one with no test in the opener's
 * scope (the same answer, so that it does not tell whether someone exists elsewhere); admins may
 * open one with any candidate.
 */
async function candidateTestsInScope(ctx: ChatContext, caller: Caller, candidateId: string, context: HandlerContext): Promise<string[]> {
  const missing = new AppError('NOT_FOUND', `no candidate ${candidateId} in your tests`);
  let tests: string[];
  try {
    ({ tests } = await ctx.bus.request(
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

/** Opens a support room between the calling recruiter or admin and a candidate of their tests; the candidate is told by a push. */
export async function openSupportRoom(ctx: ChatContext, request: ParsedRequestOf<'chatOpenRoom'>, context: HandlerContext): Promise<Room> {
  const { caller } = request;
  if (request.candidate_id === caller.user_id) throw new AppError('VALIDATION_FAILED', 'a support room needs a candidate other than you');
  const topic = normalizeChatText(request.topic.length > 0 ? request.topic : 'Support');
  const tests = await candidateTestsInScope(ctx, caller, request.candidate_id, context);
  const doc: SupportRoomDoc = {
    _id: `${SUPPORT_ROOM_PREFIX}${randomUUID()}`,
    members: [caller.user_id, request.candidate_id],
    topic,
    opened_by: caller.user_id,
    created_at: ctx.clock(),
    tests,
  };
  await ctx.supportRooms.insertOne(doc);
  const room = roomView(supportRoom(doc));
  // The candidate's connections learn of it (and join it) wherever they are.
  ctx.bus.publish('pushToUser', request.candidate_id, { type: 'room_opened', data: room });
  context.log.info({ room_id: doc._id, candidate_id: request.candidate_id, by: caller.user_id }, 'support room opened');
  return room;
}

/** The support rooms the caller belongs to, newest first. */
export async function listSupportRooms(ctx: ChatContext, request: ParsedRequestOf<'chatRooms'>): Promise<ResponseOf<'chatRooms'>> {
  const docs = await ctx.supportRooms.find({ members: request.caller.user_id }).sort({ created_at: -1 }).limit(100).toArray();
  return {
    rooms: docs
      .map(supportRoom)
      .filter((room) => isMember(request.caller, room))
      .map(roomView),
  };
}
