/**
 * A rolling upgrade through the newest migration, as docs/upgrading.md promises for every migration: an instance
 * of the code before that migration (the parent of the commit that added it, built from git history) runs on a
 * PostgreSQL database; an instance of this code starts on the same database and migrates it while the old one
 * keeps serving. Both must then redirect, authenticate and write, and see each other's writes. A new migration
 * is tested here by the next commit, with no change to this file.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createDatabase, type TestDatabase, unreachable } from "../support/engines.js";
import { type Listening, ROOT, run, startListening } from "../support/fresh-copy.js";
import { freePort } from "../support/ports.js";
import { BOOTSTRAP_KEY } from "../support/server.js";

const MIGRATIONS = "src/store/migrations";
const NEWEST = readdirSync(path.join(ROOT, MIGRATIONS))
  .filter((file) => /^\d{4}_.*\.ts$/.test(file))
  .sort()
  .at(-1)!;
const MIGRATION = `${MIGRATIONS}/${NEWEST}`;

type Instance = Listening;

async function start(cli: string, databaseUrl: string): Promise<Instance> {
  return startListening(process.execPath, [cli, "serve"], {
    cwd: ROOT,
    port: await freePort(),
    env: {
      PATH: process.env.PATH,
      JMP_DATABASE_URL: databaseUrl,
      JMP_BOOTSTRAP_API_KEY: BOOTSTRAP_KEY,
      JMP_LOG_LEVEL: "info",
    },
    timeoutMs: 60_000,
  });
}

function api(instance: Instance, method: string, route: string, body?: unknown, token = BOOTSTRAP_KEY) {
  return fetch(`${instance.url}/admin/v1${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : null,
  });
}

interface Created {
  data: { id: string; token: string };
}

async function location(instance: Instance, code: string): Promise<string | null> {
  return (await fetch(`${instance.url}/${code}`, { redirect: "manual" })).headers.get("location");
}

/** Polls until the instance redirects `code` (writes reach other instances within 1 s). */
async function eventually(instance: Instance, code: string, target: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while ((await location(instance, code)) !== target) {
    assert.ok(Date.now() < deadline, `${instance.url} never redirected ${code}`);
    await sleep(100);
  }
}

const skip = await unreachable("postgres");

describe(
  `rolling upgrade through migration ${NEWEST} on one PostgreSQL database`,
  { skip: skip ?? false },
  () => {
    let database: TestDatabase;
    let old: Instance;
    let current: Instance;

    before(async () => {
      // The previous code: the parent of the commit that added the migration, from this repository's history.
      const added = spawnSync("git", ["log", "--diff-filter=A", "--format=%H", "--", MIGRATION], {
        cwd: ROOT,
        encoding: "utf8",
      }).stdout.trim();
      assert.match(
        added,
        /^[0-9a-f]{40}$/,
        "the history holds the migration's commit (a clone, not a tarball)",
      );
      const dir = path.join(mkdtempSync(path.join(tmpdir(), "jmp-old-")), "jmp");
      const archive = await run("sh", ["-c", `mkdir -p ${dir} && git archive ${added}^ | tar -x -C ${dir}`], {
        cwd: ROOT,
      });
      assert.equal(archive.code, 0, archive.output);
      symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
      const built = await run(
        process.execPath,
        [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", dir],
        {
          cwd: dir,
        },
      );
      assert.equal(built.code, 0, built.output);

      database = await createDatabase("postgres");
      old = await start(path.join(dir, "dist/src/cli/main.js"), database.url);
    });
    after(async () => {
      old?.stop();
      current?.stop();
      await sleep(500);
      await database?.drop();
    });

    it("the old instance serves links and keys made before the upgrade", async () => {
      assert.equal(
        (await api(old, "POST", "/links", { code: "before", target: "https://before.example/" })).status,
        201,
      );
      assert.equal(await location(old, "before"), "https://before.example/");
    });

    it("the new instance migrates while the old one runs; both serve, write and see each other's writes", async () => {
      const key = (await (
        await api(old, "POST", "/keys", { name: "made-by-old", scopes: ["links:write"] })
      ).json()) as Created;
      const oldToken = key.data.token as string;

      current = await start(path.join(ROOT, "dist/src/cli/main.js"), database.url);
      assert.ok(
        current.output().includes(NEWEST.replace(/\.ts$/, "")),
        "the new instance applied the migration",
      );

      assert.equal(await location(old, "before"), "https://before.example/", "old: existing links");
      assert.equal(await location(current, "before"), "https://before.example/", "new: existing links");

      assert.equal(
        (await api(old, "POST", "/links", { code: "from-old", target: "https://old.example/" })).status,
        201,
      );
      assert.equal(
        (await api(current, "POST", "/links", { code: "from-new", target: "https://new.example/" })).status,
        201,
      );
      await eventually(current, "from-old", "https://old.example/");
      await eventually(old, "from-new", "https://new.example/");

      // A key made by the old code before the migration works on both; so does one the old code makes after it.
      for (const instance of [old, current]) {
        const r = await api(instance, "POST", "/links", { target: "https://k.example/" }, oldToken);
        assert.equal(r.status, 201, `${instance.url}: ${await r.text()}`);
      }
      const later = (await (
        await api(old, "POST", "/keys", { name: "made-later", scopes: ["links:read"] })
      ).json()) as Created;
      assert.equal((await api(current, "GET", "/links", undefined, later.data.token)).status, 200);
      assert.equal((await api(current, "DELETE", `/keys/${later.data.id}`)).status, 204);
      const deadline = Date.now() + 5_000;
      while ((await api(old, "GET", "/links", undefined, later.data.token)).status !== 401) {
        assert.ok(Date.now() < deadline, "a key revoked by the new instance stops working on the old one");
        await sleep(100);
      }
    });
  },
);
