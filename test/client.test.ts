/**
 * The typed client as a package user gets it (`import { JmpClient } from "jmp/client"`, resolved through the
 * package's own exports), against a real server: typed results, ETags, and typed errors.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { generateApiKey, sha256Hex } from "../src/auth/api-key-format.js";
import type * as ClientModule from "../src/client/index.js";
import { BOOTSTRAP_KEY, startServer, type TestServer } from "./support/server.js";

// Through a variable, so that TypeScript does not need the built package to compile this file.
const load = (specifier: string) => import(specifier) as Promise<typeof ClientModule>;
const { JmpApiError, JmpClient, JmpConnectionError } = await load("jmp/client");

async function rejection(promise: Promise<unknown>): Promise<ClientModule.JmpApiError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof JmpApiError, `expected a JmpApiError, got ${String(err)}`);
    return err;
  }
  assert.fail("expected the call to fail");
}

describe("jmp/client", () => {
  let s: TestServer;
  let jmp: ClientModule.JmpClient;
  before(async () => {
    s = await startServer("sqlite");
    jmp = new JmpClient({ url: s.url, token: BOOTSTRAP_KEY });
  });
  after(() => s.close());

  it("is the package's main export too", async () => {
    assert.equal((await load("jmp")).JmpClient, JmpClient);
  });

  it("writes and reads links with ETags, and turns stale writes into typed 412 errors", async () => {
    const created = await jmp.links.create({ code: "cl-a", target: "https://a.example" });
    assert.equal(created.data.code, "cl-a");
    assert.match(created.etag ?? "", /^"/);
    const read = await jmp.links.get("cl-a");
    assert.equal(read.etag, created.etag);
    assert.equal(read.data.click_count, 0);

    const updated = await jmp.links.put("cl-a", { target: "https://b.example" }, { ifMatch: read.etag! });
    assert.notEqual(updated.etag, read.etag);
    const stale = await rejection(
      jmp.links.put("cl-a", { target: "https://c.example" }, { ifMatch: read.etag! }),
    );
    assert.deepEqual([stale.status, stale.error], [412, "precondition_failed"]);
    const exists = await rejection(
      jmp.links.put("cl-a", { target: "https://c.example" }, { createOnly: true }),
    );
    assert.deepEqual([exists.status, exists.error], [412, "precondition_failed"]);

    const upserted = await jmp.links.put("cl-new", { target: "https://new.example" }, { upsert: true });
    assert.equal(upserted.data.target, "https://new.example");
    await jmp.links.delete("cl-new", { ifMatch: upserted.etag! });
    const gone = await rejection(jmp.links.get("cl-new"));
    assert.deepEqual([gone.status, gone.code], [404, 1004]);

    const page = await jmp.links.list({ search: "cl-", page_size: 10 });
    assert.deepEqual(
      page.data.map((l) => l.code),
      ["cl-a"],
    );
    assert.equal(page.pagination.total, 1);
  });

  it("reports every invalid item of a document as typed field errors", async () => {
    const err = await rejection(
      jmp.apply({
        apiVersion: "jmp/v1",
        links: [
          { code: "ok-1", target: "https://ok.example" },
          { code: "bad-1", target: "ftp://nope.example" },
        ],
        config: { "no.such.key": 1 },
      }),
    );
    assert.equal(err.status, 400);
    assert.deepEqual(err.fields.map((f) => f.field).sort(), ["config.no.such.key", "links[1].target"]);
    assert.equal((await jmp.links.list({ search: "ok-1" })).pagination.total, 0, "nothing applied");
  });

  it("plans, applies, and exports a document that applies back as a no-op", async () => {
    const doc = { apiVersion: "jmp/v1", links: [{ code: "cl-doc", target: "https://doc.example" }] };
    const plan = await jmp.apply(doc, { dryRun: true });
    assert.deepEqual(plan.summary, { create: 1, update: 0, delete: 0, unchanged: 0 });
    assert.equal((await jmp.apply(doc)).applied, true);
    const exported = await jmp.export();
    assert.equal((await jmp.apply(exported)).applied, false);
    const yaml = await jmp.exportYaml();
    assert.match(yaml, /code: cl-doc/);
    assert.equal((await jmp.apply(yaml, { dryRun: true })).changes.length, 0);
  });

  it("manages config and keys; a created key works with its scopes", async () => {
    const written = await jmp.config.set("features.random_code_length", "7");
    assert.equal(written.value, "7");
    assert.equal((await jmp.config.get("features.random_code_length")).value, "7");

    const created = await jmp.keys.create({ name: "cl-reader", scopes: ["links:read"] });
    assert.match(created.data.token, /^jmp_/);
    const reader = new JmpClient({ url: s.url, token: created.data.token });
    assert.deepEqual((await reader.auth.whoami()).scopes, ["links:read"]);
    const denied = await rejection(reader.links.create({ code: "cl-x", target: "https://x.example" }));
    assert.deepEqual([denied.status, denied.error], [403, "insufficient_scope"]);

    const token = generateApiKey();
    const put = await jmp.keys.putByName("cl-ci", {
      token_sha256: sha256Hex(token),
      scopes: ["links:write"],
    });
    assert.equal(put.data.name, "cl-ci");
    await jmp.keys.revoke(created.data.id);
    const revoked = await rejection(reader.auth.whoami());
    assert.equal(revoked.status, 401);
  });

  it("imports and streams CSV", async () => {
    const result = await jmp.links.importCsv(
      "code,target\ncl-csv1,https://csv1.example\ncl-csv2,https://csv2.example\n",
    );
    assert.equal(result.success_count, 2);
    const text = await new Response(await jmp.links.exportCsv({ search: "cl-csv" })).text();
    assert.match(text, /cl-csv1,https:\/\/csv1\.example/);
    assert.match(text, /cl-csv2,https:\/\/csv2\.example/);
  });

  it("describes the server with its OpenAPI document", async () => {
    const spec = await jmp.openapi();
    assert.match(String(spec.openapi), /^3\.1\./);
  });

  it("throws JmpConnectionError when the server cannot be reached, and 401 for a wrong token", async () => {
    const nowhere = new JmpClient({ url: "http://127.0.0.1:9", token: BOOTSTRAP_KEY });
    await assert.rejects(nowhere.auth.whoami(), JmpConnectionError);
    const wrong = new JmpClient({ url: s.url, token: generateApiKey() });
    const err = await rejection(wrong.auth.whoami());
    assert.equal(err.status, 401);
  });
});
