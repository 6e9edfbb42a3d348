import type { Kysely } from "kysely";
import type { Engine } from "../db.js";
import { autoIncrementId, tableOptions } from "./columns.js";

/** Who changed what, when and from where: every Admin API write. */
export async function up(db: Kysely<unknown>, engine: Engine): Promise<void> {
  await db.schema
    .createTable("audit_log")
    .addColumn("id", ...autoIncrementId(engine))
    .addColumn("at", "bigint", (c) => c.notNull())
    .addColumn("actor", "varchar(160)", (c) => c.notNull())
    .addColumn("ip", "varchar(64)")
    .addColumn("request_id", "varchar(128)")
    .addColumn("action", "varchar(64)", (c) => c.notNull())
    .addColumn("object_type", "varchar(32)", (c) => c.notNull())
    .addColumn("object_id", "varchar(255)")
    .addColumn("before", "text")
    .addColumn("after", "text")
    .modifyEnd(tableOptions(engine))
    .execute();
  await db.schema.createIndex("idx_audit_at").on("audit_log").column("at").execute();
  await db.schema.createIndex("idx_audit_actor").on("audit_log").columns(["actor", "at"]).execute();
  await db.schema
    .createIndex("idx_audit_object")
    .on("audit_log")
    .columns(["object_type", "object_id"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("audit_log").execute();
}
