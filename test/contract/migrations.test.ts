/** Migrations that move data: what an existing database holds before the migration must read the same after. */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { sql } from "kysely";
import { parseDatabaseUrl } from "../../src/settings.js";
import { openStore, type Store } from "../../src/store/db.js";
import { migrateToLatest } from "../../src/store/migrate.js";
import { createDatabase, type TestDatabase } from "../support/engines.js";
import { forEachEngine } from "../support/server.js";

const ACTIVE = "a".repeat(64);
const REVOKED = "b".repeat(64);

function keyRow(id: string, digest: string, revoked: boolean) {
  return {
    id,
    name: id,
    active_name: revoked ? null : id,
    token_sha256: digest,
    display: "sha256:x…",
    scopes: '["links:read"]',
    created_at: 1,
    created_by: "test",
    updated_at: 1,
    revoked_at: revoked ? 2 : null,
  };
}

forEachEngine("migration 0005 (key digests unique among active keys only)", (engine) => {
  let database: TestDatabase;
  let store: Store;
  before(async () => {
    database = await createDatabase(engine);
    store = openStore(parseDatabaseUrl(database.url, "."));
    await migrateToLatest(store.db, engine, "0004_audit_log");
    const db = store.db as unknown as import("kysely").Kysely<Record<string, Record<string, unknown>>>;
    await db
      .insertInto("api_keys")
      .values(keyRow("k-active", ACTIVE, false))
      .execute();
    await db
      .insertInto("api_keys")
      .values(keyRow("k-revoked", REVOKED, true))
      .execute();
    await migrateToLatest(store.db, engine);
  });
  after(async () => {
    await store.close();
    await database.drop();
  });

  it("keeps every key, with the digest of active ones in active_sha256", async () => {
    const rows = await store.db
      .selectFrom("api_keys")
      .select(["id", "token_sha256", "active_sha256", "source"])
      .orderBy("id")
      .execute();
    assert.deepEqual(
      rows.map((r) => [r.id, r.token_sha256, r.active_sha256, r.source]),
      [
        ["k-active", ACTIVE, ACTIVE, "api"],
        ["k-revoked", REVOKED, null, "api"],
      ],
    );
  });

  it("lets a revoked digest be stored again, but not an active one twice; owners fit in source", async () => {
    const again = {
      ...keyRow("k-again", REVOKED, false),
      active_sha256: REVOKED,
      source: "apply:a-24-char-owner-name",
    };
    await store.db
      .insertInto("api_keys")
      .values(again as never)
      .execute();
    await assert.rejects(
      store.db
        .insertInto("api_keys")
        .values({ ...keyRow("k-dup", ACTIVE, false), active_sha256: ACTIVE } as never)
        .execute(),
    );
    const count = await sql<{ n: number }>`select count(*) as n from api_keys`.execute(store.db);
    assert.equal(Number(count.rows[0]!.n), 3);
  });
});
