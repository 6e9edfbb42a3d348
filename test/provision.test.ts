/**
 * Zero to managed: a fresh instance given only a bootstrap key file and a provisioning file (JMP_PROVISION_FILE)
 * comes up ready with everything the file declares; a restart writes nothing; `jmp apply --dry-run
 * --provisioning` previews the next deploy; a bad file keeps the instance out of traffic; several instances
 * starting together on one empty PostgreSQL or MySQL/MariaDB database make one copy of everything.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { stringify as toYaml } from "yaml";
import { generateApiKey, sha256Hex } from "../src/auth/api-key-format.js";
import { createDatabase, ENGINES, REQUIRE_ENGINES, unreachable } from "./support/engines.js";
import { Client } from "./support/http.js";
import { BOOTSTRAP_KEY, runJmp, type SpawnedJmp, spawnJmp } from "./support/server.js";

const LINKS = 1000;
const READER_TOKEN = generateApiKey();
const WRITER_TOKEN = generateApiKey();

function provisioningDocument(overrides: { target?: (i: number) => string } = {}) {
  const target = overrides.target ?? ((i: number) => `https://docs.example/page/${i}`);
  return {
    apiVersion: "jmp/v1",
    metadata: { name: "zero-to-managed" },
    links: Array.from({ length: LINKS }, (_, i) => ({ code: `doc-${i}`, target: target(i) })),
    config: { "features.random_code_length": 10, "utm.enable_passthrough": true },
    keys: [
      { name: "reader", token_sha256: sha256Hex(READER_TOKEN), scopes: ["links:read"] },
      { name: "writer", token_sha256: sha256Hex(WRITER_TOKEN), scopes: ["links:read", "links:write"] },
    ],
  };
}

/** A new directory with the bootstrap key file and the provisioning file (YAML, as people write it). */
function workspace(doc: unknown = provisioningDocument()) {
  const dir = mkdtempSync(path.join(tmpdir(), "jmp-provision-"));
  const keyFile = path.join(dir, "bootstrap.key");
  const provisionFile = path.join(dir, "jmp.yaml");
  writeFileSync(keyFile, `${BOOTSTRAP_KEY}\n`, { mode: 0o600 });
  writeFileSync(provisionFile, toYaml(doc));
  return {
    dir,
    provisionFile,
    env: { JMP_DATA_DIR: dir, JMP_BOOTSTRAP_API_KEY_FILE: keyFile, JMP_PROVISION_FILE: provisionFile },
  };
}

/** Everything a write would change, read straight from the SQLite file while no server runs. */
function fingerprint(dir: string): string {
  const db = new Database(path.join(dir, "jmp.db"), { readonly: true });
  try {
    const rows = (sql: string) => db.prepare(sql).all();
    return JSON.stringify({
      links: rows(
        "SELECT code, target, expires_at, updated_at, revision, managed_by FROM links ORDER BY code",
      ),
      config: rows("SELECT key, value, updated_at FROM runtime_config ORDER BY key"),
      keys: rows("SELECT id, name, scopes, updated_at, revision, source FROM api_keys ORDER BY id"),
      counts: rows(
        "SELECT (SELECT COUNT(*) FROM changes) AS changes, (SELECT COUNT(*) FROM audit_log) AS audit," +
          " (SELECT COUNT(*) FROM config_history) AS history",
      ),
    });
  } finally {
    db.close();
  }
}

