/**
 * `exclusively`: runs a function in a transaction that holds a database-wide named lock, so that several
 * instances doing the same thing at once (applying the provisioning file at start) run one after the other,
 * each seeing what the previous one committed. The lock is the engine's own: a transaction-scoped advisory
 * lock on PostgreSQL, GET_LOCK on MySQL/MariaDB (held by the connection around the transaction), and the
 * database write lock on SQLite (taken by the transaction's first statement).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { sql, type Transaction } from "kysely";
import type { Store } from "./db.js";
import type { Database } from "./schema.js";

/** How long an instance waits for another's turn (a large provisioning file applying elsewhere). */
const LOCK_WAIT_MS = 120_000;
/**
 * The wait is a loop of short statements, each well within the statement timeout (db.ts): one long blocking
 * statement would be cut off by it.
 */
const MYSQL_LOCK_TRY_SECONDS = 5;
const POSTGRES_LOCK_POLL_MS = 100;

export async function exclusively<T>(
  store: Store,
  name: string,
  fn: (trx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  switch (store.engine) {
    case "postgres":
      return store.db.transaction().execute(async (trx) => {
        const deadline = Date.now() + LOCK_WAIT_MS;
        for (;;) {
          const got = await sql<{
            got: boolean;
          }>`select pg_try_advisory_xact_lock(hashtext(${name})) as got`.execute(trx);
          if (got.rows[0]?.got === true) break;
          if (Date.now() > deadline) throw new Error(`could not take the database lock '${name}'`);
          await sleep(POSTGRES_LOCK_POLL_MS);
        }
        return fn(trx);
      });
    case "mysql":
      return store.db.connection().execute(async (conn) => {
        const deadline = Date.now() + LOCK_WAIT_MS;
        for (;;) {
          const got = await sql<{
            got: number | null;
          }>`select get_lock(${name}, ${MYSQL_LOCK_TRY_SECONDS}) as got`.execute(conn);
          if (Number(got.rows[0]?.got) === 1) break;
          if (Date.now() > deadline) throw new Error(`could not take the database lock '${name}'`);
        }
        try {
          return await conn.transaction().execute(fn);
        } finally {
          await sql`select release_lock(${name})`.execute(conn);
        }
      });
    case "sqlite":
      return store.db.transaction().execute(async (trx) => {
        // A write as the first statement takes SQLite's write lock before anything is read.
        await sql`delete from changes where id < 0`.execute(trx);
        return fn(trx);
      });
  }
}
