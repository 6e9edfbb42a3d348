/** Admin API v1 runtime configuration: the endpoint contract, every key's validation, live effects, pins. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { sha256Hex } from "../../src/auth/api-key-format.js";
import { REGISTRY } from "../../src/config/registry.js";
import { Client } from "../support/http.js";
import {
  ADMIN_PASSWORD,
  BOOTSTRAP_KEY,
  forEachEngine,
  type TestServer,
  startServer,
} from "../support/server.js";

/** For every key: a valid input and its normalised form, and an invalid input. */
const CASES: Record<string, { valid: string; normalized: string; invalid: string }> = {
  "api.admin_token": { valid: ADMIN_PASSWORD, normalized: "[REDACTED]", invalid: "short" },
  "api.health_token": { valid: "health-token-0123456789", normalized: "[REDACTED]", invalid: "tiny" },
  "api.jwt_secret": { valid: "s".repeat(64), normalized: "[REDACTED]", invalid: "too-short" },
  "api.trusted_proxies": {
    valid: '[" 10.0.0.0/8 ","::1","10.0.0.0/8"]',
    normalized: '["10.0.0.0/8","::1"]',
    invalid: '["10.0.0.300"]',
  },
  "api.access_token_minutes": { valid: "008", normalized: "8", invalid: "0" },
  "api.refresh_token_days": { valid: "+3", normalized: "3", invalid: "1.5" },
  "api.cookie_secure": { valid: "false", normalized: "false", invalid: "yes" },
  "api.cookie_same_site": { valid: "strict", normalized: "Strict", invalid: "sometimes" },
  "api.cookie_domain": { valid: " example.com ", normalized: "example.com", invalid: "exa mple.com" },
  "features.random_code_length": { valid: "08", normalized: "8", invalid: "3" },
  "features.default_url": {
    valid: "https://home.example/",
    normalized: "https://home.example/",
    invalid: "javascript:alert(1)",
  },
  "features.enable_admin_panel": { valid: "true", normalized: "true", invalid: "TRUE" },
  "click.enable_tracking": { valid: "true", normalized: "true", invalid: "1" },
  "click.flush_interval": { valid: "0030", normalized: "30", invalid: "-1" },
  "click.max_clicks_before_flush": { valid: "500", normalized: "500", invalid: "many" },
  "routes.admin_prefix": { valid: "/admin", normalized: "/admin", invalid: "admin" },
  "routes.health_prefix": { valid: "/health", normalized: "/health", invalid: "/a/b" },
  "routes.frontend_prefix": { valid: "/panel", normalized: "/panel", invalid: "/admin" },
  "cors.enabled": { valid: "false", normalized: "false", invalid: "off" },
  "cors.allowed_origins": {
    valid: '["https://panel.example"]',
    normalized: '["https://panel.example"]',
    invalid: '["panel.example"]',
  },
  "cors.allowed_methods": {
    valid: '["post","GET","get"]',
    normalized: '["GET","POST"]',
    invalid: '["FETCH"]',
  },
  "cors.allowed_headers": {
    valid: '["X-CSRF-Token"]',
    normalized: '["X-CSRF-Token"]',
    invalid: '["bad header"]',
  },
  "cors.max_age": { valid: "0", normalized: "0", invalid: "-5" },
  "cors.allow_credentials": { valid: "false", normalized: "false", invalid: "null" },
  "analytics.enable_detailed_logging": { valid: "false", normalized: "false", invalid: "" },
  "analytics.log_retention_days": { valid: "90", normalized: "90", invalid: "x" },
  "analytics.enable_ip_logging": { valid: "false", normalized: "false", invalid: "no" },
  "analytics.enable_geo_lookup": { valid: "true", normalized: "true", invalid: "2" },
  "analytics.hourly_retention_days": { valid: "14", normalized: "14", invalid: "1e3" },
  "analytics.daily_retention_days": { valid: "400", normalized: "400", invalid: "-1" },
  "analytics.enable_auto_rollup": { valid: "false", normalized: "false", invalid: "False" },
  "analytics.sample_rate": { valid: "1", normalized: "1.0", invalid: "1.5" },
  "analytics.max_log_rows": { valid: "1000", normalized: "1000", invalid: "lots" },
  "analytics.max_rows_action": { valid: "STOP", normalized: "stop", invalid: "explode" },
  "analytics.anonymize_ip": { valid: "false", normalized: "false", invalid: "off" },
  "analytics.respect_dnt": { valid: "true", normalized: "true", invalid: "1" },
  "analytics.disable_track_param": { valid: " nostat ", normalized: "nostat", invalid: "no stat" },
  "analytics.ignore_ips": {
    valid: '["10.0.0.0/8", "192.0.2.1"]',
    normalized: '["10.0.0.0/8","192.0.2.1"]',
    invalid: '["10.0.0.0/33"]',
  },
  "analytics.store_referrer": { valid: "HOST", normalized: "host", invalid: "path" },
  "analytics.record_bots": { valid: "false", normalized: "false", invalid: "no" },
  "analytics.unique_visitors": { valid: "true", normalized: "true", invalid: "yes" },
  "utm.enable_passthrough": { valid: "false", normalized: "false", invalid: "maybe" },
  "cache.bloom_rebuild_interval": { valid: "0", normalized: "0", invalid: "NaN" },
  "features.default_redirect_status": { valid: "302", normalized: "302", invalid: "303" },
  "features.permanent_redirect_cache_seconds": { valid: "600", normalized: "600", invalid: "-5" },
  "features.public_base_url": {
    valid: "https://s.example/",
    normalized: "https://s.example",
    invalid: "ftp://x",
  },
  "features.enable_public_qr": { valid: "true", normalized: "true", invalid: "yes" },
  "api.sessions_not_before": { valid: "0", normalized: "0", invalid: "-1" },
};

