import { AppError, SUPPORT_ROOM_PREFIX, assessmentIdOfRoom, candidateHolds, staffMaySee } from '@ap/protocol';
import type { Caller, Room } from '@ap/protocol';
import type { Bus } from '@ap/bus';
import type { Collection } from 'mongodb';
import type { Clock } from '@ap/protocol';

/**
 * Who belongs to a room. An assessment room: its candidate, and staff who may see its test.
 * A support room: the candidate and the staff member who opened it (and admins).
 */
export type RoomMembers =
  | { kind: 'assessment'; room_id: string; assessment_id: string; candidate_id: string; test_id: string }
  | { kind: 'support'; room_id: string; members: string[]; topic: string; opened_by: string; created_at: Date; tests?: string[] };

/**
 * A support room as stored; `_id` is the room id (`sup_…`). `tests`: the candidate's tests that the
 * opener may see, when it was opened; the candidate takes part with a token for one of them.
 */
export type SupportRoomDoc = { _id: string; members: string[]; topic: string; opened_by: string; created_at: Date; tests?: string[] };

/** The collection of support rooms. */
export const CHAT_ROOMS = 'chat_rooms';

/** A room as members see it. */
export function roomView(room: RoomMembers): Room {
  if (room.kind === 'assessment') return { room_id: room.room_id, kind: 'assessment' };
  return {
    room_id: room.room_id,
    kind: 'support',
    members: room.members,
    topic: room.topic,
    opened_by: room.opened_by,
    created_at: room.created_at.toISOString(),
  };
}

export function supportRoom(doc: SupportRoomDoc): RoomMembers {
  return {
    kind: 'support',
    room_id: doc._id,
    members: doc.members,
    topic: doc.topic,
    opened_by: doc.opened_by,
    created_at: doc.created_at,
    ...(doc.tests === undefined ? {} : { tests: doc.tests }),
  };
}

/** Resolves rooms to their members and checks callers against them. */
export type RoomDirectory = {
  /** Returns the room's members when the caller is one; throws NOT_FOUND or FORBIDDEN otherwise. */
  authorize(caller: Caller, roomId: string, options?: { requestId?: string }): Promise<RoomMembers>;
};

/**
 * Whether a caller belongs to a room with these members. A candidate acts only with a token whose
 * `tests` claim holds the room's test: the assessment's own test, or one of the support room's
 * tests, so that a token for another test of the same person reads and posts nothing here.
 */
export function isMember(caller: Caller, room: RoomMembers): boolean {
  if (room.kind === 'support') {
    if (caller.role === 'admin') return true;
    if (!room.members.includes(caller.user_id)) return false;
    return caller.role !== 'candidate' || room.tests === undefined || room.tests.length === 0 || candidateHolds(caller, room.tests);
  }
  if (caller.role === 'candidate') return caller.user_id === room.candidate_id && candidateHolds(caller, [room.test_id]);
  return staffMaySee(caller, room.test_id);
}

type Entry = { room: RoomMembers; expiresMs: number };

/**
 * Creates a directory that learns an assessment room's candidate and test from the assessment
 * service (`assessmentDescribe`) and caches the answer in memory, since it never changes.
 */
export function createRoomDirectory(options: {
  bus: Bus;
  clock: Clock;
  /** Where support rooms are stored. */
  supportRooms: Collection<SupportRoomDoc>;
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
      kind: 'assessment',
      room_id: roomId,
      assessment_id: described.assessment_id,
      candidate_id: described.candidate_id,
      test_id: described.test_id,
    };
    if (cache.size >= maxRooms) {
      const oldest = cache.keys().next();
      if (oldest.done !== true) cache.delete(oldest.value);
    }
    cache.set(roomId, { room, expiresMs: clock().getTime() + ttlMs });
    return room;
  }

  async function lookup(caller: Caller, roomId: string, requestId: string | undefined): Promise<RoomMembers> {
    const cached = cache.get(roomId);
    if (cached !== undefined && cached.expiresMs > clock().getTime()) return cached.room;
    cache.delete(roomId);
    if (roomId.startsWith(SUPPORT_ROOM_PREFIX)) {
      const doc = await options.supportRooms.findOne({ _id: roomId });
      if (doc === null) throw new AppError('NOT_FOUND', `no room ${roomId}`);
      const room = supportRoom(doc);
      cache.set(roomId, { room, expiresMs: clock().getTime() + ttlMs });
      return room;
    }
    const assessmentId = assessmentIdOfRoom(roomId);
    if (assessmentId === undefined || assessmentId.length === 0) {
      throw new AppError('NOT_FOUND', `no room ${roomId}`);
    }
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
