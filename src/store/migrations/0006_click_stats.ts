import { type Kysely, sql } from "kysely";
import type { Engine } from "../db.js";
import { tableOptions } from "./columns.js";

/**
 * Exact click counts by hour, per link and for all links (`code = ''`): the source of the analytics trends and
 * top lists. The click flush adds to them in the same transaction as `links.click_count`, so they stay exact on
 * every engine and with any number of instances (additive upserts only). `bots` and `detailed` are filled by the
 * detailed-analytics pipeline (not built yet; 0 until then). Only expands the schema: instances of the previous
 * version ignore the table (docs/upgrading.md).
 */
export async function up(db: Kysely<unknown>, engine: Engine): Promise<void> {
  await db.schema
    .createTable("click_stats_hourly")
    .addColumn("hour", "bigint", (c) => c.notNull())
    .addColumn("code", "varchar(128)", (c) => c.notNull())
    .addColumn("clicks", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("bots", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("detailed", "bigint", (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint("click_stats_hourly_pk", ["hour", "code"])
    .modifyEnd(engine === "sqlite" ? sql`without rowid` : tableOptions(engine))
    .execute();
  // A link's own history (per-link trends) reads its rows in time order.
  await db.schema
    .createIndex("idx_click_stats_hourly_code")
    .on("click_stats_hourly")
    .columns(["code", "hour"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("click_stats_hourly").execute();
}
