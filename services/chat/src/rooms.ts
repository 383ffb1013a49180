import { AppError, assessmentIdOfRoom } from '@ap/protocol';
import type { Caller } from '@ap/protocol';
import type { Bus } from '@ap/bus';
import type { Clock } from './clock.ts';

/** Who belongs to a room: the candidate of an assessment, and staff who may see its test. */
export type RoomMembers = { room_id: string; assessment_id: string; candidate_id: string; test_id: string };

/** Resolves rooms to their members and checks callers against them. */
export type RoomDirectory = {
  /** Returns the room's members when the caller is one; throws NOT_FOUND or FORBIDDEN otherwise. */
  authorize(caller: Caller, roomId: string, options?: { requestId?: string }): Promise<RoomMembers>;
};

/** Whether a caller belongs to a room with these members. */
export function isMember(caller: Caller, room: RoomMembers): boolean {
  if (caller.role === 'candidate') return caller.user_id === room.candidate_id;
  return caller.tests === undefined || caller.tests.includes(room.test_id);
}

type Entry = { room: RoomMembers; expiresMs: number };

/**
 * Creates a directory that learns an assessment room's candidate and test from the assessment
 * service (`assessmentDescribe`) and caches the answer in memory, since it never changes.
 */
export function createRoomDirectory(options: {
  bus: Bus;
  clock: Clock;
  cacheTtlMs?: number;
  maxCachedRooms?: number;
}): RoomDirectory {
  const { bus, clock } = options;
  const ttlMs = options.cacheTtlMs ?? 5 * 60_000;
  const maxRooms = options.maxCachedRooms ?? 10_000;
  const cache = new Map<string, Entry>();
  // One describe request per room and caller at a time, however many messages arrive together;
  // keyed by caller too, because the assessment service answers for the caller it is given.
  const pending = new Map<string, Promise<RoomMembers>>();

  async function describe(caller: Caller, roomId: string, assessmentId: string, requestId: string | undefined): Promise<RoomMembers> {
    const described = await bus.request(
      'assessmentDescribe',
      { caller, assessment_id: assessmentId },
      requestId === undefined ? {} : { requestId },
    );
    const room: RoomMembers = {
      room_id: roomId,
      assessment_id: described.assessment_id,
      candidate_id: described.candidate_id,
      test_id: described.test_id,
    };
    if (cache.size >= maxRooms) {
      const oldest = cache.keys().next();
      if (oldest.done !== true) cache.delete(oldest.value);
    }
    cache.set(roomId, { room, expiresMs: clock.now().getTime() + ttlMs });
    return room;
  }

  async function lookup(caller: Caller, roomId: string, requestId: string | undefined): Promise<RoomMembers> {
    const assessmentId = assessmentIdOfRoom(roomId);
    if (assessmentId === undefined || assessmentId.length === 0) {
      throw new AppError('NOT_FOUND', `no room ${roomId}`);
    }
    const cached = cache.get(roomId);
    if (cached !== undefined && cached.expiresMs > clock.now().getTime()) return cached.room;
    cache.delete(roomId);
    const key = `${roomId} ${caller.user_id}`;
    const inFlight = pending.get(key);
    if (inFlight !== undefined) return inFlight;
    const request = describe(caller, roomId, assessmentId, requestId).finally(() => pending.delete(key));
    pending.set(key, request);
    return request;
  }

  async function authorize(caller: Caller, roomId: string, opts: { requestId?: string } = {}): Promise<RoomMembers> {
    const room = await lookup(caller, roomId, opts.requestId);
    if (!isMember(caller, room)) throw new AppError('FORBIDDEN', `not a member of room ${roomId}`);
    return room;
  }

  return { authorize };
}