async function waitReady(url: string): Promise<number> {
  const anon = new Client(url);
  let status = 0;
  for (let i = 0; i < 100; i++) {
    status = (await anon.get("/health/ready")).status;
    if (status === 200) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return status;
}

describe("zero to managed with a provisioning file", () => {
  const space = workspace();
  let jmp: SpawnedJmp | undefined;

  after(async () => {
    await jmp?.stop();
  });

  it("a fresh instance comes up ready with the declared links, config and scoped keys", async () => {
    jmp = await spawnJmp(space.env);
    assert.equal(await waitReady(jmp.url), 200);
    assert.match(jmp.stdout(), /"msg":"provisioning file applied"/);

    const admin = new Client(jmp.url, { authorization: `Bearer ${BOOTSTRAP_KEY}` });
    const page = await admin.get("/admin/v1/links?page_size=1");
    assert.equal(page.json.pagination.total, LINKS);
    const anon = new Client(jmp.url);
    assert.equal((await anon.get("/doc-0")).headers.get("location"), "https://docs.example/page/0");
    assert.equal((await anon.get("/doc-999")).headers.get("location"), "https://docs.example/page/999");

    const config = await admin.get("/admin/v1/config/features.random_code_length");
    assert.equal(config.json.data.value, "10");
    assert.equal(config.json.data.source, "file");

    const reader = new Client(jmp.url, { authorization: `Bearer ${READER_TOKEN}` });
    const writer = new Client(jmp.url, { authorization: `Bearer ${WRITER_TOKEN}` });
    assert.equal((await reader.get("/admin/v1/links/doc-5")).status, 200);
    const denied = await reader.post("/admin/v1/links", { code: "by-reader", target: "https://r.example" });
    assert.equal(denied.status, 403);
    const created = await writer.post("/admin/v1/links", { code: "by-writer", target: "https://w.example" });
    assert.equal(created.status, 201, created.text);
  });

  it("links the file owns refuse API edits with 409 managed_by_provisioning", async () => {
    const admin = new Client(jmp!.url, { authorization: `Bearer ${BOOTSTRAP_KEY}` });
    const edit = await admin.put("/admin/v1/links/doc-1", { target: "https://elsewhere.example" });
    assert.equal(edit.status, 409);
    assert.equal(edit.json.error, "managed_by_provisioning");
    assert.equal((await admin.delete("/admin/v1/links/doc-1")).status, 409);
    assert.equal((await admin.get("/admin/v1/links/doc-1")).json.data.target, "https://docs.example/page/1");
  });

  it("keys and config values from the file are read-only through the API", async () => {
    const admin = new Client(jmp!.url, { authorization: `Bearer ${BOOTSTRAP_KEY}` });
    const keys = await admin.get("/admin/v1/keys");
    const reader = keys.json.data.find((k: { name: string }) => k.name === "reader");
    assert.equal(reader.source, "file");
    const patch = await admin.request("PATCH", `/admin/v1/keys/${reader.id}`, {
      json: { scopes: ["admin"] },
    });
    assert.equal(patch.status, 409);
    assert.equal(patch.json.error, "managed_by_provisioning");
    const config = await admin.put("/admin/v1/config/features.random_code_length", { value: "12" });
    assert.equal(config.status, 409);
    assert.equal(config.json.error, "managed_by_provisioning");
  });

  it("a restart with the same file writes nothing", async () => {
    await jmp!.stop();
    const before = fingerprint(space.dir);
    jmp = await spawnJmp(space.env);
    assert.equal(await waitReady(jmp.url), 200);
    assert.match(jmp.stdout(), /"msg":"provisioning file: no changes"/);
    await jmp.stop();
    assert.equal(fingerprint(space.dir), before);
    jmp = await spawnJmp(space.env);
  });

  it("jmp apply --dry-run --provisioning of the same file reports no changes", async () => {
    const cli = { JMP_URL: jmp!.url, JMP_TOKEN: BOOTSTRAP_KEY };
    const plan = await runJmp(
      ["apply", "-f", space.provisionFile, "--dry-run", "--provisioning", "--detailed-exitcode"],
      cli,
    );
    assert.equal(plan.code, 0, plan.stderr);
    assert.equal(plan.stdout, `No changes. The state matches the document (${LINKS + 4} objects).\n`);
  });

  it("changing one link in the file plans exactly that change, and the next start applies only it", async () => {
    const changed = provisioningDocument({
      target: (i) => (i === 42 ? "https://docs.example/moved" : `https://docs.example/page/${i}`),
    });
    writeFileSync(space.provisionFile, toYaml(changed));
    const cli = { JMP_URL: jmp!.url, JMP_TOKEN: BOOTSTRAP_KEY };
    const plan = await runJmp(
      ["apply", "-f", space.provisionFile, "--dry-run", "--provisioning", "--detailed-exitcode", "--json"],
      cli,
    );
    assert.equal(plan.code, 2, plan.stderr);
    const result = JSON.parse(plan.stdout);
    assert.deepEqual(result.changes, [
      {
        kind: "link",
        id: "doc-42",
        action: "update",
        diff: { target: { from: "https://docs.example/page/42", to: "https://docs.example/moved" } },
      },
    ]);
    assert.deepEqual(result.summary, { create: 0, update: 1, delete: 0, unchanged: LINKS + 3 });

    const human = await runJmp(["apply", "-f", space.provisionFile, "--dry-run", "--provisioning"], cli);
    assert.equal(
      human.stdout,
      [
        "  ~ link doc-42",
        '      target: "https://docs.example/page/42" → "https://docs.example/moved"',
        "",
        `Plan: 0 to create, 1 to update, 0 to delete, ${LINKS + 3} unchanged. (dry run: nothing was written)`,
        "",
      ].join("\n"),
    );

    await jmp!.stop();
    jmp = await spawnJmp(space.env);
    assert.equal(await waitReady(jmp.url), 200);
    const anon = new Client(jmp.url);
    assert.equal((await anon.get("/doc-42")).headers.get("location"), "https://docs.example/moved");
    const admin = new Client(jmp.url, { authorization: `Bearer ${BOOTSTRAP_KEY}` });
    const audit = await admin.get("/admin/v1/audit?object_type=state");
    assert.equal(audit.json.data[0].after.update, 1);
  });

  it("planning as the provisioning file is a dry run for admins only", async () => {
    const admin = new Client(jmp!.url, { authorization: `Bearer ${BOOTSTRAP_KEY}` });
    const write = await admin.post("/admin/v1/apply?owner=file", { apiVersion: "jmp/v1" });
    assert.equal(write.status, 400);
    const writer = new Client(jmp!.url, { authorization: `Bearer ${WRITER_TOKEN}` });
    const notAdmin = await writer.post("/admin/v1/apply?owner=file&dry_run=true", { apiVersion: "jmp/v1" });
    assert.equal(notAdmin.status, 403);
  });
});

describe("a provisioning file with allow_api_edits", () => {
  let jmp: SpawnedJmp | undefined;
  after(async () => {
    await jmp?.stop();
  });

  it("lets the API edit its links, and the next start puts the file's values back", async () => {
    const space = workspace({
      apiVersion: "jmp/v1",
      allow_api_edits: true,
      links: [{ code: "editable", target: "https://file.example/" }],
    });
    jmp = await spawnJmp(space.env);
    const admin = new Client(jmp.url, { authorization: `Bearer ${BOOTSTRAP_KEY}` });
    const edit = await admin.put("/admin/v1/links/editable", { target: "https://api.example/" });
    assert.equal(edit.status, 200, edit.text);
    assert.equal(
      (await new Client(jmp.url).get("/editable")).headers.get("location"),
      "https://api.example/",
    );

    await jmp.stop();
    jmp = await spawnJmp(space.env);
    assert.equal(await waitReady(jmp.url), 200);
    assert.equal(
      (await new Client(jmp.url).get("/editable")).headers.get("location"),
      "https://file.example/",
    );
  });

  it("is refused in a document sent to the API", async () => {
    const admin = new Client(jmp!.url, { authorization: `Bearer ${BOOTSTRAP_KEY}` });
    const r = await admin.post("/admin/v1/apply", { apiVersion: "jmp/v1", allow_api_edits: true });
    assert.equal(r.status, 400);
    assert.deepEqual(
      r.json.fields.map((f: { field: string }) => f.field),
      ["allow_api_edits"],
    );
  });
});

describe("a provisioning file rolled back, and stored state in its way", () => {
  let jmp: SpawnedJmp | undefined;
  after(async () => {
    await jmp?.stop();
  });

  it("comes up ready whatever an earlier version or the API left behind", async () => {
    const token = generateApiKey();
    const key = { name: "deployer", token_sha256: sha256Hex(token), scopes: ["links:read"] };
    const v1 = { apiVersion: "jmp/v1", prune: true, keys: [key] };
    const v2 = { apiVersion: "jmp/v1", prune: true, keys: [] };
    const space = workspace(v1);
    const restartWith = async (doc: unknown) => {
      await jmp?.stop();
      writeFileSync(space.provisionFile, toYaml(doc));
      jmp = await spawnJmp(space.env);
      assert.equal(await waitReady(jmp.url), 200, jmp.stdout());
    };
    await restartWith(v1);
    const holder = () => new Client(jmp!.url, { authorization: `Bearer ${token}` });
    assert.equal((await holder().get("/admin/v1/links")).status, 200);
    await restartWith(v2);
    assert.equal((await holder().get("/admin/v1/links")).status, 401, "v2 revoked it");
    await restartWith(v1);
    assert.equal((await holder().get("/admin/v1/links")).status, 200, "the rollback declares it again");

    // An API key holding the token the file declares under another name: the file takes the token over.
    await restartWith(v2);
    const admin = new Client(jmp!.url, { authorization: `Bearer ${BOOTSTRAP_KEY}` });
    const squatter = await admin.put("/admin/v1/keys/by-name/squatter", { ...key, name: undefined });
    assert.equal(squatter.status, 201, squatter.text);
    await restartWith(v1);
    const whoami = await holder().get("/admin/v1/auth/whoami");
    assert.equal(whoami.json.data.name, "deployer");
    assert.match(jmp!.stdout(), /"msg":"provisioning file applied"/);
  });
});

describe("a provisioning file that fails validation", () => {
  let jmp: SpawnedJmp | undefined;
  after(async () => {
    await jmp?.stop();
  });

  it("keeps the instance running but not ready, with every error logged by item path", async () => {
    const doc = provisioningDocument();
    doc.links[3]!.target = "javascript:alert(1)";
    (doc.config as Record<string, unknown>)["no.such.key"] = 1;
    const space = workspace(doc);
    jmp = await spawnJmp(space.env);
    const anon = new Client(jmp.url);
    assert.equal((await anon.get("/health/live")).status, 204);
    assert.equal((await anon.get("/health/ready")).status, 503);
    assert.match(jmp.stdout(), /provisioning file rejected, instance not ready/);
    assert.match(jmp.stdout(), /"field":"links\[3\]\.target"/);
    assert.match(jmp.stdout(), /"field":"config\.no\.such\.key"/);
    const admin = new Client(jmp.url, { authorization: `Bearer ${BOOTSTRAP_KEY}` });
    assert.equal(
      (await admin.get("/admin/v1/links?page_size=1")).json.pagination.total,
      0,
      "nothing applied",
    );
  });
});

for (const engine of ["postgres", "mysql"] as const) {
  describe(`three instances starting at once on one empty ${engine} database`, () => {
    const instances: SpawnedJmp[] = [];
    let dropDatabase: (() => Promise<void>) | undefined;

    after(async () => {
      await Promise.all(instances.map((i) => i.stop()));
      await dropDatabase?.();
    });

    it("make one copy of everything, without errors", async (t) => {
      if (!ENGINES.includes(engine)) return t.skip(`${engine} is not among JMP_TEST_ENGINES`);
      const reason = await unreachable(engine);
      if (reason && REQUIRE_ENGINES) throw new Error(reason);
      if (reason) return t.skip(reason);
      const db = await createDatabase(engine);
      dropDatabase = () => db.drop();
      const space = workspace();
      const env = { ...space.env, JMP_DATABASE_URL: db.url };
      instances.push(...(await Promise.all([spawnJmp(env), spawnJmp(env), spawnJmp(env)])));
      for (const instance of instances) assert.equal(await waitReady(instance.url), 200, instance.stdout());

      const logs = instances.map((i) => i.stdout() + i.stderr()).join("\n");
      assert.doesNotMatch(logs, /"level":(50|60)/, "no instance logged an error");
      assert.equal((logs.match(/"msg":"provisioning file applied"/g) ?? []).length, 1, "exactly one wrote");
      assert.equal((logs.match(/"msg":"provisioning file: no changes"/g) ?? []).length, 2);

      const admin = new Client(instances[2]!.url, { authorization: `Bearer ${BOOTSTRAP_KEY}` });
      assert.equal((await admin.get("/admin/v1/links?page_size=1")).json.pagination.total, LINKS);
      const keys = await admin.get("/admin/v1/keys");
      assert.deepEqual(
        keys.json.data
          .filter((k: { source: string }) => k.source === "file")
          .map((k: { name: string }) => k.name)
          .sort(),
        ["reader", "writer"],
      );
      const audit = await admin.get("/admin/v1/audit?object_type=state");
      assert.equal(audit.json.pagination.total, 1);
    });
  });
}
