/**
 * SQLite's click writer thread commits a flush in parts: the server's writes get the lock between two parts
 * instead of waiting for the whole flush, and a part that fails sends back only the clicks it did not write. It
 * also takes the WAL checkpoints off the server's connection.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import SQLite from "better-sqlite3";
import { sql } from "kysely";
import { pino } from "pino";
import { ClickBuffer } from "../redirect/clicks.js";
import { hourOf } from "./clicks.js";
import { openStore, type Store } from "./db.js";
import { migrateToLatest } from "./migrate.js";
import { SqliteClickWriter } from "./sqlite-click-writer.js";

const silent = pino({ level: "silent" });

/** A buffer that writes only when flushed. */
function bufferFor(writer: SqliteClickWriter): ClickBuffer {
  return new ClickBuffer(
    writer,
    { intervalMs: () => 3_600_000, threshold: () => Number.MAX_SAFE_INTEGER, keepStats: () => true },
    silent,
  );
}

describe("SQLite click writer", () => {
  let dir: string;
  let file: string;
  let store: Store;
  let raw: SQLite.Database;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "jmp-click-writer-"));
    file = path.join(dir, "jmp.db");
    store = openStore({ engine: "sqlite", location: file });
    await migrateToLatest(store.db, store.engine);
    await sql`create table flush_probe (x integer)`.execute(store.db);
    raw = new SQLite(file);
  });
  after(async () => {
    raw.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function addLinks(codes: string[]): Promise<void> {
    const now = Date.now();
    for (let i = 0; i < codes.length; i += 500) {
      await store.db
        .insertInto("links")
        .values(
          codes
            .slice(i, i + 500)
            .map((code) => ({ code, target: "https://example.com/", created_at: now, updated_at: now })),
        )
        .execute();
    }
  }

  const clickCounts = (prefix: string): Map<string, number> =>
    new Map(
      (
        raw
          .prepare("select code, click_count from links where code like ? order by code")
          .all(`${prefix}%`) as {
          code: string;
          click_count: number;
        }[]
      ).map((row) => [row.code, row.click_count]),
    );

  it("a part that fails sends back only its own and later codes: after a retry every count is exact", async () => {
    const codes = Array.from({ length: 95 }, (_, i) => `part${String(i).padStart(3, "0")}`);
    await addLinks(codes);
    // A real failure in the middle of the flush: the fifth part (codes 40–49, ten codes a part) holds part042.
    raw.exec(`create trigger refuse_part042 before update on links when new.code = 'part042'
              begin select raise(abort, 'refused for the test'); end`);
    const writer = new SqliteClickWriter(store.sqlite!, { chunkCodes: 10 });
    try {
      const clicks = bufferFor(writer);
      codes.forEach((code, i) => {
        for (let n = 0; n <= i % 3; n++) clicks.count(code);
      });
      const sent = clicks.size;
      await clicks.flush();
      assert.equal(clicks.stats.failedFlushes, 1);
      const afterFailure = clickCounts("part");
      codes.forEach((code, i) => assert.equal(afterFailure.get(code), i < 40 ? (i % 3) + 1 : 0, code));
      // The codes not written are back in the buffer, and nothing else.
      const back = codes.slice(40).reduce((sum, _, k) => sum + ((40 + k) % 3) + 1, 0);
      assert.equal(clicks.size, back);
      assert.equal(clicks.stats.flushedClicks, sent - back);

      raw.exec("drop trigger refuse_part042");
      await clicks.flush();
      const final = clickCounts("part");
      codes.forEach((code, i) => assert.equal(final.get(code), (i % 3) + 1, code));
      assert.equal(clicks.size, 0);
      assert.equal(clicks.stats.flushedClicks, sent);
      // The all-links row of the stats counts every click once too.
      const hour = hourOf(Date.now());
      const all = raw
        .prepare("select sum(clicks) as n from click_stats_hourly where code = '' and hour >= ?")
        .get(hour - 3_600_000) as { n: number };
      assert.equal(all.n, sent);
    } finally {
      await writer.close();
    }
  });

  it("a server write during a long flush gets the lock between two parts, before the flush ends", async () => {
    // Codes that are no link still cost their stats upserts: a flush of many parts, hundreds of ms long.
    const codes = Array.from({ length: 150_000 }, (_, i) => `nolink${i}`);
    const writer = new SqliteClickWriter(store.sqlite!, { chunkCodes: 1000 });
    try {
      const clicks = bufferFor(writer);
      for (const code of codes) clicks.count(code);
      let flushDone = false;
      const flushing = clicks.flush().then(() => (flushDone = true));
      // Wait until the writer thread holds the lock (a part is being written).
      const probe = raw.prepare("begin immediate");
      raw.pragma("busy_timeout = 0");
      for (let tries = 0; ; tries++) {
        assert.ok(tries < 2000 && !flushDone, "the flush never took the write lock");
        try {
          probe.run();
          raw.exec("rollback");
        } catch (err) {
          if ((err as { code?: string }).code === "SQLITE_BUSY") break;
          throw err;
        }
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      // Without the parts (or without the writer's pause for waiting statements, sqlite-lock-waiters.ts) the
      // write waited for the whole flush to commit.
      await sql`insert into flush_probe (x) values (1)`.execute(store.db);
      const { n: committed } = raw
        .prepare("select count(*) as n from click_stats_hourly where code like 'nolink%'")
        .get() as { n: number };
      await flushing;
      assert.equal(clicks.stats.failedFlushes, 0);
      assert.ok(
        committed < codes.length,
        `the write waited for the whole flush (${committed} rows committed)`,
      );
      const { n: all } = raw
        .prepare("select count(*) as n from click_stats_hourly where code like 'nolink%'")
        .get() as { n: number };
      assert.equal(all, codes.length);
    } finally {
      await writer.close();
    }
  });

  it("checkpoints the WAL for the server's connection, which no longer checkpoints inside its commits", async () => {
    const writer = new SqliteClickWriter(store.sqlite!, { checkpointEveryMs: 3_600_000 });
    const pages = () => statSync(file).size;
    try {
      assert.equal(store.sqlite!.pragma("wal_autocheckpoint", { simple: true }), 0);
      await sql`create table checkpoint_probe (x blob)`.execute(store.db);
      const before = pages();
      // ~2 500 pages through the server's connection: SQLite's automatic checkpoint (1 000 pages) would have
      // copied them into the database file inside one of these commits, on the event loop.
      for (let i = 0; i < 100; i++) {
        await sql`insert into checkpoint_probe (x) values (randomblob(100000))`.execute(store.db);
      }
      assert.equal(pages(), before, "the server's connection checkpointed");
    } finally {
      await writer.close();
    }
    assert.equal(store.sqlite!.pragma("wal_autocheckpoint", { simple: true }), 1000);

    // The thread's own timer copies them into the database file.
    const ticking = new SqliteClickWriter(store.sqlite!, { checkpointEveryMs: 20 });
    try {
      const before = pages();
      await sql`insert into checkpoint_probe (x) values (randomblob(4000000))`.execute(store.db);
      for (let tries = 0; pages() < before + 4_000_000; tries++) {
        assert.ok(tries < 500, "the writer thread never checkpointed");
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    } finally {
      await ticking.close();
    }
  });
});
