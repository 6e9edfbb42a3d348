/** The change log (`changes`): what every instance polls to learn of writes made elsewhere (events/transport.ts). */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

export interface ChangeRow {
  id: number;
  origin: string;
  event: string;
  createdAt: number;
}

export class ChangesStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(origin: string, event: string, now: number): Promise<void> {
    await this.db.insertInto("changes").values({ created_at: now, origin, event }).execute();
  }

  /** The newest id in the log (0 when it is empty). */
  async lastId(): Promise<number> {
    const row = await this.db
      .selectFrom("changes")
      .select((eb) => eb.fn.max("id").as("max"))
      .executeTakeFirst();
    return Number(row?.max ?? 0);
  }

  /** Ids of the changes written since `since` (epoch ms). */
  async idsSince(since: number): Promise<number[]> {
    const rows = await this.db.selectFrom("changes").select("id").where("created_at", ">=", since).execute();
    return rows.map((row) => Number(row.id));
  }

  /** Changes after `cursor`, and every change written since `windowStart` (late commits), in id order. */
  async after(cursor: number, windowStart: number): Promise<ChangeRow[]> {
    const rows = await this.db
      .selectFrom("changes")
      .select(["id", "origin", "event", "created_at"])
      .where((eb) => eb.or([eb("id", ">", cursor), eb("created_at", ">=", windowStart)]))
      .orderBy("id")
      .execute();
    return rows.map((row) => ({
      id: Number(row.id),
      origin: row.origin,
      event: row.event,
      createdAt: Number(row.created_at),
    }));
  }

  async deleteOlderThan(time: number): Promise<void> {
    await this.db.deleteFrom("changes").where("created_at", "<", time).execute();
  }
}
