/** Reading the audit log (writing is src/audit/log.ts). */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

export interface AuditFilter {
  actor?: string | undefined;
  objectType?: string | undefined;
  objectId?: string | undefined;
  since?: number | undefined;
  until?: number | undefined;
}

export class AuditStore {
  constructor(private readonly db: Kysely<Database>) {}

  async page(filter: AuditFilter, offset: number, limit: number) {
    let query = this.db.selectFrom("audit_log");
    if (filter.actor) query = query.where("actor", "=", filter.actor);
    if (filter.objectType) query = query.where("object_type", "=", filter.objectType);
    if (filter.objectId) query = query.where("object_id", "=", filter.objectId);
    if (filter.since !== undefined) query = query.where("at", ">=", filter.since);
    if (filter.until !== undefined) query = query.where("at", "<=", filter.until);
    const [rows, count] = await Promise.all([
      query.selectAll().orderBy("id", "desc").offset(offset).limit(limit).execute(),
      query.select((eb) => eb.fn.countAll<number>().as("total")).executeTakeFirstOrThrow(),
    ]);
    return { rows, total: Number(count.total) };
  }
}
