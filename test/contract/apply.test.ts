/** Declarative apply and export through the Admin API: plans, one-transaction writes, prune, bad documents. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { generateApiKey, sha256Hex } from "../../src/auth/api-key-format.js";
import { Client } from "../support/http.js";
import { forEachEngine, startServer, type TestServer } from "../support/server.js";

const DIGEST = sha256Hex(generateApiKey());

function baseDocument() {
  return {
    apiVersion: "jmp/v1",
    links: [
      { code: "ap-gh", target: "https://github.com" },
      { code: "ap-docs", target: "https://docs.example/", expires_at: "2099-01-01T00:00:00Z" },
    ],
    config: { "features.random_code_length": 9, "utm.enable_passthrough": true },
    keys: [{ name: "ap-ci", token_sha256: DIGEST, scopes: ["links:read"] }],
  };
}

forEachEngine("apply API", (engine) => {
  let s: TestServer;
  before(async () => {
    s = await startServer(engine);
  });
  after(() => s.close());

  describe("plan and apply", () => {
    it("a dry run plans every create and writes nothing", async () => {
      const r = await s.api.post("/admin/v1/apply?dry_run=true", baseDocument());
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.data.dry_run, true);
      assert.equal(r.json.data.applied, false);
      assert.deepEqual(r.json.data.summary, { create: 3, update: 2, delete: 0, unchanged: 0 });
      const ids = r.json.data.changes.map(
        (c: { kind: string; id: string; action: string }) => `${c.kind}:${c.id}:${c.action}`,
      );
      assert.deepEqual(ids.sort(), [
        "config:features.random_code_length:update",
        "config:utm.enable_passthrough:update",
        "key:ap-ci:create",
        "link:ap-docs:create",
        "link:ap-gh:create",
      ]);
      assert.equal((await s.api.get("/admin/v1/links/ap-gh")).status, 404);
      assert.equal((await s.api.get("/admin/v1/config/features.random_code_length")).json.data.value, "6");
    });

    it("applies the document, and applying it again changes nothing", async () => {
      const r = await s.api.post("/admin/v1/apply", baseDocument());
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.data.applied, true);
      assert.equal((await s.anon.get("/ap-gh")).headers.get("location"), "https://github.com");
      assert.equal((await s.api.get("/admin/v1/config/features.random_code_length")).json.data.value, "9");
      const keys = await s.api.get("/admin/v1/keys");
      assert.ok(keys.json.data.some((k: { name: string }) => k.name === "ap-ci"));

      const again = await s.api.post("/admin/v1/apply", baseDocument());
      assert.equal(again.json.data.applied, false);
      assert.deepEqual(again.json.data.summary, { create: 0, update: 0, delete: 0, unchanged: 5 });
      assert.deepEqual(again.json.data.changes, []);
    });

    it("reports exactly the field that changed", async () => {
      const doc = baseDocument();
      doc.links[0]!.target = "https://github.com/jmp";
      const plan = await s.api.post("/admin/v1/apply?dry_run=true", doc);
      assert.deepEqual(plan.json.data.changes, [
        {
          kind: "link",
          id: "ap-gh",
          action: "update",
          diff: { target: { from: "https://github.com", to: "https://github.com/jmp" } },
        },
      ]);
      assert.deepEqual(plan.json.data.summary, { create: 0, update: 1, delete: 0, unchanged: 4 });
    });

    it("accepts YAML", async () => {
      const yaml = [
        "apiVersion: jmp/v1",
        "links:",
        "  - code: ap-yaml",
        "    target: https://yaml.example/",
        "",
      ].join("\n");
      const r = await s.api.request("POST", "/admin/v1/apply", {
        body: yaml,
        headers: { "content-type": "application/yaml" },
      });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.data.summary.create, 1);
    });

    it("exports the state as a document that applies back as a no-op", async () => {
      await s.api.post("/admin/v1/links", {
        code: "ap-pw",
        target: "https://pw.example",
        password: "hunter22",
      });
      const exported = await s.api.get("/admin/v1/export");
      assert.equal(exported.status, 200);
      assert.equal(exported.json.apiVersion, "jmp/v1");
      const pw = exported.json.links.find((l: { code: string }) => l.code === "ap-pw");
      assert.equal(pw.password, "[REDACTED]", "no hash without include_secrets");
      const back = await s.api.post("/admin/v1/apply", exported.json);
      assert.equal(back.status, 200, back.text);
      assert.equal(back.json.data.applied, false);
      assert.deepEqual(back.json.data.changes, []);

      const yaml = await s.api.get("/admin/v1/export?format=yaml");
      assert.match(yaml.headers.get("content-type") ?? "", /^application\/yaml/);
      assert.match(yaml.text, /^apiVersion: jmp\/v1$/m);
    });

    it("never exports the session signing secret, even with include_secrets", async () => {
      const secret = "9".repeat(64);
      assert.equal((await s.api.put("/admin/v1/config/api.jwt_secret", { value: secret })).status, 200);
      assert.equal(
        (await s.api.put("/admin/v1/config/features.random_code_length", { value: "7" })).status,
        200,
      );
      for (const query of ["include_secrets=true", "include_secrets=true&format=yaml"]) {
        const r = await s.api.get(`/admin/v1/export?${query}`);
        assert.equal(r.status, 200);
        assert.ok(!r.text.includes(secret) && !r.text.includes("api.jwt_secret"), query);
        assert.match(r.text, /features\.random_code_length/, "other config is exported");
      }
    });

    it("prune deletes and revokes only what applies under the same owner created, and says why", async () => {
      await s.api.post("/admin/v1/links", { code: "ap-stray", target: "https://stray.example" });
      const exported = (await s.api.get("/admin/v1/export")).json;
      exported.links = exported.links.filter(
        (l: { code: string }) => l.code !== "ap-stray" && l.code !== "ap-yaml",
      );
      exported.keys = [];
      const plan = await s.api.post("/admin/v1/apply?dry_run=true&prune=true", exported);
      const deletes = plan.json.data.changes.filter((c: { action: string }) => c.action === "delete");
      assert.deepEqual(
        deletes.map((c: { id: string; reason: string }) => `${c.id}: ${c.reason}`).sort(),
        [
          "ap-ci: owned by apply owner 'apply' and not in the document (prune)",
          "ap-yaml: owned by apply owner 'apply' and not in the document (prune)",
        ],
        "ap-stray was made by POST /links: never pruned",
      );
      const applied = await s.api.post("/admin/v1/apply?prune=true", exported);
      assert.equal(applied.json.data.summary.delete, 2);
      assert.equal((await s.api.get("/admin/v1/links/ap-yaml")).status, 404);
      assert.equal((await s.api.get("/admin/v1/links/ap-stray")).status, 200);
      assert.equal((await s.api.get("/admin/v1/links/ap-gh")).status, 200);
      const keys = await s.api.get("/admin/v1/keys");
      assert.ok(!keys.json.data.some((k: { name: string }) => k.name === "ap-ci"));
    });

    it("a links:write caller's prune leaves keys, hand-made links and other owners' links alone", async () => {
      const minted = await s.api.post("/admin/v1/keys", { name: "ow-writer", scopes: ["links:write"] });
      assert.equal(minted.status, 201, minted.text);
      const writer = new Client(s.url, { authorization: `Bearer ${minted.json.data.token}` });
      const handKey = await s.api.post("/admin/v1/keys", { name: "ow-hand-key", scopes: ["links:read"] });
      assert.equal(handKey.status, 201);
      assert.equal(
        (await writer.post("/admin/v1/links", { code: "ow-hand", target: "https://h.example" })).status,
        201,
      );
      await s.api.post("/admin/v1/apply", {
        apiVersion: "jmp/v1",
        links: [{ code: "ow-default", target: "https://d.example" }],
      });
      const first = await writer.post("/admin/v1/apply", {
        apiVersion: "jmp/v1",
        metadata: { owner: "team-a" },
        links: [{ code: "ow-a", target: "https://a.example" }],
      });
      assert.equal(first.status, 200, first.text);
      const keysBefore = (await s.api.get("/admin/v1/keys")).json.data
        .map((k: { id: string }) => k.id)
        .sort();

      const doc = { apiVersion: "jmp/v1", links: [{ code: "ow-b", target: "https://b.example" }] };
      const pruned = await writer.post("/admin/v1/apply?prune=true&owner=team-a", doc);
      assert.equal(pruned.status, 200, pruned.text);
      assert.deepEqual(
        pruned.json.data.changes.map((c: { id: string; action: string }) => `${c.action}:${c.id}`).sort(),
        ["create:ow-b", "delete:ow-a"],
      );
      for (const code of ["ow-hand", "ow-default", "ap-gh", "ow-b"]) {
        assert.equal((await s.api.get(`/admin/v1/links/${code}`)).status, 200, code);
      }
      assert.equal((await s.api.get("/admin/v1/links/ow-a")).status, 404);
      const keysAfter = (await s.api.get("/admin/v1/keys")).json.data.map((k: { id: string }) => k.id).sort();
      assert.deepEqual(keysAfter, keysBefore, "a document without keys revokes none");
      assert.equal(
        (await writer.get("/admin/v1/auth/whoami")).status,
        200,
        "the caller's own key still works",
      );

      const withKeys = await writer.post("/admin/v1/apply?prune=true&owner=team-a", { ...doc, keys: [] });
      assert.equal(withKeys.status, 403, "pruning keys needs keys:manage");
      assert.equal(withKeys.json.error, "insufficient_scope");
    });

    it("owner names: the query and metadata.owner must agree; api and file are reserved", async () => {
      const doc = { apiVersion: "jmp/v1", metadata: { owner: "team-x" }, links: [] };
      const mismatch = await s.api.post("/admin/v1/apply?owner=team-y", doc);
      assert.equal(mismatch.status, 400);
      assert.equal(mismatch.json.fields[0].field, "metadata.owner");
      for (const owner of ["api", "Bad Owner", "x".repeat(25)]) {
        const r = await s.api.post(`/admin/v1/apply?owner=${encodeURIComponent(owner)}`, {
          apiVersion: "jmp/v1",
          links: [],
        });
        assert.equal(r.status, 400, owner);
      }
    });
  });

  describe("bad documents are refused whole, with item paths", () => {
    async function refused(doc: unknown, field: RegExp) {
      const before = (await s.api.get("/admin/v1/stats")).json.data.total_links;
      const r = await s.api.post("/admin/v1/apply", doc);
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.error, "invalid_document");
      assert.ok(
        r.json.fields.some((f: { field: string }) => field.test(f.field)),
        `expected a field matching ${field}: ${JSON.stringify(r.json.fields)}`,
      );
      assert.equal((await s.api.get("/admin/v1/stats")).json.data.total_links, before, "nothing applied");
      return r.json;
    }

    it("unknown apiVersion", async () => {
      await refused({ apiVersion: "jmp/v2", links: [] }, /^apiVersion$/);
    });

    it("duplicate codes", async () => {
      const body = await refused(
        {
          apiVersion: "jmp/v1",
          links: [
            { code: "bd-1", target: "https://a.example" },
            { code: "bd-1", target: "https://b.example" },
          ],
        },
        /^links\[1\]\.code$/,
      );
      assert.match(body.message, /duplicate code 'bd-1'/);
    });

    it("an invalid target among valid links: nothing is written", async () => {
      await refused(
        {
          apiVersion: "jmp/v1",
          links: [
            { code: "bd-ok", target: "https://fine.example" },
            { code: "bd-bad", target: "javascript:alert(1)" },
          ],
        },
        /^links\[1\]\.target$/,
      );
      assert.equal((await s.api.get("/admin/v1/links/bd-ok")).status, 404);
    });

    it("unknown config keys and invalid values", async () => {
      await refused({ apiVersion: "jmp/v1", config: { "no.such_key": 1 } }, /^config\.no\.such_key$/);
      await refused(
        { apiVersion: "jmp/v1", config: { "features.random_code_length": "many" } },
        /^config\.features\.random_code_length$/,
      );
    });

    it("unknown fields, wrong types, relative expiry, bad digests", async () => {
      await refused(
        { apiVersion: "jmp/v1", links: [{ code: "x", target: "https://a.example", color: 1 }] },
        /^links\[0\]\.color$/,
      );
      await refused(
        { apiVersion: "jmp/v1", links: [{ code: 5, target: "https://a.example" }] },
        /^links\[0\]\.code$/,
      );
      await refused(
        { apiVersion: "jmp/v1", links: [{ code: "rel", target: "https://a.example", expires_at: "7d" }] },
        /^links\[0\]\.expires_at$/,
      );
      await refused(
        { apiVersion: "jmp/v1", keys: [{ name: "k", token_sha256: "abc", scopes: ["links:read"] }] },
        /^keys\[0\]\.token_sha256$/,
      );
      await refused(
        { apiVersion: "jmp/v1", keys: [{ name: "k2", token_sha256: DIGEST, scopes: ["root"] }] },
        /^keys\[0\]\.scopes$/,
      );
    });

    it("malformed YAML and non-object documents", async () => {
      const r = await s.api.request("POST", "/admin/v1/apply", {
        body: "apiVersion: [unclosed",
        headers: { "content-type": "application/yaml" },
      });
      assert.equal(r.status, 400);
      assert.equal(r.json.error, "invalid_document");
      await refused([1, 2], /^document$/);
    });

    it("a 20 MB document gets 413 in the envelope", async () => {
      const links = Array.from({ length: 100_000 }, (_, i) => ({
        code: `big-${i}`,
        target: `https://example.com/${"x".repeat(150)}/${i}`,
      }));
      const r = await s.api.post("/admin/v1/apply", { apiVersion: "jmp/v1", links });
      assert.equal(r.status, 413);
      assert.equal(r.json.error, "body_too_large");
      assert.equal((await s.api.get("/admin/v1/links/big-0")).status, 404);
    });
  });

  describe("scopes", () => {
    it("a document with config needs config:write, one with keys needs keys:manage", async () => {
      const created = await s.api.post("/admin/v1/keys", {
        name: "ap-writer",
        scopes: ["links:write", "links:read"],
      });
      const writer = s.anon.withHeaders({ authorization: `Bearer ${created.json.data.token}` });
      const links = await writer.post("/admin/v1/apply", {
        apiVersion: "jmp/v1",
        links: [{ code: "sc-1", target: "https://a.example" }],
      });
      assert.equal(links.status, 200, links.text);
      const config = await writer.post("/admin/v1/apply", {
        apiVersion: "jmp/v1",
        config: { "features.random_code_length": 7 },
      });
      assert.equal(config.status, 403);
      const keys = await writer.post("/admin/v1/apply", { apiVersion: "jmp/v1", keys: [] });
      assert.equal(keys.status, 403);
      const exported = await writer.get("/admin/v1/export");
      assert.equal(exported.status, 200);
      assert.equal(exported.json.keys, undefined, "keys are exported only with keys:manage");
    });
  });
});
