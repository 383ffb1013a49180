import type { Collection, Db, Filter } from 'mongodb';
import type { ChatMessage } from '@ap/protocol';

/** The collection that holds chat messages. */
export const CHAT_MESSAGES = 'chat_messages';

/** A stored chat message; `_id` is the time-ordered message id. */
export type ChatMessageDocument = {
  _id: string;
  room_id: string;
  sender_id: string;
  sender_role: ChatMessage['sender_role'];
  text: string;
  created_at: Date;
};

/** One page of a room's history, newest first. */
export type HistoryPage = { messages: ChatMessage[]; next_cursor: string | null };

/** Reads and writes the messages of chat rooms. */
export type MessageStore = {
  /** Creates the indexes the queries need; idempotent. */
  ensureIndexes(): Promise<void>;
  /** Stores a message and returns it in its wire shape. */
  insert(message: ChatMessageDocument): Promise<ChatMessage>;
  /** Returns up to `limit` messages older than `before` (a message id), newest first. */
  history(roomId: string, options: { before?: string | undefined; limit: number }): Promise<HistoryPage>;
};

/** The wire shape of a stored message. */
export function toChatMessage(doc: ChatMessageDocument): ChatMessage {
  return {
    message_id: doc._id,
    room_id: doc.room_id,
    sender_id: doc.sender_id,
    sender_role: doc.sender_role,
    text: doc.text,
    created_at: doc.created_at.toISOString(),
  };
}

/** Creates the message store on a database (MongoDB 7 or FerretDB). */
export function createMessageStore(db: Db): MessageStore {
  const collection: Collection<ChatMessageDocument> = db.collection<ChatMessageDocument>(CHAT_MESSAGES);

  async function ensureIndexes(): Promise<void> {
    // One index per createIndexes command: FerretDB 1.24 fails when a command lists several existing ones.
    await collection.createIndexes([{ key: { room_id: 1, _id: -1 }, name: 'room_newest_first' }]);
  }

  async function insert(message: ChatMessageDocument): Promise<ChatMessage> {
    await collection.insertOne(message);
    return toChatMessage(message);
  }

  async function history(roomId: string, options: { before?: string | undefined; limit: number }): Promise<HistoryPage> {
    const filter: Filter<ChatMessageDocument> =
      options.before === undefined ? { room_id: roomId } : { room_id: roomId, _id: { $lt: options.before } };
    // One extra document tells whether another page exists.
    const docs = await collection
      .find(filter)
      .sort({ _id: -1 })
      .limit(options.limit + 1)
      .toArray();
    const more = docs.length > options.limit;
    const page = more ? docs.slice(0, options.limit) : docs;
    const last = page.at(-1);
    return { messages: page.map(toChatMessage), next_cursor: more && last !== undefined ? last._id : null };
  }

  return { ensureIndexes, insert, history };
}
