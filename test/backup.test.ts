/** `jmp backup` and `jmp restore` on SQLite, against a real server that keeps writing. */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { inspectSqliteFile } from "../src/store/sqlite-backup.js";
import { Client } from "./support/http.js";
import { BOOTSTRAP_KEY, runJmp, spawnJmp } from "./support/server.js";

function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), "jmp-backup-"));
}

describe("jmp backup / jmp restore (SQLite)", () => {
  it("backs up consistently while the server writes, and restores only once the server is stopped", async () => {
    const dir = tempDir();
    const env = { JMP_DATA_DIR: dir };
    const backupFile = path.join(tempDir(), "jmp-backup.db");
    let jmp = await spawnJmp({ ...env, JMP_BOOTSTRAP_API_KEY: BOOTSTRAP_KEY });
    const api = () => new Client(jmp.url, { authorization: `Bearer ${BOOTSTRAP_KEY}` });
    try {
      for (let i = 0; i < 20; i++) {
        assert.equal(
          (await api().post("/admin/v1/links", { code: `before-${i}`, target: "https://a.example/" })).status,
          201,
        );
      }
      // Writes keep going while the backup runs: the copy is a consistent snapshot, not a torn file.
      let writing = true;
      let written = 0;
      const writer = (async () => {
        while (writing) {
          await api().post("/admin/v1/links", { code: `during-${written++}`, target: "https://b.example/" });
        }
      })();
      const made = await runJmp(["backup", backupFile, "--json"], env);
      writing = false;
      await writer;
      assert.equal(made.code, 0, made.stderr);
      assert.match(made.stderr, /jmp: database: SQLite .*jmp\.db/);
      assert.equal(JSON.parse(made.stdout).file, backupFile);
      const info = inspectSqliteFile(backupFile);
      assert.equal(info.integrity, "ok");
      assert.ok(info.migrations!.length >= 5);
      assert.ok(!existsSync(`${backupFile}-wal`), "the backup is one self-contained file");
      assert.equal(statSync(backupFile).mode & 0o777, 0o600, "the copy holds secrets: the owner's alone");

      const again = await runJmp(["backup", backupFile], env);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /exists; choose another name or add --force/);

      assert.equal(
        (await api().post("/admin/v1/links", { code: "after-backup", target: "https://c.example/" })).status,
        201,
      );
      const refused = await runJmp(["restore", backupFile], env);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, new RegExp(`a server \\(pid ${jmp.proc.pid}\\) uses .*: stop it first`));
      assert.equal((await api().get("/admin/v1/links/after-backup")).status, 200, "nothing was changed");

      // --stop-server stops it gracefully (exit 0), then restores.
      const restored = await runJmp(["restore", backupFile, "--stop-server", "--json"], env);
      assert.equal(restored.code, 0, restored.stderr);
      assert.equal(await jmp.stop(), 0, "the server stopped gracefully");
      assert.ok(!existsSync(path.join(dir, "jmp.db.server")), "a stopped server removes its mark");
      const result = JSON.parse(restored.stdout);
      assert.equal(result.into, path.join(dir, "jmp.db"));
      assert.ok(existsSync(result.previous), "the replaced database is kept");
      assert.equal(inspectSqliteFile(result.previous).integrity, "ok");

      jmp = await spawnJmp({ ...env, JMP_BOOTSTRAP_API_KEY: BOOTSTRAP_KEY });
      assert.equal((await api().get("/admin/v1/links/after-backup")).status, 404, "written after the backup");
      assert.equal((await api().get("/admin/v1/links/before-19")).status, 200);
      const redirect = await fetch(`${jmp.url}/before-0`, { redirect: "manual" });
      assert.equal(redirect.headers.get("location"), "https://a.example/");
    } finally {
      await jmp.stop();
    }
  });

  it("refuses files that are not an intact jmp database, a missing database, and the server engines", async () => {
    const dir = tempDir();
    const env = { JMP_DATA_DIR: dir };
    assert.equal((await runJmp(["migrate"], env)).code, 0);
    const garbage = path.join(dir, "garbage.db");
    writeFileSync(
      garbage,
      "this is not a database, just text that is long enough to have a header\n".repeat(100),
    );
    const notSqlite = await runJmp(["restore", garbage], env);
    assert.equal(notSqlite.code, 1);
    assert.match(notSqlite.stderr, /cannot be read as a SQLite database/);

    const otherDir = tempDir();
    assert.equal((await runJmp(["migrate"], { JMP_DATA_DIR: otherDir })).code, 0);
    const before = readFileSync(path.join(dir, "jmp.db"));
    const empty = path.join(dir, "empty.db");
    const made = await runJmp(["backup", empty], env);
    assert.equal(made.code, 0, made.stderr);
    assert.equal((await runJmp(["restore", path.join(otherDir, "nope.db")], env)).code, 1);
    assert.deepEqual(readFileSync(path.join(dir, "jmp.db")), before);

    const nowhere = await runJmp(["backup", path.join(dir, "x.db")], { JMP_DATA_DIR: tempDir() });
    assert.equal(nowhere.code, 1);
    assert.match(nowhere.stderr, /no database at/);
    for (const url of ["postgres://jmp@127.0.0.1:1/jmp", "mysql://root@127.0.0.1:1/jmp"]) {
      const server = await runJmp(["backup", path.join(dir, "y.db")], { JMP_DATABASE_URL: url });
      assert.equal(server.code, 1);
      assert.match(server.stderr, /pg_dump, mariadb-dump/);
    }
  });
});