forEachEngine("config API", (engine) => {
  let s: TestServer;
  before(async () => {
    // No JMP_ADMIN_PASSWORD pin here: api.admin_token is set through the API like any other key.
    s = await startServer(engine, { JMP_ADMIN_PASSWORD: "" });
    assert.equal(
      (await s.api.put("/admin/v1/config/api.admin_token", { value: ADMIN_PASSWORD })).status,
      200,
    );
  });
  after(() => s.close());

  const put = (key: string, value: unknown) => s.api.put(`/admin/v1/config/${key}`, { value });

  it("covers every registry key in the test table", () => {
    assert.deepEqual(Object.keys(CASES).sort(), REGISTRY.map((d) => d.key).sort());
  });

  it("lists every key in registry order, redacting secrets, none needing a restart", async () => {
    const r = await s.api.get("/admin/v1/config");
    assert.equal(r.status, 200);
    assert.deepEqual(
      r.json.data.map((item: { key: string }) => item.key),
      REGISTRY.map((d) => d.key),
    );
    for (const item of r.json.data) {
      assert.equal(item.requires_restart, false, item.key);
      assert.ok(["db", "default", "env"].includes(item.source), item.key);
      if (item.is_sensitive && item.value !== "") assert.equal(item.value, "[REDACTED]", item.key);
    }
    const jwt = r.json.data.find((item: { key: string }) => item.key === "api.jwt_secret");
    assert.equal(jwt.value, "[REDACTED]");
    assert.match(jwt.updated_at, /^\d{4}-\d{2}-\d{2}T/);
  });

  it("describes the schema: types, defaults, options, actions, order", async () => {
    const r = await s.api.get("/admin/v1/config/schema");
    const byKey = Object.fromEntries(r.json.data.map((d: { key: string }) => [d.key, d]));
    assert.equal(r.json.data.length, REGISTRY.length);
    assert.equal(byKey["api.cookie_same_site"].value_type, "enum");
    assert.deepEqual(
      byKey["api.cookie_same_site"].enum_options.map((o: { value: string }) => o.value),
      ["Strict", "Lax", "None"],
    );
    assert.equal(byKey["cors.allowed_methods"].value_type, "enumarray");
    assert.equal(byKey["analytics.sample_rate"].value_type, "float");
    assert.equal(byKey["api.jwt_secret"].action, "generate_token");
    assert.equal(byKey["api.health_token"].action, "generate_token");
    assert.equal(byKey["api.jwt_secret"].default_value, "", "the random default is not revealed");
    assert.equal(byKey["features.random_code_length"].default_value, "6");
    assert.equal(byKey["routes.admin_prefix"].order, 15);
    assert.ok(r.json.data.every((d: { requires_restart: boolean }) => d.requires_restart === false));
  });

  it("gets one key, and answers 404/5000 for an unknown key on every route", async () => {
    const one = await s.api.get("/admin/v1/config/features.random_code_length");
    assert.equal(one.json.data.value, "6");
    assert.equal(one.json.data.value_type, "int");
    for (const [method, path, body] of [
      ["GET", "/admin/v1/config/no.such_key", undefined],
      ["PUT", "/admin/v1/config/no.such_key", { value: "1" }],
      ["GET", "/admin/v1/config/no.such_key/history", undefined],
      ["POST", "/admin/v1/config/no.such_key/reset", undefined],
      ["POST", "/admin/v1/config/no.such_key/action", { action: "generate_token" }],
    ] as const) {
      const r = await s.api.request(method, path, { json: body });
      assert.equal(r.status, 404, `${method} ${path}`);
      assert.equal(r.json.code, 5000);
      assert.equal(r.json.message, "Config key 'no.such_key' not found");
    }
  });

  describe("every key validates and normalises", () => {
    for (const [key, c] of Object.entries(CASES)) {
      it(key, async () => {
        const bad = await put(key, c.invalid);
        assert.equal(bad.status, 400, bad.text);
        assert.equal(bad.json.code, 1000);
        assert.ok(bad.json.message.startsWith(`Invalid value for '${key}': `), bad.json.message);
        const good = await put(key, c.valid);
        assert.equal(good.status, 200, good.text);
        assert.deepEqual(good.json.data, {
          key,
          value: c.normalized,
          requires_restart: false,
          is_sensitive: c.normalized === "[REDACTED]",
          source: good.json.data.source,
          message: null,
        });
        assert.equal((await s.api.get(`/admin/v1/config/${key}`)).json.data.value, c.normalized);
      });
    }
  });

  it("has no reserved key: every key in the schema is read by a feature", async () => {
    const schema = (await s.api.get("/admin/v1/config/schema")).json.data;
    for (const item of schema) assert.doesNotMatch(item.description, /reserved|not implemented/i, item.key);
  });

  it("keeps route prefixes distinct", async () => {
    const r = await put("routes.health_prefix", "/admin");
    assert.equal(r.status, 400);
    assert.match(r.json.message, /already used by routes.admin_prefix/);
  });

  it("records history with the actor, newest first, redacted for secrets; unchanged values write nothing", async () => {
    await put("features.random_code_length", "7");
    await put("features.random_code_length", "9");
    await put("features.random_code_length", "9");
    const login = new Client(s.url);
    await login.post("/admin/v1/auth/login", { password: ADMIN_PASSWORD });
    await login.put(
      "/admin/v1/config/features.random_code_length",
      { value: "10" },
      { "x-csrf-token": login.cookies.get("csrf_token")! },
    );
    const h = await s.api.get("/admin/v1/config/features.random_code_length/history");
    const [latest, second, third] = h.json.data;
    assert.deepEqual([latest.old_value, latest.new_value, latest.changed_by], ["9", "10", "session"]);
    const bootstrap = `bootstrap:${sha256Hex(BOOTSTRAP_KEY).slice(0, 8)}`;
    assert.deepEqual([second.old_value, second.new_value, second.changed_by], ["7", "9", bootstrap]);
    assert.equal(third.new_value, "7");
    assert.equal(
      h.json.data.filter((e: { new_value: string }) => e.new_value === "9").length,
      1,
      "no entry for 9 → 9",
    );
    assert.match(latest.changed_at, /^\d{4}-\d{2}-\d{2}T/);
    await put("api.health_token", "another-health-token-123");
    const secret = await s.api.get("/admin/v1/config/api.health_token/history");
    for (const entry of secret.json.data) {
      assert.equal(entry.new_value, "[REDACTED]");
      assert.ok(entry.old_value === null || entry.old_value === "[REDACTED]" || entry.old_value === "");
    }
  });

  it("limits history: default 20, at most 100", async () => {
    for (let i = 0; i < 25; i++) await put("cors.max_age", String(100 + i));
    assert.equal((await s.api.get("/admin/v1/config/cors.max_age/history")).json.data.length, 20);
    assert.equal((await s.api.get("/admin/v1/config/cors.max_age/history?limit=3")).json.data.length, 3);
    assert.equal((await s.api.get("/admin/v1/config/cors.max_age/history?limit=1000")).json.data.length, 26);
  });

  it("resets a key to its default", async () => {
    await put("features.random_code_length", "12");
    const r = await s.api.post("/admin/v1/config/features.random_code_length/reset");
    assert.equal(r.json.data.value, "6");
    assert.equal(r.json.data.source, "default");
  });

  it("generates tokens with the action endpoint without storing them", async () => {
    const before = await s.app.store.db
      .selectFrom("runtime_config")
      .select("value")
      .where("key", "=", "api.jwt_secret")
      .executeTakeFirstOrThrow();
    const r = await s.api.post("/admin/v1/config/api.jwt_secret/action", { action: "generate_token" });
    assert.match(r.json.data.value, /^[0-9a-f]{64}$/);
    const afterAction = await s.app.store.db
      .selectFrom("runtime_config")
      .select("value")
      .where("key", "=", "api.jwt_secret")
      .executeTakeFirstOrThrow();
    assert.equal(afterAction.value, before.value);
    const health = await s.api.post("/admin/v1/config/api.health_token/action", { action: "generate_token" });
    assert.match(health.json.data.value, /^[0-9a-f]{64}$/);
    const none = await s.api.post("/admin/v1/config/cors.max_age/action", { action: "generate_token" });
    assert.equal(none.status, 400);
    assert.equal(none.json.message, "Config 'cors.max_age' does not support any action");
    const wrong = await s.api.post("/admin/v1/config/api.jwt_secret/action", { action: "shred" });
    assert.equal(wrong.status, 400);
  });

  it("execute-and-save stores a new secret, returns none, and ends existing sessions", async () => {
    const login = new Client(s.url);
    await login.post("/admin/v1/auth/login", { password: ADMIN_PASSWORD });
    assert.equal((await login.get("/admin/v1/links")).status, 200);
    const r = await s.api.post("/admin/v1/config/api.jwt_secret/execute-and-save", {
      action: "generate_token",
    });
    assert.deepEqual(r.json.data, { success: true, requires_restart: false, message: null });
    assert.equal((await login.get("/admin/v1/links")).status, 401);
  });

  it("hashes api.admin_token set through the API, ends existing sessions, and login works with the new password", async () => {
    const before = new Client(s.url);
    await before.post("/admin/v1/auth/login", { password: ADMIN_PASSWORD });
    assert.equal((await before.get("/admin/v1/links")).status, 200);
    assert.equal((await put("api.admin_token", "set-through-the-api")).status, 200);
    assert.equal((await before.get("/admin/v1/links")).status, 401, "a password change ends every session");
    const row = await s.app.store.db
      .selectFrom("runtime_config")
      .select("value")
      .where("key", "=", "api.admin_token")
      .executeTakeFirstOrThrow();
    assert.match(row.value, /^\$argon2id\$/);
    assert.ok(!row.value.includes("set-through-the-api"));
    assert.equal(
      (await new Client(s.url).post("/admin/v1/auth/login", { password: "set-through-the-api" })).status,
      200,
    );
    assert.equal(
      (await new Client(s.url).post("/admin/v1/auth/login", { password: ADMIN_PASSWORD })).status,
      401,
    );
    await put("api.admin_token", ADMIN_PASSWORD);
  });

  it("reloads values written directly to the database", async () => {
    await s.app.store.db
      .updateTable("runtime_config")
      .set({ value: "11" })
      .where("key", "=", "features.random_code_length")
      .execute();
    const r = await s.api.post("/admin/v1/config/reload");
    assert.equal(r.json.data.message, "Config reloaded successfully");
    assert.equal(typeof r.json.data.duration_ms, "number");
    assert.equal((await s.api.get("/admin/v1/config/features.random_code_length")).json.data.value, "11");
  });

  it("answers bad bodies with 4xx: non-JSON, non-string value, unknown keys, 1 MB, control characters", async () => {
    const key = "/admin/v1/config/features.default_url";
    const cases: [RequestInit["body"], string | undefined, number][] = [
      ["{not json", "application/json", 400],
      [JSON.stringify({ value: 8 }), "application/json", 400],
      [JSON.stringify({ value: ["a"] }), "application/json", 400],
      [JSON.stringify({ value: "https://x.example", extra: 1 }), "application/json", 400],
      [JSON.stringify({}), "application/json", 400],
      [JSON.stringify({ value: `https://x.example/${"a".repeat(1024 * 1024)}` }), "application/json", 413],
      [JSON.stringify({ value: "https://x.example/\u0000" }), "application/json", 400],
      ["value=x", "application/x-www-form-urlencoded", 415],
    ];
    for (const [body, type, status] of cases) {
      const r = await s.api.request("PUT", key, { body, headers: type ? { "content-type": type } : {} });
      assert.equal(r.status, status, String(body).slice(0, 60));
      assert.equal(typeof r.json.code, "number");
    }
    const control = await put("api.cookie_domain", "example.com\r\nX: y");
    assert.equal(control.status, 400);
    // Found by the fuzzer: domains the cookie serializer refuses made every login and logout a 500.
    for (const domain of ["-1", "a-.example", "-a.example", `${"a".repeat(64)}.example`]) {
      assert.equal((await put("api.cookie_domain", domain)).status, 400, domain);
    }
    assert.equal((await s.anon.post("/admin/v1/auth/logout")).status, 200);
  });
});

