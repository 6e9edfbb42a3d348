/**
 * Versioned migrations, run at every start (before the server listens) and by `jmp migrate`. Kysely's migrator
 * takes a lock table, so several instances starting at once run each migration exactly once.
 */
import { type Kysely, type Migration, type MigrationProvider, Migrator } from "kysely";
import type { Engine } from "./db.js";
import * as initial from "./migrations/0001_initial.js";
import * as changes from "./migrations/0002_changes.js";
import * as apiKeys from "./migrations/0003_api_keys.js";
import * as auditLog from "./migrations/0004_audit_log.js";
import * as keyDigests from "./migrations/0005_key_digests.js";
import * as clickStats from "./migrations/0006_click_stats.js";
import * as clickStatsDaily from "./migrations/0007_click_stats_daily.js";
import * as clickEvents from "./migrations/0008_click_events.js";
import type { Database } from "./schema.js";

interface EngineMigration {
  up(db: Kysely<unknown>, engine: Engine): Promise<void>;
  down?(db: Kysely<unknown>, engine: Engine): Promise<void>;
}

/** In order. Never edit a released migration: add a new one. */
const MIGRATIONS: Record<string, EngineMigration> = {
  "0001_initial": initial,
  "0002_changes": changes,
  "0003_api_keys": apiKeys,
  "0004_audit_log": auditLog,
  "0005_key_digests": keyDigests,
  "0006_click_stats": clickStats,
  "0007_click_stats_daily": clickStatsDaily,
  "0008_click_events": clickEvents,
};

/** The names of every migration this version has, in order. */
export function knownMigrations(): string[] {
  return Object.keys(MIGRATIONS);
}

class StaticProvider implements MigrationProvider {
  constructor(private readonly engine: Engine) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    const result: Record<string, Migration> = {};
    for (const [name, migration] of Object.entries(MIGRATIONS)) {
      const { up, down } = migration;
      result[name] = {
        up: (db) => up(db, this.engine),
        ...(down ? { down: (db: Kysely<unknown>) => down(db, this.engine) } : {}),
      };
    }
    return result;
  }
}

export interface MigrationOutcome {
  applied: string[];
}

function migrator(db: Kysely<Database>, engine: Engine): Migrator {
  return new Migrator({
    // Migrations describe the schema as it was when they were written, not today's typed schema.
    db: db as unknown as Kysely<unknown>,
    provider: new StaticProvider(engine),
    migrationTableName: "jmp_migrations",
    migrationLockTableName: "jmp_migrations_lock",
  });
}

export interface MigrationStatus {
  applied: string[];
  pending: string[];
}

/** Which migrations a database has and lacks, without changing anything (an empty database has none). */
export async function migrationStatus(db: Kysely<Database>, engine: Engine): Promise<MigrationStatus> {
  const migrations = await migrator(db, engine).getMigrations();
  return {
    applied: migrations.filter((m) => m.executedAt !== undefined).map((m) => m.name),
    pending: migrations.filter((m) => m.executedAt === undefined).map((m) => m.name),
  };
}

/** Migrates to the latest version, or (tests of a migration's data handling) up to and including `upTo`. */
export async function migrateToLatest(
  db: Kysely<Database>,
  engine: Engine,
  upTo?: string,
): Promise<MigrationOutcome> {
  const migrations = migrator(db, engine);
  const { error, results } = await (upTo === undefined
    ? migrations.migrateToLatest()
    : migrations.migrateTo(upTo));
  if (error) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName;
    throw new Error(`database migration ${failed ?? ""} failed: ${(error as Error).message ?? error}`);
  }
  return { applied: (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName) };
}
