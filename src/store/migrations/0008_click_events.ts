import { type Kysely, sql } from "kysely";
import type { Engine } from "../db.js";
import { autoIncrementId, tableOptions } from "./columns.js";

/**
 * Detailed analytics (docs/analytics.md): one row per recorded click in `click_events`, written in batches by the
 * analytics worker thread, and `click_dims_hourly`, its breakdowns for all links together (source, referrer host,
 * country, city, browser, OS, device per hour, bots apart), which the global breakdowns read instead of scanning
 * events. Both are written with inserts and additive upserts only, so any number of instances may write at once.
 * Only expands the schema (docs/upgrading.md).
 */
export async function up(db: Kysely<unknown>, engine: Engine): Promise<void> {
  await db.schema
    .createTable("click_events")
    .addColumn("id", ...autoIncrementId(engine))
    .addColumn("code", "varchar(128)", (c) => c.notNull())
    .addColumn("clicked_at", "bigint", (c) => c.notNull())
    .addColumn("hour", "bigint", (c) => c.notNull())
    .addColumn("referrer", "varchar(1024)")
    .addColumn("source", "varchar(255)", (c) => c.notNull())
    .addColumn("browser", "varchar(64)")
    .addColumn("os", "varchar(64)")
    .addColumn("device", "varchar(16)", (c) => c.notNull())
    .addColumn("is_bot", "smallint", (c) => c.notNull().defaultTo(0))
    .addColumn("country", "varchar(2)")
    .addColumn("city", "varchar(128)")
    .addColumn("ip", "varchar(45)")
    .addColumn("visitor", "varchar(16)")
    .modifyEnd(tableOptions(engine))
    .execute();
  // One index serves retention (by hour), ranges, and one link's rows (a seek per hour of the range). Its first
  // column grows with time, so writes land at its end: with (code, clicked_at) every batch rewrote leaf pages all
  // over the index, and the cost of an event grew with the table (SQLite: 3.8 → 8.5 µs from 0.25 to 1.5 million
  // events; flat at ~3.3 µs this way; docs/analytics.md).
  await db.schema
    .createIndex("idx_click_events_hour_code")
    .on("click_events")
    .columns(["hour", "code"])
    .execute();

  await db.schema
    .createTable("click_dims_hourly")
    .addColumn("hour", "bigint", (c) => c.notNull())
    .addColumn("dim", "varchar(16)", (c) => c.notNull())
    .addColumn("value", "varchar(255)", (c) => c.notNull())
    .addColumn("bot", "smallint", (c) => c.notNull())
    .addColumn("clicks", "bigint", (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint("click_dims_hourly_pk", ["hour", "dim", "value", "bot"])
    .modifyEnd(engine === "sqlite" ? sql`without rowid` : tableOptions(engine))
    .execute();

  // The salt of each UTC day's visitor hashes (analytics.unique_visitors), shared by every instance; deleted
  // after two days, so a stored hash can no longer be matched to an address.
  await db.schema
    .createTable("click_salts")
    .addColumn("day", "bigint", (c) => c.primaryKey())
    .addColumn("salt", "varchar(64)", (c) => c.notNull())
    .modifyEnd(tableOptions(engine))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("click_salts").execute();
  await db.schema.dropTable("click_dims_hourly").execute();
  await db.schema.dropTable("click_events").execute();
}
