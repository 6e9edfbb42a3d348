/**
 * Waiting for SQLite's write lock. Another connection (the click writer thread, the CLI) can hold it for a
 * flush; a statement of the server's must wait its turn, not fail with SQLITE_BUSY and become a 500.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { Session } from "node:inspector";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { Worker } from "node:worker_threads";
import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  sql,
} from "kysely";
import { compiledOnce, openStore, type Store } from "./db.js";
import { migrateToLatest } from "./migrate.js";
import type { Database } from "./schema.js";

/** Holds the write lock of `file` from another thread for `ms`; resolves once it holds it. */
async function holdWriteLock(file: string, ms: number): Promise<Worker> {
  const worker = new Worker(
    `const { parentPort, workerData } = require("node:worker_threads");
     const SQLite = require(workerData.module);
     const db = new SQLite(workerData.file);
     db.exec("BEGIN IMMEDIATE");
     parentPort.postMessage("locked");
     Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.ms);
     db.exec("COMMIT");
     db.close();`,
    {
      eval: true,
      workerData: { file, ms, module: createRequire(import.meta.url).resolve("better-sqlite3") },
    },
  );
  await new Promise((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  return worker;
}

/**
 * A SQLite database in a new directory for the enclosing suite: opened and set up by `prepare` before its
 * tests, closed and removed after them.
 */
function suiteDatabase(prepare: (db: Store["db"]) => Promise<void>): {
  readonly db: Store["db"];
  readonly file: string;
} {
  let dir = "";
  let store: Store | undefined;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "jmp-db-test-"));
    store = openStore({ engine: "sqlite", location: path.join(dir, "jmp.db") });
    await prepare(store.db);
  });
  after(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    get db() {
      return store!.db;
    },
    get file() {
      return path.join(dir, "jmp.db");
    },
  };
}

describe("SQLite write lock held by another connection", () => {
  const database = suiteDatabase(async (db) => {
    await sql`create table t (x integer)`.execute(db);
    await sql`insert into t (x) values (0)`.execute(db);
  });

  it("a write waits for it without blocking the event loop", async () => {
    // With SQLite's busy_timeout the wait slept inside the call, on the event loop: every redirect in flight
    // stalled for as long as the click writer's flush held the lock (hits p99 ~300 ms beside 1 % PUTs).
    const holder = await holdWriteLock(database.file, 1500);
    let last = Date.now();
    let longestGap = 0;
    const ticker = setInterval(() => {
      const now = Date.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
    }, 5);
    try {
      const started = Date.now();
      await sql`update t set x = x + 1`.execute(database.db);
      longestGap = Math.max(longestGap, Date.now() - last);
      assert.ok(Date.now() - started >= 1000, "the update waited for the lock");
      assert.ok(longestGap < 750, `the event loop stalled for ${longestGap} ms while the update waited`);
    } finally {
      clearInterval(ticker);
      await holder.terminate();
    }
    const row = await sql<{ x: number }>`select x from t`.execute(database.db);
    assert.equal(row.rows[0]!.x, 1);
  });

  it("a write waits for it, even while a CPU profiler interrupts every sleep", async () => {
    // A sampling profiler (the inspector's, an APM agent's) signals the thread every few hundred µs. SQLite's
    // busy handler counts each interrupted sleep as slept in full, so its 5 s budget ran out after ~20 ms and
    // admin writes failed with SQLITE_BUSY while the click writer flushed (seen under the bench's mixed load).
    const session = new Session();
    session.connect();
    const post = (method: string, params?: object) =>
      new Promise<void>((resolve, reject) =>
        session.post(method, params, (err) => (err ? reject(err) : resolve())),
      );
    await post("Profiler.enable");
    await post("Profiler.setSamplingInterval", { interval: 100 });
    await post("Profiler.start");
    try {
      const holder = await holdWriteLock(database.file, 400);
      const started = Date.now();
      await sql`update t set x = x + 1`.execute(database.db);
      assert.ok(Date.now() - started >= 200, "the update waited for the lock");
      await holder.terminate();
      const row = await sql<{ x: number }>`select x from t`.execute(database.db);
      assert.equal(row.rows[0]!.x, 2);
    } finally {
      await post("Profiler.stop");
      session.disconnect();
    }
  });
});

describe("compiledOnce", () => {
  const database = suiteDatabase(async (db) => {
    await migrateToLatest(db, "sqlite");
    for (const [code, target] of [
      ["a", "https://a.example/"],
      ["b", "https://b.example/"],
    ]) {
      await sql`insert into links (code, target, created_at, updated_at) values (${code}, ${target}, 0, 0)`.execute(
        db,
      );
    }
  });

  const targetOf = compiledOnce(
    (db, code: string) => db.selectFrom("links").select("target").where("code", "=", code),
    [""] as [string],
  );

  it("runs the query compiled at its first call with each call's parameters", async () => {
    assert.deepEqual((await targetOf(database.db, "a")).rows, [{ target: "https://a.example/" }]);
    assert.deepEqual((await targetOf(database.db, "b")).rows, [{ target: "https://b.example/" }]);
    assert.deepEqual((await targetOf(database.db, "c")).rows, []);
    // In a transaction too (the same compiled query, on the transaction's connection).
    const inTransaction = await database.db.transaction().execute((trx) => targetOf(trx, "b"));
    assert.deepEqual(inTransaction.rows, [{ target: "https://b.example/" }]);
  });

  it("compiles once per dialect: the same query on PostgreSQL gets PostgreSQL's placeholders", async () => {
    const statements: string[] = [];
    const postgres = new Kysely<Database>({
      dialect: {
        createAdapter: () => new PostgresAdapter(),
        createDriver: () => new DummyDriver(),
        createIntrospector: (db) => new PostgresIntrospector(db),
        createQueryCompiler: () => new PostgresQueryCompiler(),
      },
      log: (event) => void statements.push(event.query.sql),
    });
    await targetOf(postgres, "a");
    await targetOf(database.db, "a");
    assert.match(statements[0]!, /"code" = \$1/);
    assert.deepEqual((await targetOf(database.db, "a")).rows, [{ target: "https://a.example/" }]);
  });

  it("refuses a query whose parameters are not exactly the placeholders", async () => {
    const wrong = compiledOnce(
      (db, code: string) => db.selectFrom("links").select("target").where("code", "in", [code, "z"]),
      [""] as [string],
    );
    await assert.rejects(async () => wrong(database.db, "a"), /compiledOnce: 2 parameters/);
  });
});
