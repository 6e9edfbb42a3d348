/**
 * The change log between instances (events/transport.ts), on every engine: each change written by another
 * instance is applied here once, in order, including a change whose id committed after a later id had been read
 * (PostgreSQL and MariaDB take ids at the insert; SQLite under its write lock, so there it cannot happen). A
 * link's write and its change commit together: neither is ever left without the other.
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { sql } from "kysely";
import { pino } from "pino";
import { ChangeFeed, type ChangeEvent } from "../../src/events/feed.js";
import { ChangeLog } from "../../src/events/transport.js";
import { parseDatabaseUrl } from "../../src/settings.js";
import { ChangesStore } from "../../src/store/changes-store.js";
import { type Engine, openStore, type Store } from "../../src/store/db.js";
import { migrateToLatest } from "../../src/store/migrate.js";
import { createDatabase, type TestDatabase } from "../support/engines.js";
import { forEachEngine, twoInstances, type TestServer } from "../support/server.js";

const silent = pino({ level: "silent" });
const change = (code: string): ChangeEvent => ({ kind: "links", codes: [code] });

forEachEngine("change log", (engine) => {
  let database: TestDatabase;
  let here: Store;
  let elsewhere: Store;
  let log: ChangeLog;
  const applied: string[] = [];

  before(async () => {
    database = await createDatabase(engine);
    here = openStore(parseDatabaseUrl(database.url, "."));
    await migrateToLatest(here.db, here.engine);
    elsewhere = openStore(parseDatabaseUrl(database.url, "."));
    const feed = new ChangeFeed();
    feed.subscribe((event, from) => {
      if (from === "remote" && event.kind === "links") applied.push(...event.codes);
    });
    log = new ChangeLog(new ChangesStore(here.db, engine), feed, silent);
    await log.start(null);
  });
  after(async () => {
    await log.stop();
    await elsewhere.close();
    await here.close();
    await database.drop();
  });

  /** Writes a change as another instance would. */
  const write = (code: string, store: Store = elsewhere) =>
    new ChangesStore(store.db, engine).insert("another-instance", JSON.stringify(change(code)), Date.now());

  it("applies each change of another instance once, in order", async () => {
    applied.length = 0;
    for (const code of ["a", "b", "c"]) await write(code);
    await log.pollNow();
    await write("d");
    await log.pollNow();
    await log.pollNow();
    assert.deepEqual(applied, ["a", "b", "c", "d"]);
  });

  it("applies a change whose id committed after a later one had been read", async (t) => {
    if (engine === "sqlite") return t.skip("SQLite takes ids under its write lock: they commit in order");
    applied.length = 0;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let inserted!: () => void;
    const slowInserted = new Promise<void>((resolve) => (inserted = resolve));
    // The slow writer takes its id first and commits last.
    const slow = elsewhere.db.transaction().execute(async (trx) => {
      await trx
        .insertInto("changes")
        .values({ created_at: Date.now(), origin: "slow-instance", event: JSON.stringify(change("slow")) })
        .execute();
      inserted();
      await released;
    });
    await slowInserted;
    const third = openStore(parseDatabaseUrl(database.url, "."));
    try {
      await write("fast", third);
      await log.pollNow();
      assert.deepEqual(applied, ["fast"]);
      release();
      await slow;
      await log.pollNow();
      await log.pollNow();
      assert.deepEqual(applied, ["fast", "slow"]);
    } finally {
      release();
      await third.close();
    }
  });
});

