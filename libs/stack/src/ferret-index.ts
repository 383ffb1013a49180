import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { LogFn } from './proc.ts';

/**
 * The expression FerretDB 1.24's SQLite backend filters `{_id: <string or ObjectId>}` with
 * (`metadata.IDColumn`). Its own `_id` index is built on `_ferretdb_sjson->"_id"`, and SQLite
 * uses an expression index only for the same expression text: without this one every lookup,
 * update and delete by `_id` reads the whole table.
 */
const ID_EXPRESSION = `_ferretdb_sjson->'$._id'`;
const INDEX_SUFFIX = '__id_lookup';

/** A table name as FerretDB makes them (collection name and a hash); anything else is skipped. */
const TABLE_NAME = /^[A-Za-z0-9_.-]+$/;

/**
 * Creates the `_id` lookup index on every collection table of the FerretDB SQLite databases in
 * `dir` (one `<database>.sqlite` file each) that does not have it yet. Idempotent; returns the
 * tables indexed now (`<file>/<table>`); tables in `known` are not looked at again. FerretDB's own metadata is left alone: the index is invisible to it and
 * goes away with its table.
 */
export function indexFerretTables(dir: string, known: Set<string> = new Set()): string[] {
  const created: string[] = [];
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.sqlite'));
  } catch {
    return created;
  }
  for (const file of files) {
    const db = new DatabaseSync(join(dir, file));
    try {
      // FerretDB writes at the same time: wait for its locks instead of failing.
      db.exec('PRAGMA busy_timeout = 5000');
      const hasMeta = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_ferretdb_collections'`).get();
      if (hasMeta === undefined) continue;
      const tables = db.prepare('SELECT table_name FROM _ferretdb_collections').all() as { table_name: string }[];
      const indexes = new Set((db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index'`).all() as { name: string }[]).map((r) => r.name));
      for (const { table_name: table } of tables) {
        const key = `${file}/${table}`;
        if (known.has(key) || !TABLE_NAME.test(table)) continue;
        known.add(key);
        if (indexes.has(`${table}${INDEX_SUFFIX}`)) continue;
        db.exec(`CREATE INDEX IF NOT EXISTS "${table}${INDEX_SUFFIX}" ON "${table}" (${ID_EXPRESSION})`);
        created.push(key);
      }
    } finally {
      db.close();
    }
  }
  return created;
}

/** Keeps indexing new collection tables (services create theirs at start-up) until closed. */
export function keepFerretTablesIndexed(dir: string, opts: { intervalMs?: number; log?: LogFn | undefined } = {}): { close(): void } {
  const known = new Set<string>();
  const tick = (): void => {
    try {
      const created = indexFerretTables(dir, known);
      if (created.length > 0) opts.log?.(`ferretdb: _id lookup index on ${created.length} table(s)`);
    } catch (err) {
      // A database file being created or dropped at this moment: the next tick sees it whole.
      opts.log?.(`ferretdb: indexing skipped this time (${err instanceof Error ? err.message : String(err)})`);
    }
  };
  tick();
  const timer = setInterval(tick, opts.intervalMs ?? 1000);
  timer.unref();
  return {
    close() {
      clearInterval(timer);
    },
  };
}
