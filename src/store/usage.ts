/** Whether a database has been used: what start-up asks before it generates a first admin password. */
import { type Kysely, sql } from "kysely";
import type { Database } from "./schema.js";

export interface DatabaseUse {
  /** Any link, API key (active or revoked) or audit entry: someone has worked with this database. */
  hasData: boolean;
  /** An API key that still works (not revoked, not expired). */
  hasActiveKey: boolean;
}

export async function databaseUse(db: Kysely<Database>, now: number): Promise<DatabaseUse> {
  const any = async (table: "links" | "api_keys" | "audit_log") =>
    (await db
      .selectFrom(table)
      .select(sql<number>`1`.as("one"))
      .limit(1)
      .executeTakeFirst()) !== undefined;
  const activeKey = await db
    .selectFrom("api_keys")
    .select("id")
    .where("revoked_at", "is", null)
    .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", now)]))
    .limit(1)
    .executeTakeFirst();
  const hasData = (await any("links")) || (await any("api_keys")) || (await any("audit_log"));
  return { hasData, hasActiveKey: activeKey !== undefined };
}
