/** The audit log: every Admin API write with actor, IP, request id, object and redacted before/after. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { sql } from "kysely";
import { sha256Hex } from "../../src/auth/api-key-format.js";
import { Client } from "../support/http.js";
import {
  ADMIN_PASSWORD,
  BOOTSTRAP_KEY,
  forEachEngine,
  type TestServer,
  startServer,
} from "../support/server.js";

forEachEngine("audit log", (engine) => {
  let s: TestServer;
  before(async () => {
    s = await startServer(engine);
  });
  after(() => s.close());

  const entries = async (query: string) => (await s.api.get(`/admin/v1/audit?${query}`)).json.data;

  it("records link writes with the bootstrap actor, client IP, request id and before/after, without password hashes", async () => {
    const created = await s.api.post("/admin/v1/links", {
      code: "audited",
      target: "https://a.example",
      password: "secret-pw-1",
    });
    await s.api.put("/admin/v1/links/audited", { target: "https://b.example" });
    await s.api.delete("/admin/v1/links/audited");
    const log = await entries("object_type=link&object_id=audited");
    assert.deepEqual(
      log.map((e: { action: string }) => e.action),
      ["link.delete", "link.update", "link.create"],
    );
    const [deleted, updated, createdEntry] = log;
    assert.equal(createdEntry.actor, `bootstrap:${sha256Hex(BOOTSTRAP_KEY).slice(0, 8)}`);
    assert.match(createdEntry.ip, /127\.0\.0\.1|::1/);
    assert.equal(createdEntry.request_id, created.headers.get("x-request-id"));
    assert.deepEqual(createdEntry.after, {
      code: "audited",
      target: "https://a.example",
      expires_at: null,
      password: "[REDACTED]",
      redirect_status: null,
      enabled: true,
      max_clicks: null,
      valid_from: null,
      fallback_url: null,
      title: null,
      notes: null,
      tags: [],
      forward_query: false,
      crawlable: false,
      rules: [],
    });
    assert.equal(updated.before.target, "https://a.example");
    assert.equal(updated.after.target, "https://b.example");
    assert.equal(deleted.before.target, "https://b.example");
    assert.ok(!JSON.stringify(log).includes("argon2") && !JSON.stringify(log).includes("secret-pw-1"));
  });

  it("records batches and config changes (secrets redacted) under the session actor", async () => {
    const session = new Client(s.url);
    await session.post("/admin/v1/auth/login", { password: ADMIN_PASSWORD });
    const csrf = { "x-csrf-token": session.cookies.get("csrf_token")! };
    await session.post(
      "/admin/v1/links/batch",
      { links: [{ code: "ab1", target: "https://x.example" }] },
      csrf,
    );
    await session.put("/admin/v1/config/api.health_token", { value: "a-health-token-0123" }, csrf);
    const mine = await entries("actor=session");
    const batch = mine.find((e: { action: string }) => e.action === "links.batch_create");
    assert.deepEqual(batch.after, { codes: ["ab1"], count: 1, failed: 0 });
    const config = mine.find((e: { object_id: string }) => e.object_id === "api.health_token");
    assert.equal(config.action, "config.set");
    assert.equal(config.after, "[REDACTED]");
    assert.ok(!JSON.stringify(mine).includes("a-health-token-0123"));
  });

  it("records key writes under the API key that made them, never with a token or digest", async () => {
    const manager = await s.api.post("/admin/v1/keys", { name: "auditor", scopes: ["keys:manage"] });
    const client = new Client(s.url, { authorization: `Bearer ${manager.json.data.token}` });
    const sub = await client.post("/admin/v1/keys", { name: "sub-key", scopes: ["keys:manage"] });
    await client.post(`/admin/v1/keys/${sub.json.data.id}/rotate`, { grace_seconds: 0 });
    await client.delete(`/admin/v1/keys/${sub.json.data.id}`);
    const log = await entries(`actor=${encodeURIComponent(`api_key:${manager.json.data.id}`)}`);
    assert.deepEqual(
      log.map((e: { action: string }) => e.action),
      ["key.revoke", "key.rotate", "key.create"],
    );
    const text = JSON.stringify(await entries("object_type=key&page_size=100"));
    for (const secret of [manager.json.data.token, sub.json.data.token, sha256Hex(sub.json.data.token)]) {
      assert.ok(!text.includes(secret));
    }
  });

  it("filters by time and paginates; only admin may read it", async () => {
    const future = await entries("since=2999-01-01T00:00:00Z");
    assert.equal(future.length, 0);
    const page = await s.api.get("/admin/v1/audit?page_size=2");
    assert.equal(page.json.data.length, 2);
    assert.ok(page.json.pagination.total >= 5);
    assert.equal((await s.api.get("/admin/v1/audit?since=yesterday")).status, 400);
    const reader = await s.api.post("/admin/v1/keys", {
      name: "reader",
      scopes: ["links:read", "keys:manage", "config:read"],
    });
    const denied = await new Client(s.url, { authorization: `Bearer ${reader.json.data.token}` }).get(
      "/admin/v1/audit",
    );
    assert.equal(denied.status, 403);
  });
});

forEachEngine("audit log behind a trusted proxy", (engine) => {
  let s: TestServer;
  before(async () => {
    s = await startServer(engine, { JMP_TRUSTED_PROXIES: "127.0.0.1,::1" });
  });
  after(() => s.close());

  it("records the forwarded address when it is one, the proxy's when it is not — the write is always audited", async () => {
    const cases: [string, RegExp][] = [
      ["203.0.113.7", /^203\.0\.113\.7$/],
      ["2001:db8::1", /^2001:db8::1$/],
      ["x".repeat(300), /^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/],
      [`${"9".repeat(80)}, not-an-address`, /^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/],
    ];
    for (const [i, [forwarded, expected]] of cases.entries()) {
      const code = `xff-${i}`;
      const r = await s.api.request("POST", "/admin/v1/links", {
        json: { code, target: "https://x.example" },
        headers: { "x-forwarded-for": forwarded },
      });
      assert.equal(r.status, 201, r.text);
      const entries = (await s.api.get(`/admin/v1/audit?object_id=${code}`)).json.data;
      assert.equal(entries.length, 1, `${forwarded.slice(0, 20)}: the write is in the audit log`);
      assert.match(entries[0].ip, expected);
    }
  });
});

describe("the audit entry commits with the write", () => {
  it("a write that cannot be audited does not happen (links, batches, keys, config)", async () => {
    const s = await startServer("sqlite");
    try {
      await sql`alter table audit_log rename to audit_log_away`.execute(s.app.store.db);
      const r = await s.api.post("/admin/v1/links", { code: "unaudited", target: "https://u.example" });
      assert.ok(r.status >= 500, `${r.status}: the write failed`);
      const key = await s.api.post("/admin/v1/keys", { name: "unaudited-key", scopes: ["links:read"] });
      assert.ok(key.status >= 500, `${key.status}: the key write failed`);
      const config = await s.api.put("/admin/v1/config/features.random_code_length", { value: "11" });
      assert.ok(config.status >= 500, `${config.status}: the config write failed`);
      const batch = await s.api.post("/admin/v1/links/batch", {
        links: [{ code: "unaudited-2", target: "https://u.example" }],
      });
      assert.ok(batch.status >= 500);
      await sql`alter table audit_log_away rename to audit_log`.execute(s.app.store.db);
      assert.equal((await s.api.get("/admin/v1/links/unaudited")).status, 404, "nothing was written");
      assert.equal((await s.api.get("/admin/v1/links/unaudited-2")).status, 404);
      const keys = (await s.api.get("/admin/v1/keys")).json.data as { name: string }[];
      assert.ok(!keys.some((k) => k.name === "unaudited-key"), "no key was created");
      assert.equal((await s.api.get("/admin/v1/config/features.random_code_length")).json.data.value, "6");
      assert.equal(
        (await s.api.post("/admin/v1/links", { code: "audited-ok", target: "https://u.example" })).status,
        201,
      );
    } finally {
      await s.close();
    }
  });
});
