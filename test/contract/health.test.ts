/** Health endpoints: open probes, a guarded detailed view, on every engine. */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
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
