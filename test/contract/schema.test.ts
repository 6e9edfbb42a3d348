/** Schema facts every engine must share, checked against the real catalog after migrating. */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { sql } from "kysely";
import { forEachEngine, startServer, type TestServer } from "../support/server.js";

const GROWING_TABLES = ["config_history", "changes", "audit_log"];

forEachEngine("schema", (engine) => {
  let s: TestServer;
  before(async () => {
    s = await startServer(engine);
  });
  after(() => s.close());

  it("auto-increment ids of ever-growing tables are 64-bit", async () => {
    for (const table of GROWING_TABLES) {
      let type: string;
      if (engine === "sqlite") {
        const { rows } = await sql<{
          type: string;
          pk: number;
        }>`select type, pk from pragma_table_info(${table}) where name = 'id'`.execute(s.app.store.db);
        assert.equal(rows[0]!.pk, 1, table);
        type = rows[0]!.type.toLowerCase(); // INTEGER PRIMARY KEY: SQLite's 64-bit rowid
        assert.equal(type, "integer", table);
        continue;
      }
      const { rows } = await sql<{ data_type: string }>`
        select data_type from information_schema.columns
        where table_name = ${table} and column_name = 'id' and table_schema = ${engine === "postgres" ? sql`current_schema()` : sql`database()`}`.execute(
        s.app.store.db,
      );
      type = String(rows[0]!.data_type).toLowerCase();
      assert.equal(type, "bigint", `${table}.id on ${engine}`);
    }
  });

  it("every table compares strings byte-wise on MySQL/MariaDB", async (t) => {
    if (engine !== "mysql") return t.skip("MySQL/MariaDB only");
    const { rows } = await sql<{ table_name: string; table_collation: string }>`
      select table_name, table_collation from information_schema.tables
      where table_schema = database() and table_name not like 'jmp_migrations%'`.execute(s.app.store.db);
    assert.ok(rows.length >= 7);
    for (const row of rows) assert.equal(row.table_collation, "utf8mb4_bin", row.table_name);
  });
});
