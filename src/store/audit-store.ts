/** The audit log's SQL: the insert (AuditLog in src/audit/log.ts decides what an entry holds) and the reads. */
import type { Kysely } from "kysely";
import { compiledOnce, type Db } from "./db.js";
import type { AuditLogTable, Database } from "./schema.js";

/** Every column of an entry but its id, in the order the insert binds them. */
const AUDIT_COLUMNS = [
  "at",
  "actor",
  "ip",
  "request_id",
  "action",
  "object_type",
  "object_id",
  "before",
  "after",
] as const;
export type AuditRow = Pick<AuditLogTable, (typeof AUDIT_COLUMNS)[number]>;

/** Every audited write makes it, so it is compiled once (db.ts); each column is bound, nulls included. */
const insertRow = compiledOnce(
  (db, ...values: unknown[]) =>
    db
      .insertInto("audit_log")
      .values(Object.fromEntries(AUDIT_COLUMNS.map((column, i) => [column, values[i]])) as AuditRow),
  AUDIT_COLUMNS.map((): unknown => null),
);

/** Inserts one entry, in the write's own transaction when `db` is one. */
export async function insertAuditRow(db: Db, row: AuditRow): Promise<void> {
  await insertRow(db, ...AUDIT_COLUMNS.map((column) => row[column]));
}

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
