/** The change log (`changes`): what every instance polls to learn of writes made elsewhere (events/transport.ts). */
import type { Kysely } from "kysely";
import { compiledOnce, type Db, type Engine } from "./db.js";
import { CHUNK } from "./link-rows.js";
import type { Database } from "./schema.js";

export interface ChangeRow {
  id: number;
  origin: string;
  event: string;
  createdAt: number;
}

/** Every write appends one, so it is compiled once (db.ts). */
const insertChange = compiledOnce(
  (db, created_at: number, origin: string, event: string) =>
    db.insertInto("changes").values({ created_at, origin, event }),
  [0, "", ""] as [number, string, string],
);

export class ChangesStore {
  /**
   * Whether ids become visible in id order. On SQLite an id is taken under the write lock, held until the commit,
   * so no row can appear behind one already read. On PostgreSQL and MariaDB an id is taken at the insert and
   * transactions commit in any order: a poller must look again behind its cursor (ChangeLog's re-read window).
   */
  readonly idsCommitInOrder: boolean;

  constructor(
    private readonly db: Kysely<Database>,
    engine: Engine,
  ) {
    this.idsCommitInOrder = engine === "sqlite";
  }

  /** Appends a change, in the caller's transaction when `db` is one. */
  async insert(origin: string, event: string, now: number, db: Db = this.db): Promise<void> {
    await insertChange(db, now, origin, event);
  }

  /** The newest id in the log (0 when it is empty). */
  async lastId(): Promise<number> {
    const row = await this.db
      .selectFrom("changes")
      .select((eb) => eb.fn.max("id").as("max"))
      .executeTakeFirst();
    return Number(row?.max ?? 0);
  }

  /** Ids of the changes written since `since` (epoch ms), up to `upTo` if given. Read from the index alone. */
  async idsSince(since: number, upTo = Number.MAX_SAFE_INTEGER): Promise<number[]> {
    const rows = await this.db
      .selectFrom("changes")
      .select("id")
      .where("created_at", ">=", since)
      .where("id", "<=", upTo)
      .execute();
    return rows.map((row) => Number(row.id));
  }

  /** Changes after `cursor`, in id order (read through the primary key: only the new rows). */
  async after(cursor: number): Promise<ChangeRow[]> {
    const rows = await this.db
      .selectFrom("changes")
      .select(["id", "origin", "event", "created_at"])
      .where("id", ">", cursor)
      .orderBy("id")
      .execute();
    return rows.map(toChangeRow);
  }

  /** The changes with these ids, in id order. */
  async byIds(ids: readonly number[]): Promise<ChangeRow[]> {
    const found: ChangeRow[] = [];
    for (let i = 0; i < ids.length; i += CHUNK) {
      const rows = await this.db
        .selectFrom("changes")
        .select(["id", "origin", "event", "created_at"])
        .where("id", "in", ids.slice(i, i + CHUNK))
        .execute();
      found.push(...rows.map(toChangeRow));
    }
    return found.sort((a, b) => a.id - b.id);
  }

  async deleteOlderThan(time: number): Promise<void> {
    await this.db.deleteFrom("changes").where("created_at", "<", time).execute();
  }
}

function toChangeRow(row: { id: number; origin: string; event: string; created_at: number }): ChangeRow {
  return { id: Number(row.id), origin: row.origin, event: row.event, createdAt: Number(row.created_at) };
}
