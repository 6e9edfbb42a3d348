/**
 * SQLite files as whole databases, for `jmp backup` and `jmp restore`: copies go through SQLite's online backup
 * API (consistent while another connection writes, WAL included), never a raw file copy.
 */
import SQLite from "better-sqlite3";

/** What a candidate backup file holds: whether it is intact, and its jmp migrations (null: not a jmp database). */
export interface SqliteFileInfo {
  integrity: string;
  migrations: string[] | null;
}

/** Reads a database file without changing it; throws when it is not a SQLite database at all. */
export function inspectSqliteFile(file: string): SqliteFileInfo {
  const source = new SQLite(file, { readonly: true, fileMustExist: true });
  try {
    const integrity = String(source.pragma("integrity_check", { simple: true }));
    const hasSchema = source
      .prepare("select 1 from sqlite_master where type = 'table' and name = 'jmp_migrations'")
      .get();
    const migrations = hasSchema
      ? (source.prepare("select name from jmp_migrations order by name").all() as { name: string }[]).map(
          (row) => row.name,
        )
      : null;
    return { integrity, migrations };
  } finally {
    source.close();
  }
}

/**
 * Copies the database at `from` (a path, or an open connection) to the file `to`, page by page. The copy is one
 * self-contained file (rollback journal, not WAL), so it can be moved, checksummed and opened read-only as is.
 */
export async function copySqlite(from: string | SQLite.Database, to: string): Promise<{ pages: number }> {
  const source = typeof from === "string" ? new SQLite(from, { readonly: true, fileMustExist: true }) : from;
  let pages: number;
  try {
    pages = (await source.backup(to)).totalPages;
  } finally {
    if (typeof from === "string") source.close();
  }
  const copy = new SQLite(to, { fileMustExist: true });
  try {
    copy.pragma("journal_mode = DELETE");
  } finally {
    copy.close();
  }
  return { pages };
}

/** After a restore: the file in WAL mode, as the server opens it, with nothing left in a -wal file. */
export function settleSqlite(location: string): void {
  const database = new SQLite(location, { fileMustExist: true });
  try {
    database.pragma("journal_mode = WAL");
    database.pragma("wal_checkpoint(TRUNCATE)");
  } finally {
    database.close();
  }
}
