/**
 * Bad input gets a clear 4xx in the envelope and loses nothing: malformed JSON, wrong types, unknown keys,
 * oversized bodies and hostile strings on every endpoint that takes input. Never a 500, never a crash.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { sql } from "kysely";
import type { Reply } from "../support/http.js";
import { forEachEngine, startServer, type TestServer } from "../support/server.js";

const ENDPOINTS: { method: string; path: string; valid: unknown }[] = [
  { method: "POST", path: "/admin/v1/links", valid: { code: "valid-one", target: "https://v.example" } },
  { method: "PUT", path: "/admin/v1/links/seed", valid: { target: "https://v.example" } },
  { method: "POST", path: "/admin/v1/links/batch", valid: { links: [] } },
  { method: "PUT", path: "/admin/v1/links/batch", valid: { updates: [] } },
  { method: "DELETE", path: "/admin/v1/links/batch", valid: { codes: [] } },
  { method: "POST", path: "/admin/v1/auth/login", valid: { password: "x" } },
];

/** Sends raw bytes and reads until the server closes the connection. */
function rawExchange(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => socket.end(bytes));
    let answer = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => (answer += chunk));
    socket.on("close", () => resolve(answer));
    socket.on("error", reject);
  });
}

function assertClientError(r: Reply, context: string) {
  assert.ok(r.status >= 400 && r.status < 500, `${context}: status ${r.status} ${r.text}`);
  assert.equal(typeof r.json?.code, "number", `${context}: envelope ${r.text}`);
  assert.notEqual(r.json.code, 0, context);
  assert.equal(typeof r.json.message, "string", context);
  assert.equal("data" in r.json, false, context);
}

