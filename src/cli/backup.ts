/**
 * `jmp backup FILE` and `jmp restore FILE` for the SQLite engine. A backup goes through SQLite's online backup
 * API: consistent while the server runs and writes, never a raw copy of a file whose latest pages may still be in
 * its -wal. A restore checks the file (integrity, a jmp schema this version knows), refuses while a server uses
 * the database (or stops it first, with --stop-server), keeps the current database beside it, and copies the
 * backup in through the same API. PostgreSQL and MariaDB have their own tools (pg_dump, mariadb-dump); `jmp
 * export` / `jmp apply` is the logical backup that works on every engine (docs/deployment.md#backups).
 */
import { chmodSync, existsSync, statSync, writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { readSettings } from "../settings.js";
import { knownMigrations } from "../store/migrate.js";
import { copySqlite, inspectSqliteFile, settleSqlite, type SqliteFileInfo } from "../store/sqlite-backup.js";
import { servingProcess } from "../store/sqlite-server-mark.js";
import { openExistingStore } from "./database.js";
import { CliError } from "./errors.js";

const SERVER_ENGINES =
  "backups of PostgreSQL and MariaDB are made with their own tools (pg_dump, mariadb-dump); " +
  "`jmp export` writes a logical backup on every engine (docs/deployment.md#backups)";

export interface BackupResult {
  file: string;
  bytes: number;
  pages: number;
}

export async function backup(file: string, options: { force?: boolean }): Promise<BackupResult> {
  const settings = readSettings();
  if (settings.database.engine !== "sqlite")
    throw new CliError(`jmp backup is for SQLite: ${SERVER_ENGINES}`);
  if (existsSync(file) && !options.force)
    throw new CliError(`${file} exists; choose another name or add --force`);
  const store = await openExistingStore(settings);
  try {
    createPrivateFile(file);
    const { pages } = await copySqlite(store.sqlite!, file);
    return { file, bytes: statSync(file).size, pages };
  } finally {
    await store.close();
  }
}

/**
 * A copy holds what the database holds (the session signing secret, password hashes): it is the owner's alone
 * from the start, as the database is, before a page is written into it.
 */
function createPrivateFile(file: string): void {
  writeFileSync(file, "", { mode: 0o600 });
  chmodSync(file, 0o600);
}

/** Checks that a file is an intact jmp SQLite database this version can run; returns its migrations. */
function checkBackup(file: string): string[] {
  if (!existsSync(file)) throw new CliError(`${file} does not exist`);
  let info: SqliteFileInfo;
  try {
    info = inspectSqliteFile(file);
  } catch (err) {
    throw new CliError(`${file} cannot be read as a SQLite database (${(err as Error).message})`);
  }
  if (info.integrity !== "ok") throw new CliError(`${file} is damaged: ${info.integrity}`);
  if (info.migrations === null)
    throw new CliError(`${file} is not a jmp database (it has no jmp_migrations table)`);
  const unknown = info.migrations.filter((name) => !knownMigrations().includes(name));
  if (unknown.length > 0) {
    throw new CliError(
      `${file} comes from a newer jmp (migrations ${unknown.join(", ")}): upgrade jmp first`,
    );
  }
  return info.migrations;
}

async function stopServer(pid: number, location: string): Promise<void> {
  process.stderr.write(`jmp: stopping the server (pid ${pid}) that uses ${location}\n`);
  process.kill(pid, "SIGTERM");
  // A graceful stop takes at most 10 s (main.ts); give it a little more.
  for (let waited = 0; servingProcess(location) !== null; waited += 100) {
    if (waited > 15_000)
      throw new CliError(`the server (pid ${pid}) did not stop within 15 s; nothing was restored`);
    await sleep(100);
  }
}

export interface RestoreResult {
  restored: string;
  into: string;
  previous: string | null;
  migrations: string[];
}

export async function restore(file: string, options: { stopServer?: boolean }): Promise<RestoreResult> {
  const settings = readSettings();
  if (settings.database.engine !== "sqlite")
    throw new CliError(`jmp restore is for SQLite: ${SERVER_ENGINES}`);
  const location = settings.database.location;
  const migrations = checkBackup(file);
  const pid = servingProcess(location);
  if (pid !== null) {
    if (!options.stopServer) {
      throw new CliError(
        `a server (pid ${pid}) uses ${location}: stop it first (or add --stop-server), then restore; nothing was changed`,
      );
    }
    await stopServer(pid, location);
  }
  process.stderr.write(`jmp: database: SQLite ${location}\n`);

  let previous: string | null = null;
  if (existsSync(location)) {
    // The database being replaced stays at hand, copied the consistent way, until the operator deletes it.
    previous = `${location}.before-restore-${new Date().toISOString().replace(/\D/g, "").slice(0, 14)}`;
    createPrivateFile(previous);
    await copySqlite(location, previous);
  }
  await copySqlite(file, location);
  settleSqlite(location);
  return { restored: file, into: location, previous, migrations };
}
