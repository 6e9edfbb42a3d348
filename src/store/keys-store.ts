/** SQL for API keys. */
import { type Kysely, type Selectable, sql, type Transaction } from "kysely";
import type { Db } from "./db.js";
import type { ApiKeysTable, Database } from "./schema.js";

export type KeyRow = Selectable<ApiKeysTable>;

export class KeysStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** A key write and its audit entry, committed together. */
  transaction<T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(fn);
  }

  get(id: string): Promise<KeyRow | undefined> {
    return this.db.selectFrom("api_keys").selectAll().where("id", "=", id).executeTakeFirst();
  }

  byActiveName(name: string, db: Db = this.db): Promise<KeyRow | undefined> {
    return db.selectFrom("api_keys").selectAll().where("active_name", "=", name).executeTakeFirst();
  }

  /** The active key whose current token has this digest. */
  byActiveDigest(digest: string, db: Db = this.db): Promise<KeyRow | undefined> {
    return db.selectFrom("api_keys").selectAll().where("active_sha256", "=", digest).executeTakeFirst();
  }

  /** The active key whose current token — or previous token, within its grace period — has this digest. */
  async byDigest(digest: string, now: number): Promise<KeyRow | undefined> {
    return this.db
      .selectFrom("api_keys")
      .selectAll()
      .where("revoked_at", "is", null)
      .where((eb) =>
        eb.or([
          eb("token_sha256", "=", digest),
          eb.and([eb("previous_sha256", "=", digest), eb("previous_valid_until", ">", now)]),
        ]),
      )
      .executeTakeFirst();
  }

  list(includeRevoked: boolean): Promise<KeyRow[]> {
    let query = this.db.selectFrom("api_keys").selectAll();
    if (!includeRevoked) query = query.where("revoked_at", "is", null);
    return query.orderBy("created_at").orderBy("id").execute();
  }

  /** The active keys whose `source` is one of `sources`. */
  activeFrom(sources: readonly string[], db: Db = this.db): Promise<KeyRow[]> {
    return db
      .selectFrom("api_keys")
      .selectAll()
      .where("revoked_at", "is", null)
      .where("source", "in", sources)
      .execute();
  }

  async insert(row: KeyRow, db: Db = this.db): Promise<void> {
    await db.insertInto("api_keys").values(row).execute();
  }

  /** Applies `changes` if the key is active (and, with `revision`, unchanged since it was read). */
  async update(
    id: string,
    changes: Partial<Omit<KeyRow, "id" | "revision">>,
    revision?: number,
    db: Db = this.db,
  ): Promise<boolean> {
    let query = db
      .updateTable("api_keys")
      .set({ ...changes, revision: sql<number>`revision + 1` })
      .where("id", "=", id)
      .where("revoked_at", "is", null);
    if (revision !== undefined) query = query.where("revision", "=", revision);
    const result = await query.executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async touch(id: string, now: number): Promise<void> {
    await this.db.updateTable("api_keys").set({ last_used_at: now }).where("id", "=", id).execute();
  }
}