forEachEngine("bad input", (engine) => {
  let s: TestServer;
  before(async () => {
    s = await startServer(engine);
    await s.api.post("/admin/v1/links", { code: "seed", target: "https://seed.example" });
  });
  after(() => s.close());

  async function send(method: string, path: string, body: string, headers: Record<string, string> = {}) {
    return s.api.request(method, path, { body, headers: { "content-type": "application/json", ...headers } });
  }

  for (const endpoint of ENDPOINTS) {
    describe(`${endpoint.method} ${endpoint.path}`, () => {
      it("answers malformed JSON with 400", async () => {
        for (const body of ["{", "{'a':1}", "nul", '{"a":1}}', "\u0000"]) {
          const r = await send(endpoint.method, endpoint.path, body);
          assertClientError(r, `${endpoint.path} ${JSON.stringify(body)}`);
          assert.equal(r.status, 400);
        }
      });

      it("answers an empty body, wrong top-level types and unknown keys with 400", async () => {
        for (const body of [
          "",
          "[]",
          '"text"',
          "42",
          "null",
          JSON.stringify({ ...(endpoint.valid as object), surprise: 1 }),
        ]) {
          const r = await send(endpoint.method, endpoint.path, body);
          assertClientError(r, `${endpoint.path} ${body}`);
        }
      });

      it("answers a wrong Content-Type with 415 and an oversized body with 413", async () => {
        const form = await send(endpoint.method, endpoint.path, "a=b", {
          "content-type": "application/x-www-form-urlencoded",
        });
        assertClientError(form, "form body");
        assert.equal(form.status, 415);
        const huge = JSON.stringify({ ...(endpoint.valid as object), pad: "x".repeat(9 * 1024 * 1024) });
        const big = await send(endpoint.method, endpoint.path, huge);
        assertClientError(big, "huge body");
        assert.equal(big.status, 413);
      });
    });
  }

  it("answers wrong field types with 400/1000 naming the field", async () => {
    const cases: [string, string, unknown][] = [
      ["POST", "/admin/v1/links", { code: 5, target: "https://x.example" }],
      ["POST", "/admin/v1/links", { target: ["https://x.example"] }],
      ["POST", "/admin/v1/links", { target: "https://x.example", force: "true" }],
      ["POST", "/admin/v1/links", { target: "https://x.example", expires_at: 7 }],
      ["POST", "/admin/v1/links", { code: "no-target" }],
      ["PUT", "/admin/v1/links/seed", { expires_at: "1d" }],
      ["POST", "/admin/v1/links/batch", { links: "all" }],
      ["POST", "/admin/v1/links/batch", { links: [{ code: "x" }] }],
      ["PUT", "/admin/v1/links/batch", { updates: [{ code: "seed" }] }],
      ["DELETE", "/admin/v1/links/batch", { codes: [1, 2] }],
      ["POST", "/admin/v1/auth/login", { password: 12345678 }],
    ];
    for (const [method, path, body] of cases) {
      const r = await s.api.request(method, path, { json: body });
      assertClientError(r, `${method} ${path} ${JSON.stringify(body)}`);
      assert.equal(r.status, 400);
      assert.equal(r.json.code, 1000);
      assert.equal(r.json.error, "validation_failed");
      assert.ok(Array.isArray(r.json.fields) && r.json.fields.length > 0);
    }
  });

  it("rejects hostile codes and targets without storing anything", async () => {
    const hostile = [
      { code: "a\r\nb", target: "https://x.example" },
      { code: "x".repeat(10_000), target: "https://x.example" },
      { code: "../../etc/passwd", target: "https://x.example" },
      { code: "<img src=x onerror=alert(1)>", target: "https://x.example" },
      { code: "h1", target: "javascript:alert(document.cookie)" },
      { code: "h2", target: "JaVaScRiPt:alert(1)" },
      { code: "h3", target: "data:text/html;base64,PHNjcmlwdD4=" },
      { code: "h4", target: "https://x.example/\r\nLocation: https://evil.example" },
      { code: "h5", target: `https://x.example/${"a".repeat(10_000)}` },
      { code: "h6", target: "https://x.example/\u0000" },
      { code: "h7", target: "vbscript:msgbox" },
      { code: "h8", target: "file:///etc/passwd" },
    ];
    const before = (await s.api.get("/admin/v1/stats")).json.data.total_links;
    for (const body of hostile) {
      const r = await s.api.post("/admin/v1/links", body);
      assertClientError(r, JSON.stringify(body).slice(0, 80));
      assert.equal(r.status, 400);
      assert.ok(r.text.length < 2000, "error messages do not echo huge input");
    }
    // In a batch, each invalid item is reported on its own; absurdly long strings fail the whole request early.
    const reasonable = hostile.filter((item) => item.code.length <= 1024);
    const batch = await s.api.post("/admin/v1/links/batch", { links: reasonable });
    assert.equal(batch.status, 200);
    assert.equal(batch.json.data.success.length, 0);
    assert.equal(batch.json.data.failed.length, reasonable.length);
    const oversized = await s.api.post("/admin/v1/links/batch", { links: hostile });
    assertClientError(oversized, "batch with a 10 kB code");
    assert.equal(oversized.status, 400);
    assert.equal((await s.api.get("/admin/v1/stats")).json.data.total_links, before);
  });

  it("answers bad query parameters with 400, never 500", async () => {
    for (const query of [
      "search=%00",
      "page=abc",
      "page_size=1.5",
      "only_active=maybe",
      `search=${"x".repeat(600)}`,
      "created_before=2024-13-45T00:00:00Z",
    ]) {
      const r = await s.api.get(`/admin/v1/links?${query}`);
      assertClientError(r, query);
      assert.equal(r.status, 400);
    }
    // Found by the fuzzer: "1e999" coerces to Infinity, which Ajv lets through integer and maximum checks.
    for (const path of [
      "/admin/v1/audit?page=1e999",
      "/admin/v1/audit?page=2e6",
      "/admin/v1/links?page=1e999",
      "/admin/v1/config/api.health_token/history?limit=1e999",
    ]) {
      const r = await s.api.get(path);
      assertClientError(r, path);
      assert.equal(r.status, 400, path);
    }
  });

  it("answers NUL bytes in paths, filters and bodies with 4xx (PostgreSQL refuses them)", async () => {
    const nul = "%00";
    const gets = [
      `/admin/v1/keys/${nul}`,
      `/admin/v1/keys/key_${nul}x`,
      `/admin/v1/audit?actor=${nul}`,
      `/admin/v1/audit?action=a${nul}&object_type=${nul}&object_id=${nul}`,
      `/admin/v1/links?search=${nul}`,
      `/admin/v1/links?tag=${nul}`,
      `/admin/v1/links/${nul}`,
      `/admin/v1/config/${nul}`,
      `/admin/v1/config/api.health_token/history?limit=${nul}`,
    ];
    for (const path of gets) assertClientError(await s.api.get(path), path);
    const writes: [string, string, unknown][] = [
      ["PUT", `/admin/v1/keys/by-name/a${nul}`, { token_sha256: "a".repeat(64), scopes: ["links:read"] }],
      ["PATCH", `/admin/v1/keys/${nul}`, { description: "x" }],
      ["DELETE", `/admin/v1/keys/${nul}`, undefined],
      ["POST", "/admin/v1/keys", { name: "nul-key", scopes: ["links:read"], description: "a\u0000b" }],
      ["PUT", "/admin/v1/tags/a%00b", { name: "c" }],
    ];
    for (const [method, path, json] of writes) {
      assertClientError(
        await s.api.request(method, path, json === undefined ? {} : { json }),
        `${method} ${path}`,
      );
    }
    assert.equal((await s.anon.get(`/${nul}`)).status, 404);
  });

  it("stores long rules whole or refuses them (MySQL's TEXT holds 64 KiB): never a 500, never truncated", async () => {
    const rules = Array.from({ length: 20 }, (_, i) => ({
      conditions: [{ type: "query", name: `q${i}`, value: "v".repeat(1000) }],
      target: `https://rules.example/${"p".repeat(7000)}/${i}`,
    }));
    for (const [path, body] of [
      ["/admin/v1/links", { code: "long-rules-1", target: "https://l.example", rules }],
      ["/admin/v1/links/batch", { links: [{ code: "long-rules-2", target: "https://l.example", rules }] }],
    ] as const) {
      const r = await s.api.post(path, body);
      assert.ok(r.status < 500, `${path}: ${r.status} ${r.text.slice(0, 200)}`);
      const code = path.endsWith("batch") ? "long-rules-2" : "long-rules-1";
      const stored = await s.api.get(`/admin/v1/links/${code}`);
      if (stored.status === 200) assert.equal(stored.json.data.rules.length, 20, "stored whole");
      else assert.equal(stored.status, 404, "or not at all");
    }
  });

  it("answers hostile codes in the path with 404, never 500", async () => {
    for (const path of [
      "/admin/v1/links/%00",
      "/admin/v1/links/a%0Db",
      "/admin/v1/links/%E0%A4%A",
      "/admin/v1/links/..%2F..%2Fetc",
      `/admin/v1/links/${"z".repeat(5000)}`,
    ]) {
      const r = await s.api.get(path);
      assert.ok(r.status === 404 || r.status === 400, `${path}: ${r.status}`);
    }
  });

  it("answers what Node's HTTP parser refuses (a URL over 16 KiB, bytes that are not HTTP) in the envelope", async () => {
    // Found by the fuzzer: Fastify's default answer to these is its own `{error, statusCode}` body.
    const long = await s.api.get(`/admin/v1/analytics/export?end_date=${"x".repeat(17_000)}`);
    assert.equal(long.status, 431);
    assertClientError(long, "long URL");
    assert.equal(long.json.error, "headers_too_large");
    const raw = await rawExchange(s.url, "NOT HTTP AT ALL\r\n\r\n");
    const [head = "", body = ""] = raw.split("\r\n\r\n");
    assert.match(head, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(head, /\r\nConnection: close(\r\n|$)/);
    const envelope = JSON.parse(body);
    assert.equal(envelope.code, 1000);
    assert.equal(envelope.error, "bad_request");
    // The server is still up.
    assert.equal((await s.api.get("/admin/v1/links/seed")).status, 200);
  });

  it("keeps batches and imports all-or-nothing when the database fails mid-write", async () => {
    // A real database failure: a trigger that aborts any insert of the code "boom".
    await installFailingTrigger(s);
    try {
      const batch = await s.api.post("/admin/v1/links/batch", {
        links: [
          { code: "atomic-1", target: "https://a1.example" },
          { code: "boom", target: "https://boom.example" },
          { code: "atomic-2", target: "https://a2.example" },
        ],
      });
      assert.equal(batch.status, 500);
      assert.equal(batch.json.code, 1005);
      assert.ok(!batch.text.includes("boom-trigger"), "database messages are not echoed");
      const form = new FormData();
      form.set(
        "file",
        new Blob(["code,target\natomic-3,https://a3.example\nboom,https://b.example\n"]),
        "x.csv",
      );
      const imported = await s.api.request("POST", "/admin/v1/links/import", { body: form });
      assert.equal(imported.status, 500);
      for (const code of ["atomic-1", "atomic-2", "atomic-3"]) {
        assert.equal((await s.api.get(`/admin/v1/links/${code}`)).status, 404, `${code} must not be written`);
        assert.equal((await s.anon.get(`/${code}`)).status, 404);
      }
    } finally {
      await removeFailingTrigger(s);
    }
  });
});

async function installFailingTrigger(s: TestServer): Promise<void> {
  const db = s.app.store.db;
  if (s.engine === "sqlite") {
    await sql`CREATE TRIGGER boom_trigger BEFORE INSERT ON links WHEN NEW.code = 'boom'
      BEGIN SELECT RAISE(ABORT, 'boom-trigger'); END`.execute(db);
  } else if (s.engine === "postgres") {
    await sql`CREATE FUNCTION boom_trigger() RETURNS trigger AS $$
      BEGIN IF NEW.code = 'boom' THEN RAISE EXCEPTION 'boom-trigger'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`.execute(
      db,
    );
    await sql`CREATE TRIGGER boom_trigger BEFORE INSERT ON links FOR EACH ROW EXECUTE FUNCTION boom_trigger()`.execute(
      db,
    );
  } else {
    await sql
      .raw(
        `CREATE TRIGGER boom_trigger BEFORE INSERT ON links FOR EACH ROW
      BEGIN IF NEW.code = 'boom' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom-trigger'; END IF; END`,
      )
      .execute(db);
  }
}

async function removeFailingTrigger(s: TestServer): Promise<void> {
  const db = s.app.store.db;
  if (s.engine === "postgres") {
    await sql`DROP TRIGGER IF EXISTS boom_trigger ON links`.execute(db);
    await sql`DROP FUNCTION IF EXISTS boom_trigger()`.execute(db);
  } else {
    await sql`DROP TRIGGER IF EXISTS boom_trigger`.execute(db);
  }
}
