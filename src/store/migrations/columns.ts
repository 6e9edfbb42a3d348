/**
 * Column and table definitions that every migration spells the same way on the three engines.
 *
 * Rule: once a migration using a helper has shipped, the helper's output must never change (that would make a
 * fresh database differ from a migrated one). Need something different? Add a new helper.
 */
import { type ColumnDefinitionBuilder, type RawBuilder, sql } from "kysely";
import type { Engine } from "../db.js";

/**
 * A 64-bit auto-increment primary key: BIGSERIAL on PostgreSQL, BIGINT AUTO_INCREMENT on MySQL/MariaDB, and
 * INTEGER PRIMARY KEY on SQLite (already 64-bit there; SQLite requires exactly that spelling for a rowid alias).
 * Use as `.addColumn("id", ...autoIncrementId(engine))`.
 */
export function autoIncrementId(engine: Engine) {
  const type = engine === "postgres" ? "bigserial" : engine === "mysql" ? "bigint" : "integer";
  const build = (c: ColumnDefinitionBuilder) =>
    engine === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement();
  return [type, build] as const;
}

/** Table options: MySQL/MariaDB tables compare strings byte-wise (link codes are case-sensitive everywhere). */
export function tableOptions(engine: Engine): RawBuilder<unknown> {
  return engine === "mysql" ? sql`default character set utf8mb4 collate utf8mb4_bin` : sql``;
}
