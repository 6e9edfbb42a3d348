/** Health endpoints: open probes, a guarded detailed view, on every engine. */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { internalContext } from "../../src/audit/log.js";
import { Client } from "../support/http.js";
import { forEachEngine, startServer, type TestServer } from "../support/server.js";

forEachEngine("health", (engine) => {
  let s: TestServer;
  before(async () => {
    s = await startServer(engine);
  });
  after(() => s.close());

  it("answers /health/live with 204 and /health/ready with 200 OK, without credentials", async () => {
    const live = await s.anon.get("/health/live");
    assert.equal(live.status, 204);
    assert.equal(live.text, "");
    const ready = await s.anon.get("/health/ready");
    assert.equal(ready.status, 200);
    assert.equal(ready.text, "OK");
    assert.equal((await s.anon.head("/health/ready")).status, 200);
  });

  it("guards /health: 401 without credentials, details with an admin credential", async () => {
    const anon = await s.anon.get("/health");
    assert.equal(anon.status, 401);
    assert.equal(anon.json.code, 1001);
    const r = await s.api.get("/health");
    assert.equal(r.status, 200);
    assert.equal(r.json.code, 0);
    assert.equal(r.json.data.status, "healthy");
    assert.equal(r.json.data.checks.storage.status, "healthy");
    assert.equal(r.json.data.checks.storage.backend.storage_type, engine);
    assert.equal(typeof r.json.data.checks.storage.links_count, "number");
    assert.equal(typeof r.json.data.uptime, "number");
  });

  it("accepts api.health_token as a bearer token, stored only as a digest", async () => {
    const token = "probe-token-0123456789abcdef";
    await s.app.config.set("api.health_token", token, internalContext("test"), Date.now());
    const stored = await s.app.store.db
      .selectFrom("runtime_config")
      .select("value")
      .where("key", "=", "api.health_token")
      .executeTakeFirstOrThrow();
    assert.match(stored.value, /^sha256:[0-9a-f]{64}$/);
    assert.ok(!stored.value.includes(token));
    assert.equal((await new Client(s.url, { authorization: `Bearer ${token}` }).get("/health")).status, 200);
    assert.equal((await new Client(s.url, { authorization: `Bearer ${token}x` }).get("/health")).status, 401);
    // The health token opens only the health endpoint, not the Admin API.
    assert.equal(
      (await new Client(s.url, { authorization: `Bearer ${token}` }).get("/admin/v1/links")).status,
      401,
    );
  });
});

describe("health with no credential configured at all", () => {
  it("answers /health and /health/metrics with 404 until a health token or an admin password exists", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "jmp-health-"));
    const s = await startServer("sqlite", {
      JMP_ADMIN_PASSWORD: "",
      JMP_BOOTSTRAP_API_KEY: "",
      JMP_INITIAL_SECRETS_FILE: path.join(dir, "initial"),
    });
    try {
      await s.app.config.set("api.admin_token", "", internalContext("test"), Date.now());
      assert.equal((await s.anon.get("/health")).status, 404);
      assert.equal((await s.anon.get("/health/metrics")).status, 404);
      assert.equal((await s.anon.get("/health/live")).status, 204, "probes stay open");
      const token = "probe-token-0123456789abcdef";
      await s.app.config.set("api.health_token", token, internalContext("test"), Date.now());
      assert.equal((await s.anon.get("/health")).status, 401);
      assert.equal(
        (await new Client(s.url, { authorization: `Bearer ${token}` }).get("/health")).status,
        200,
      );
    } finally {
      await s.close();
    }
  });
});

describe("headers on every response", () => {
  it("X-Request-ID, nosniff and X-Frame-Options on redirects, 404s, password pages, the API and health", async () => {
    const s = await startServer("sqlite");
    try {
      await s.api.post("/admin/v1/links", { code: "hdr", target: "https://h.example" });
      await s.api.post("/admin/v1/links", {
        code: "hdr-pw",
        target: "https://h.example",
        password: "pw-123456",
      });
      const answers = [
        await s.anon.get("/hdr"),
        await s.anon.head("/hdr"),
        await s.anon.get("/no-such-code"),
        await s.anon.get("/hdr-pw"),
        await s.anon.post("/hdr", {}),
        await s.anon.get("/"),
        await s.anon.get("/robots.txt"),
        await s.api.get("/admin/v1/links/hdr"),
        await s.anon.get("/admin/v1/links"),
        await s.anon.get("/health/live"),
        await s.anon.get("/health"),
      ];
      const ids = new Set<string>();
      for (const r of answers) {
        const what = `${answers.indexOf(r)}: ${r.status}`;
        assert.match(r.headers.get("x-request-id") ?? "", /^[A-Za-z0-9._-]{1,128}$/, what);
        ids.add(r.headers.get("x-request-id")!);
        assert.equal(r.headers.get("x-content-type-options"), "nosniff", what);
        assert.equal(r.headers.get("x-frame-options"), "SAMEORIGIN", what);
      }
      assert.equal(ids.size, answers.length, "every response has its own id");
      const echoed = await s.anon.get("/hdr", { "x-request-id": "trace-abc.123" });
      assert.equal(echoed.headers.get("x-request-id"), "trace-abc.123");
      const forged = await s.anon.get("/hdr", { "x-request-id": "bad id\twith space" });
      assert.notEqual(forged.headers.get("x-request-id"), "bad id\twith space");
    } finally {
      await s.close();
    }
  });
});