describe("runtime keys apply without a restart", () => {
  let s: TestServer;
  before(async () => {
    s = await startServer("sqlite");
  });
  after(() => s.close());
  const put = (key: string, value: string) => s.api.put(`/admin/v1/config/${key}`, { value });

  it("routes.admin_prefix and routes.health_prefix move the APIs at once", async () => {
    await put("routes.admin_prefix", "/manage");
    try {
      assert.equal((await s.api.get("/manage/v1/links")).status, 200);
      assert.equal((await s.api.get("/admin/v1/links")).status, 404, "the old prefix is a link code now");
      assert.equal((await s.api.post("/admin/v1/links", { target: "https://x.example" })).status, 404);
      const code = await s.api.post("/manage/v1/links", { code: "manage", target: "https://x.example" });
      assert.equal(code.status, 400, "codes under the new prefix are reserved");
      const login = new Client(s.url);
      await login.post("/manage/v1/auth/login", { password: ADMIN_PASSWORD });
      const refresh = login.lastSetCookies.find((c) => c.name === "jmp_refresh")!;
      assert.equal(refresh.attributes.path, "/manage/v1/auth");
    } finally {
      await s.api.put("/manage/v1/config/routes.admin_prefix", { value: "/admin" });
    }
    await put("routes.health_prefix", "/status");
    try {
      assert.equal((await s.anon.get("/status/live")).status, 204);
    } finally {
      await put("routes.health_prefix", "/health");
    }
  });

  it("api.access_token_minutes, api.refresh_token_days and cookie attributes shape the next login", async () => {
    await put("api.access_token_minutes", "5");
    await put("api.refresh_token_days", "2");
    await put("api.cookie_same_site", "Strict");
    await put("api.cookie_domain", "localhost");
    const login = new Client(s.url);
    const r = await login.post("/admin/v1/auth/login", { password: ADMIN_PASSWORD });
    assert.equal(r.json.data.expires_in, 300);
    const cookies = Object.fromEntries(login.lastSetCookies.map((c) => [c.name, c.attributes]));
    assert.equal(cookies.jmp_access!["max-age"], "300");
    assert.equal(cookies.jmp_access!.samesite, "Strict");
    assert.equal(cookies.jmp_access!.domain, "localhost");
    assert.equal(cookies.jmp_refresh!["max-age"], String(2 * 86400));
    await put("api.cookie_same_site", "None");
    await login.post("/admin/v1/auth/login", { password: ADMIN_PASSWORD });
    assert.equal(login.lastSetCookies[0]!.attributes.secure, true, "SameSite=None implies Secure");
    await put("api.cookie_same_site", "Lax");
    await put("api.cookie_domain", "");
  });

  it("features.random_code_length sets the length of the next generated code", async () => {
    await put("features.random_code_length", "11");
    const r = await s.api.post("/admin/v1/links", { target: "https://len.example" });
    assert.match(r.json.data.code, /^[A-Za-z0-9]{11}$/);
    await put("features.random_code_length", "6");
  });

  it("features.default_redirect_status sets the status of redirects", async () => {
    await s.api.post("/admin/v1/links", { code: "status", target: "https://status.example" });
    await put("features.default_redirect_status", "308");
    assert.equal((await s.anon.get("/status")).status, 308);
    await put("features.default_redirect_status", "301");
    assert.equal((await s.anon.get("/status")).status, 301);
    await put("features.default_redirect_status", "307");
  });

  it("utm.enable_passthrough appends the visitor's utm_* parameters, before the fragment", async () => {
    await s.api.post("/admin/v1/links", { code: "utm", target: "https://utm.example/page?ref=1#top" });
    const query = "/utm?utm_source=news&x=1&utm_campaign=spring";
    assert.equal((await s.anon.get(query)).headers.get("location"), "https://utm.example/page?ref=1#top");
    await put("utm.enable_passthrough", "true");
    assert.equal(
      (await s.anon.get(query)).headers.get("location"),
      "https://utm.example/page?ref=1&utm_source=news&utm_campaign=spring#top",
    );
    await put("utm.enable_passthrough", "false");
  });

  it("cors.* answer preflights from allowed origins only, with the configured headers", async () => {
    const preflight = (origin: string) =>
      s.anon.request("OPTIONS", "/admin/v1/links", {
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "x-csrf-token",
        },
      });
    assert.equal((await preflight("https://panel.example")).headers.get("access-control-allow-origin"), null);
    await put("cors.allowed_origins", '["https://panel.example"]');
    await put("cors.allow_credentials", "true");
    await put("cors.enabled", "true");
    const ok = await preflight("https://panel.example");
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get("access-control-allow-origin"), "https://panel.example");
    assert.equal(ok.headers.get("access-control-allow-credentials"), "true");
    assert.match(ok.headers.get("access-control-allow-headers") ?? "", /X-CSRF-Token/);
    assert.equal(ok.headers.get("access-control-max-age"), "3600");
    const other = await preflight("https://evil.example");
    assert.equal(other.headers.get("access-control-allow-origin"), null);
    const actual = await s.api.get("/admin/v1/links", { origin: "https://panel.example" });
    assert.equal(actual.headers.get("access-control-allow-origin"), "https://panel.example");
    await put("cors.enabled", "false");
    assert.equal((await preflight("https://panel.example")).headers.get("access-control-allow-origin"), null);
  });

  it("api.trusted_proxies makes X-Forwarded-Proto count", async () => {
    const viaProxy = new Client(s.url, { "x-forwarded-proto": "https" });
    await viaProxy.post("/admin/v1/auth/login", { password: ADMIN_PASSWORD });
    assert.equal(viaProxy.lastSetCookies[0]!.attributes.secure, undefined);
    await put("api.trusted_proxies", '["127.0.0.1","::1"]');
    await viaProxy.post("/admin/v1/auth/login", { password: ADMIN_PASSWORD });
    assert.equal(viaProxy.lastSetCookies[0]!.attributes.secure, true);
    await put("api.trusted_proxies", "[]");
  });
});

