import type { Bus } from '@ap/bus';
import type { Collection } from 'mongodb';
import type { Clock } from '@ap/protocol';
import type { MessageStore } from './messages.ts';
import type { RateLimiter } from './rate-limit.ts';
import type { RoomDirectory, SupportRoomDoc } from './rooms.ts';

/** What the chat handlers are built from: wired once in service.ts. */
export type ChatContext = {
  bus: Bus;
  clock: Clock;
  store: MessageStore;
  supportRooms: Collection<SupportRoomDoc>;
  rooms: RoomDirectory;
  limiter: RateLimiter;
  /** A new message id (time-ordered). */
  nextId: () => string;
  /** Keeps work that outlives its request (the help assistant's answer) until close() has waited for it. */
  track<T>(work: Promise<T>): Promise<T>;
};
