import { sql, type Kysely } from "kysely";
import type { Engine } from "../db.js";
import { tableOptions } from "./columns.js";

/**
 * Exact clicks per day (epoch ms of the UTC day's start), per link and for all links (`code = ''`), written by
 * the click flush beside the hourly counts, so that analytics outlive `analytics.hourly_retention_days` for
 * `analytics.daily_retention_days`. Only expands the schema (docs/upgrading.md).
 */
export async function up(db: Kysely<unknown>, engine: Engine): Promise<void> {
  await db.schema
    .createTable("click_stats_daily")
    .addColumn("day", "bigint", (c) => c.notNull())
    .addColumn("code", "varchar(128)", (c) => c.notNull())
    .addColumn("clicks", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("bots", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("detailed", "bigint", (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint("click_stats_daily_pk", ["day", "code"])
    .modifyEnd(engine === "sqlite" ? sql`without rowid` : tableOptions(engine))
    .execute();
  await db.schema
    .createIndex("idx_click_stats_daily_code")
    .on("click_stats_daily")
    .columns(["code", "day"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("click_stats_daily").execute();
}
