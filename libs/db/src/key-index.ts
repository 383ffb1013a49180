import type { Collection, Filter, OptionalUnlessRequiredId } from 'mongodb';
import { isDuplicateKey } from './index.ts';

/** A key document: `_id` is the key (an email, a code's hash), `target` the `_id` of the document it names. */
export type KeyDoc = { _id: string; target: string };

/**
 * A unique field of a collection looked up through a second collection whose `_id` is the field's
 * value, so that every lookup by it is a lookup by `_id`.
 *
 * Why: FerretDB 1.24 sends only `{_id: <string>}` filters to its storage; a filter on any other
 * field reads and decodes every document of the collection, so a sign-in by email or by code would
 * cost more with every user and invitation ever stored. On MongoDB the field's own unique index
 * would do; the keys cost one more lookup by `_id` there and keep one code path for both.
 *
 * The collection keeps its unique index on the field, which decides who wins a race: a document is
 * inserted first, then its key. A reader that finds no key for a document that exists (the instant
 * between the two writes, or a writer that died between them) is repaired by {@link KeyIndex.settle}
 * after a duplicate-key error and by {@link KeyIndex.repair} at start-up.
 */
export type KeyIndex<T extends { _id: string }> = {
  /** The document whose field is `key`, by two lookups by `_id`; null when the key is unknown. */
  find(key: string): Promise<T | null>;
  /** Inserts `doc` (throws the duplicate-key error of the field's unique index) and then its key. */
  insert(doc: OptionalUnlessRequiredId<T> & T): Promise<void>;
  /**
   * The document that holds `key` after an insert lost a race for it: by the key when it is there,
   * else by the field itself (a scan on FerretDB, only on this rare path), writing the missing key.
   */
  settle(key: string): Promise<T | null>;
  /** Removes the keys of documents that are being deleted. */
  remove(keys: readonly string[]): Promise<void>;
  /** Writes the keys that are missing (start-up; reads the whole collection when counts differ). */
  repair(): Promise<number>;
};

export function createKeyIndex<T extends { _id: string }>(
  docs: Collection<T>,
  keys: Collection<KeyDoc>,
  field: keyof T & string,
): KeyIndex<T> {
  const valueOf = (doc: T): unknown => doc[field];
  const write = (key: string, target: string) => keys.updateOne({ _id: key }, { $set: { target } }, { upsert: true });
  const byId = (id: string) => docs.findOne({ _id: id } as Filter<T>) as Promise<T | null>;

  return {
    async find(key) {
      const k = await keys.findOne({ _id: key });
      if (k === null) return null;
      const doc = await byId(k.target);
      // A key left by a document that was deleted, or one that changed its value, names nothing.
      return doc !== null && valueOf(doc) === key ? doc : null;
    },
    async insert(doc) {
      await docs.insertOne(doc);
      const key = valueOf(doc);
      if (typeof key === 'string') await write(key, doc._id);
    },
    async settle(key) {
      const known = await this.find(key);
      if (known !== null) return known;
      const doc = (await docs.findOne({ [field]: key } as Filter<T>)) as T | null;
      if (doc !== null) await write(key, doc._id);
      return doc;
    },
    async remove(list) {
      if (list.length > 0) await keys.deleteMany({ _id: { $in: [...list] } });
    },
    async repair() {
      const [stored, written] = await Promise.all([docs.estimatedDocumentCount(), keys.estimatedDocumentCount()]);
      if (written >= stored) return 0;
      let added = 0;
      const cursor = docs.find({}, { projection: { _id: 1, [field]: 1 } });
      for await (const doc of cursor) {
        const key = valueOf(doc as T);
        if (typeof key !== 'string') continue;
        try {
          const r = await keys.insertOne({ _id: key, target: doc._id });
          if (r.acknowledged) added += 1;
        } catch (err) {
          if (!isDuplicateKey(err)) throw err;
        }
      }
      return added;
    },
  };
}