forEachEngine("a link write and its change", (engine) => {
  let a: TestServer;
  let b: TestServer;
  twoInstances(engine, (first, second) => {
    a = first;
    b = second;
  });

  const changesFor = async (code: string) =>
    (await a.app.store.db.selectFrom("changes").select("event").execute()).filter((row) =>
      (JSON.parse(row.event) as ChangeEvent & { codes?: string[] }).codes?.includes(code),
    ).length;

  it("commit together: a change that cannot be recorded undoes the write, and a write is announced with it", async () => {
    const created = await a.api.post("/admin/v1/links", {
      code: "together",
      target: "https://example.com/1",
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(await changesFor("together"), 1);
    await servedBy(b, "/together", "https://example.com/1");

    for (const statement of REFUSE_CHANGES[engine]) await sql.raw(statement).execute(a.app.store.db);
    try {
      const refused = await a.api.put("/admin/v1/links/together", { target: "https://example.com/2" });
      assert.equal(refused.status, 500, refused.text);
      const deleted = await a.api.delete("/admin/v1/links/together");
      assert.equal(deleted.status, 500, deleted.text);
    } finally {
      await sql
        .raw(`drop trigger refuse_changes${engine === "postgres" ? " on changes" : ""}`)
        .execute(a.app.store.db);
    }
    // Neither write happened: not for this instance, not for the other, not in the audit log.
    const link = await a.api.get("/admin/v1/links/together");
    assert.equal(link.json.data.target, "https://example.com/1");
    assert.equal((await b.anon.get("/together")).headers.get("location"), "https://example.com/1");
    const audit = await a.api.get("/admin/v1/audit?object_id=together");
    assert.deepEqual(
      audit.json.data.map((entry: { action: string }) => entry.action),
      ["link.create"],
    );

    const updated = await a.api.put("/admin/v1/links/together", { target: "https://example.com/3" });
    assert.equal(updated.status, 200, updated.text);
    assert.equal(await changesFor("together"), 2);
    // The answer is the stored link (and its ETag), though it is no longer read back after the write.
    const stored = await a.api.get("/admin/v1/links/together");
    assert.deepEqual(updated.json.data, { ...stored.json.data, force: null });
    assert.equal(updated.headers.get("etag"), stored.headers.get("etag"));
    await servedBy(b, "/together", "https://example.com/3");
  });

  it("answers a partial update with the link as stored, every setting included", async () => {
    const created = await a.api.post("/admin/v1/links", {
      code: "settings",
      target: "https://example.com/s",
      tags: ["b", "a"],
      title: "Before",
    });
    assert.equal(created.status, 201, created.text);
    const changes = [
      { target: "https://example.com/s2" },
      {
        target: "https://example.com/s3",
        tags: ["z", "y", "a"],
        title: "After",
        notes: "Ünïcode ✓",
        redirect_status: 302,
        max_clicks: 7,
        valid_from: "2026-01-02T03:04:05Z",
        expires_at: "2099-01-01T00:00:00Z",
        fallback_url: "https://example.com/gone",
        forward_query: true,
        crawlable: true,
        enabled: false,
        password: "open sesame",
        rules: [{ conditions: [{ type: "device", value: "ios" }], target: "https://apps.apple.com/app" }],
      },
      { target: "https://example.com/s4", tags: [], password: "", expires_at: "", rules: [], enabled: true },
    ];
    for (const change of changes) {
      const updated = await a.api.put("/admin/v1/links/settings", change);
      assert.equal(updated.status, 200, updated.text);
      const stored = await a.api.get("/admin/v1/links/settings");
      assert.deepEqual(updated.json.data, { ...stored.json.data, force: null }, JSON.stringify(change));
      assert.equal(updated.headers.get("etag"), stored.headers.get("etag"));
    }
  });
});

/** Waits (at most 2 s) until `s` redirects `path` to `target`: the change feed has carried a write there. */
async function servedBy(s: TestServer, path: string, target: string): Promise<void> {
  for (let tries = 0; ; tries++) {
    const location = (await s.anon.get(path)).headers.get("location");
    if (location === target) return;
    assert.ok(tries < 100, `${path} still redirects to ${location}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A trigger that refuses every new change (statements run one by one). */
const REFUSE_CHANGES: Record<Engine, string[]> = {
  sqlite: [
    `create trigger refuse_changes before insert on changes
     begin select raise(abort, 'refused for the test'); end`,
  ],
  postgres: [
    `create or replace function refuse_changes() returns trigger language plpgsql as $$
     begin raise exception 'refused for the test'; end $$`,
    `create trigger refuse_changes before insert on changes for each row execute function refuse_changes()`,
  ],
  mysql: [
    `create trigger refuse_changes before insert on changes for each row
     signal sqlstate '45000' set message_text = 'refused for the test'`,
  ],
};