describe("pinned keys", () => {
  let s: TestServer;
  before(async () => {
    s = await startServer("sqlite", {
      JMP_CONFIG_FEATURES__RANDOM_CODE_LENGTH: "009",
      JMP_CONFIG_API__HEALTH_TOKEN: "pinned-health-token-123",
    });
  });
  after(() => s.close());

  it("read back with source env, apply, and refuse changes with 409", async () => {
    const item = (await s.api.get("/admin/v1/config/features.random_code_length")).json.data;
    assert.equal(item.value, "9");
    assert.equal(item.source, "env");
    assert.equal(item.editable, false);
    const r = await s.api.post("/admin/v1/links", { target: "https://pin.example" });
    assert.match(r.json.data.code, /^[A-Za-z0-9]{9}$/);
    for (const attempt of [
      s.api.put("/admin/v1/config/features.random_code_length", { value: "7" }),
      s.api.post("/admin/v1/config/features.random_code_length/reset"),
    ]) {
      const refused = await attempt;
      assert.equal(refused.status, 409);
      assert.equal(refused.json.code, 7004);
      assert.equal(refused.json.error, "managed_by_environment");
      assert.match(refused.json.message, /pinned by the environment/);
    }
    const health = await new Client(s.url, { authorization: "Bearer pinned-health-token-123" }).get(
      "/health",
    );
    assert.equal(health.status, 200);
    assert.equal((await s.api.get("/admin/v1/config/api.health_token")).json.data.value, "[REDACTED]");
  });
});
