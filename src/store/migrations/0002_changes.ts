import type { Kysely } from "kysely";
import type { Engine } from "../db.js";
import { autoIncrementId, tableOptions } from "./columns.js";

/** The change log every instance polls (and Redis only rings the bell for): see src/events/. */
export async function up(db: Kysely<unknown>, engine: Engine): Promise<void> {
  await db.schema
    .createTable("changes")
    .addColumn("id", ...autoIncrementId(engine))
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("origin", "varchar(64)", (c) => c.notNull())
    .addColumn("event", "text", (c) => c.notNull())
    .modifyEnd(tableOptions(engine))
    .execute();
  await db.schema.createIndex("idx_changes_created_at").on("changes").column("created_at").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("changes").execute();
}
