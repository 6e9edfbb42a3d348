import { type Kysely, sql } from "kysely";
import type { Engine } from "../db.js";
import { tableOptions } from "./columns.js";

/**
 * A revoked key's digest can be declared again. 0003 made `token_sha256` unique over every row, revoked ones
 * included, so re-declaring a digest that was once revoked failed for good (a 500 through apply, a wrong 409 by
 * name, and a provisioning file rolled back to an older version kept every instance not ready). Digests are now
 * unique among active keys only, the same way names are: `active_sha256` holds the digest while the key is
 * active and NULL after revocation. `source` also widens to hold apply owners (`apply:<name>`, up to 30 chars).
 */
export async function up(db: Kysely<unknown>, engine: Engine): Promise<void> {
  if (engine === "sqlite") {
    // SQLite cannot drop a column's UNIQUE constraint: rebuild the table with the new definition.
    await createTable(db, "api_keys_v5", engine);
    await sql`insert into api_keys_v5 (id, name, active_name, token_sha256, active_sha256, display, scopes,
      description, expires_at, created_at, created_by, updated_at, last_used_at, revoked_at, revoked_by, source,
      previous_sha256, previous_valid_until, revision)
      select id, name, active_name, token_sha256, case when revoked_at is null then token_sha256 end, display,
      scopes, description, expires_at, created_at, created_by, updated_at, last_used_at, revoked_at, revoked_by,
      source, previous_sha256, previous_valid_until, revision from api_keys`.execute(db);
    await sql`drop table api_keys`.execute(db);
    await sql`alter table api_keys_v5 rename to api_keys`.execute(db);
    await db.schema.createIndex("idx_api_keys_previous").on("api_keys").column("previous_sha256").execute();
  } else {
    if (engine === "postgres") {
      await sql`alter table api_keys drop constraint api_keys_token_sha256_key`.execute(db);
      await sql`alter table api_keys alter column source type varchar(64)`.execute(db);
    } else {
      await sql`alter table api_keys drop index token_sha256`.execute(db);
      await sql`alter table api_keys modify source varchar(64) not null default 'api'`.execute(db);
    }
    await db.schema
      .alterTable("api_keys")
      .addColumn("active_sha256", "char(64)", (c) => c.unique())
      .execute();
    await sql`update api_keys set active_sha256 = token_sha256 where revoked_at is null`.execute(db);
  }
  await db.schema.createIndex("idx_api_keys_digest").on("api_keys").column("token_sha256").execute();
}

async function createTable(db: Kysely<unknown>, name: string, engine: Engine): Promise<void> {
  await db.schema
    .createTable(name)
    .addColumn("id", "varchar(32)", (c) => c.primaryKey())
    .addColumn("name", "varchar(64)", (c) => c.notNull())
    .addColumn("active_name", "varchar(64)", (c) => c.unique())
    .addColumn("token_sha256", "char(64)", (c) => c.notNull())
    .addColumn("active_sha256", "char(64)", (c) => c.unique())
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
    .addColumn("source", "varchar(64)", (c) => c.notNull().defaultTo("api"))
    .addColumn("previous_sha256", "char(64)")
    .addColumn("previous_valid_until", "bigint")
    .addColumn("revision", "bigint", (c) => c.notNull().defaultTo(1))
    .modifyEnd(tableOptions(engine))
    .execute();
}
