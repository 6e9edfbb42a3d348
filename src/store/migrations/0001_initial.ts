import type { Kysely } from "kysely";
import type { Engine } from "../db.js";
import { autoIncrementId, tableOptions } from "./columns.js";

/**
 * The links table carries the fields of the later link features (redirect status, enabled, max clicks,
 * valid_from, title/notes, tags, fallback, query forwarding, rules, crawlable, managed_by, revision) from the
 * start, so those features add behaviour rather than table rewrites.
 */
export async function up(db: Kysely<unknown>, engine: Engine): Promise<void> {
  // MySQL/MariaDB compare strings case-insensitively by default; codes must be case-sensitive everywhere.
  const binaryCollation = tableOptions(engine);

  await db.schema
    .createTable("links")
    .addColumn("code", "varchar(128)", (c) => c.primaryKey())
    .addColumn("target", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addColumn("expires_at", "bigint")
    .addColumn("valid_from", "bigint")
    .addColumn("password_hash", "varchar(255)")
    .addColumn("redirect_status", "smallint")
    .addColumn("enabled", "smallint", (c) => c.notNull().defaultTo(1))
    .addColumn("max_clicks", "bigint")
    .addColumn("click_count", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("title", "varchar(512)")
    .addColumn("notes", "text")
    .addColumn("fallback_url", "text")
    .addColumn("forward_query", "smallint", (c) => c.notNull().defaultTo(0))
    .addColumn("crawlable", "smallint", (c) => c.notNull().defaultTo(0))
    .addColumn("rules", "text")
    .addColumn("managed_by", "varchar(32)")
    .addColumn("revision", "bigint", (c) => c.notNull().defaultTo(1))
    .modifyEnd(binaryCollation)
    .execute();
  await db.schema.createIndex("idx_links_created_at").on("links").columns(["created_at", "code"]).execute();
  await db.schema.createIndex("idx_links_expires_at").on("links").column("expires_at").execute();

  await db.schema
    .createTable("link_tags")
    .addColumn("code", "varchar(128)", (c) => c.notNull().references("links.code").onDelete("cascade"))
    .addColumn("tag", "varchar(64)", (c) => c.notNull())
    .addPrimaryKeyConstraint("pk_link_tags", ["code", "tag"])
    .modifyEnd(binaryCollation)
    .execute();
  await db.schema.createIndex("idx_link_tags_tag").on("link_tags").column("tag").execute();

  await db.schema
    .createTable("runtime_config")
    .addColumn("key", "varchar(128)", (c) => c.primaryKey())
    .addColumn("value", "text", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addColumn("updated_by", "varchar(128)")
    .modifyEnd(binaryCollation)
    .execute();

  await db.schema
    .createTable("config_history")
    .addColumn("id", ...autoIncrementId(engine))
    .addColumn("config_key", "varchar(128)", (c) => c.notNull())
    .addColumn("old_value", "text")
    .addColumn("new_value", "text", (c) => c.notNull())
    .addColumn("changed_at", "bigint", (c) => c.notNull())
    .addColumn("changed_by", "varchar(128)")
    .modifyEnd(binaryCollation)
    .execute();
  await db.schema
    .createIndex("idx_config_history_key")
    .on("config_history")
    .columns(["config_key", "id"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("config_history").execute();
  await db.schema.dropTable("runtime_config").execute();
  await db.schema.dropTable("link_tags").execute();
  await db.schema.dropTable("links").execute();
}
