/**
 * The change log between instances (events/transport.ts), on every engine: each change written by another
 * instance is applied here once, in order, including a change whose id committed after a later id had been read
 * (PostgreSQL and MariaDB take ids at the insert; SQLite under its write lock, so there it cannot happen).
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { pino } from "pino";
import { ChangeFeed, type ChangeEvent } from "../../src/events/feed.js";
import { ChangeLog } from "../../src/events/transport.js";
import { parseDatabaseUrl } from "../../src/settings.js";
import { ChangesStore } from "../../src/store/changes-store.js";
import { openStore, type Store } from "../../src/store/db.js";
import { migrateToLatest } from "../../src/store/migrate.js";
import { createDatabase, type TestDatabase } from "../support/engines.js";
import { forEachEngine } from "../support/server.js";

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
