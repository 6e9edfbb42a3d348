/** The server outlives the database dropping its idle connections (a restart, a failover, an admin's kill). */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { ENGINES, REQUIRE_ENGINES, unreachable } from "../support/engines.js";
import { startServer, type TestServer } from "../support/server.js";

describe("PostgreSQL kills idle pooled connections", () => {
  let s: TestServer | undefined;
  let skip: string | null = null;
  before(async () => {
    skip = ENGINES.includes("postgres") ? await unreachable("postgres") : "postgres not selected";
    if (skip && REQUIRE_ENGINES && ENGINES.includes("postgres")) throw new Error(skip);
    if (!skip) s = await startServer("postgres");
  });
  after(() => s?.close());

  it("the pool replaces them and requests keep working", async (t) => {
    if (skip) return t.skip(skip);
    await Promise.all(Array.from({ length: 5 }, () => s!.api.get("/admin/v1/links")));
    const database = new URL(s!.db.url).pathname.slice(1);
    const admin = new pg.Client({ connectionString: s!.db.url });
    await admin.connect();
    try {
      const killed = await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        [database],
      );
      assert.ok(killed.rowCount! > 0, "there were pooled connections to kill");
    } finally {
      await admin.end();
    }
    await new Promise((r) => setTimeout(r, 100));
    const r = await s!.api.get("/admin/v1/links");
    assert.equal(r.status, 200);
  });
});
