/** SQL for the runtime config table and its history. */
import type { Kysely, Transaction } from "kysely";
import type { Database } from "./schema.js";

export interface ConfigRow {
  key: string;
  value: string;
  updated_at: number;
}

export interface ConfigWrite {
  key: string;
  value: string;
  actor: string;
  now: number;
  /** Values recorded in history (already redacted for sensitive keys). */
  historyOld: string | null;
  historyNew: string;
}

export class ConfigStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** A config write and what goes with it (history, audit entry), committed together. */
  transaction<T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(fn);
  }

  /** Every row; `db` may be a transaction (an apply reads what the instances before it committed). */
  readAll(db: Kysely<Database> | Transaction<Database> = this.db): Promise<ConfigRow[]> {
    return db.selectFrom("runtime_config").select(["key", "value", "updated_at"]).execute();
  }

  async read(key: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom("runtime_config")
      .select("value")
      .where("key", "=", key)
      .executeTakeFirst();
    return row?.value;
  }

  /** Inserts the row unless one exists. True when this call created it (safe when instances race). */
  async insertIfAbsent(key: string, value: string, now: number): Promise<boolean> {
    const exists = await this.read(key);
    if (exists !== undefined) return false;
    try {
      await this.db
        .insertInto("runtime_config")
        .values({ key, value, updated_at: now, updated_by: "system" })
        .execute();
      return true;
    } catch {
      // Another instance inserted it between our read and write.
      if ((await this.read(key)) !== undefined) return false;
      throw new Error(`cannot seed runtime config key ${key}`);
    }
  }

  /**
   * Sets the value only if the key is absent or empty; true when this call did it. Used for the generated first
   * admin password, so that of several instances starting together exactly one wins.
   */
  async claimEmpty(key: string, value: string, now: number): Promise<boolean> {
    if (await this.insertIfAbsent(key, value, now)) return true;
    const result = await this.db
      .updateTable("runtime_config")
      .set({ value, updated_at: now, updated_by: "system" })
      .where("key", "=", key)
      .where("value", "=", "")
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Newest first. */
  history(key: string, limit: number) {
    return this.db
      .selectFrom("config_history")
      .selectAll()
      .where("config_key", "=", key)
      .orderBy("id", "desc")
      .limit(limit)
      .execute();
  }

  /** Writes the value and its history row in one transaction (`within`, when given: the caller's). */
  async write(change: ConfigWrite, within?: Transaction<Database>): Promise<void> {
    if (!within) return this.db.transaction().execute((trx) => this.write(change, trx));
    {
      const trx = within;
      const updated = await trx
        .updateTable("runtime_config")
        .set({ value: change.value, updated_at: change.now, updated_by: change.actor })
        .where("key", "=", change.key)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 0) {
        await trx
          .insertInto("runtime_config")
          .values({ key: change.key, value: change.value, updated_at: change.now, updated_by: change.actor })
          .execute();
      }
      await trx
        .insertInto("config_history")
        .values({
          config_key: change.key,
          old_value: change.historyOld,
          new_value: change.historyNew,
          changed_at: change.now,
          changed_by: change.actor,
        })
        .execute();
    }
  }
}
