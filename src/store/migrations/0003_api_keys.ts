import type { Kysely } from "kysely";
import type { Engine } from "../db.js";
import { tableOptions } from "./columns.js";

/**
 * API keys. Only the SHA-256 of a token is stored. Revoked keys stay (for the audit trail) but free their
 * name: `active_name` holds the name while the key is active and NULL after revocation, and NULLs never collide
 * in a unique index on any engine.
 */
export async function up(db: Kysely<unknown>, engine: Engine): Promise<void> {
  await db.schema
    .createTable("api_keys")
    .addColumn("id", "varchar(32)", (c) => c.primaryKey())
    .addColumn("name", "varchar(64)", (c) => c.notNull())
    .addColumn("active_name", "varchar(64)", (c) => c.unique())
    .addColumn("token_sha256", "char(64)", (c) => c.notNull().unique())
    .addColumn("display", "varchar(32)", (c) => c.notNull())
    .addColumn("scopes", "varchar(512)", (c) => c.notNull())
    .addColumn("description", "varchar(512)")
    .addColumn("expires_at", "bigint")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("created_by", "varchar(128)", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addColumn("last_used_at", "bigint")
    .addColumn("revoked_at", "bigint")
    .addColumn("revoked_by", "varchar(128)")
    .addColumn("source", "varchar(16)", (c) => c.notNull().defaultTo("api"))
    .addColumn("previous_sha256", "char(64)")
    .addColumn("previous_valid_until", "bigint")
    .addColumn("revision", "bigint", (c) => c.notNull().defaultTo(1))
    .modifyEnd(tableOptions(engine))
    .execute();
  await db.schema.createIndex("idx_api_keys_previous").on("api_keys").column("previous_sha256").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("api_keys").execute();
}
