/**
 * How offline commands (`jmp reset-password`, `jmp config …` without JMP_URL, `jmp backup`, `jmp restore`) reach
 * the database: resolved from the same settings as `jmp serve` (JMP_DATABASE_URL, else JMP_DATA_DIR, else ./data),
 * named on stderr so the operator sees which one, and never created — only `serve` and `migrate` make a database.
 * A command run from the wrong directory used to create and change a new, empty database while the server's
 * stayed untouched.
 */
import { existsSync } from "node:fs";
import type { Settings } from "../settings.js";
import { type DatabaseSettings, openStore, type Store } from "../store/db.js";
import { migrationStatus } from "../store/migrate.js";
import { CliError } from "./errors.js";

/** The database for people: the SQLite file's path, or the URL without its password. */
export function describeDatabase(database: DatabaseSettings): string {
  if (database.engine === "sqlite") return `SQLite ${database.location}`;
  try {
    const url = new URL(database.location);
    if (url.password) url.password = "***";
    return `${database.engine} ${url.toString()}`;
  } catch {
    return database.engine;
  }
}

/** Opens the configured database if it exists and is migrated; otherwise explains and refuses. */
export async function openExistingStore(settings: Settings): Promise<Store> {
  const { database } = settings;
  const name = describeDatabase(database);
  if (database.engine === "sqlite" && database.location !== ":memory:" && !existsSync(database.location)) {
    throw new CliError(
      `no database at ${database.location}. Run this command with the server's settings: from the directory ` +
        "it runs in, or with its JMP_DATA_DIR or JMP_DATABASE_URL (only `jmp serve` and `jmp migrate` create a database)",
    );
  }
  process.stderr.write(`jmp: database: ${name}\n`);
  const store = openStore(database);
  try {
    const { applied, pending } = await migrationStatus(store.db, store.engine);
    if (applied.length === 0) {
      throw new CliError(`${name} holds no jmp data yet: start the server once, or run \`jmp migrate\``);
    }
    if (pending.length > 0) {
      throw new CliError(`${name} lacks migration(s) ${pending.join(", ")}: run \`jmp migrate\` first`);
    }
    return store;
  } catch (err) {
    await store.close();
    throw err;
  }
}
