/** API keys and scopes through HTTP, on every engine; revocation across instances; the bootstrap key's limits. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { generateApiKey, sha256Hex } from "../../src/auth/api-key-format.js";
import { Client } from "../support/http.js";
import { BOOTSTRAP_KEY, forEachEngine, type TestServer, startServer } from "../support/server.js";

async function mint(s: TestServer, name: string, scopes: string[], extra: Record<string, unknown> = {}) {
  const r = await s.api.post("/admin/v1/keys", { name, scopes, ...extra });
  assert.equal(r.status, 201, r.text);
  return {
    id: r.json.data.id as string,
    token: r.json.data.token as string,
    client: new Client(s.url, { authorization: `Bearer ${r.json.data.token}` }),
  };
}

forEachEngine("API keys", (engine) => {
  let s: TestServer;
  before(async () => {
    s = await startServer(engine);
  });
  after(() => s.close());

  it("enforces every scope: one allowed and one forbidden route each", async () => {
    const matrix: [string, [string, string, unknown?], [string, string, unknown?]][] = [
      [
        "links:read",
        ["GET", "/admin/v1/links"],
        ["POST", "/admin/v1/links", { target: "https://x.example" }],
      ],
      [
        "links:write",
        ["POST", "/admin/v1/links", { target: "https://w.example" }],
        ["GET", "/admin/v1/links"],
      ],
      ["config:read", ["GET", "/admin/v1/config"], ["PUT", "/admin/v1/config/cors.max_age", { value: "5" }]],
      ["config:write", ["PUT", "/admin/v1/config/cors.max_age", { value: "6" }], ["GET", "/admin/v1/stats"]],
      ["keys:manage", ["GET", "/admin/v1/keys"], ["GET", "/admin/v1/config"]],
      ["analytics:read", ["GET", "/admin/v1/auth/whoami"], ["GET", "/admin/v1/links"]],
      ["admin", ["GET", "/admin/v1/keys"], ["GET", "/admin/v1/no-such-route"]],
    ];
    for (const [scope, [am, ap, ab], [fm, fp, fb]] of matrix) {
      const { client } = await mint(s, `scope-${scope.replace(":", "-")}`, [scope]);
      const allowed = await client.request(am, ap, { json: ab });
      assert.ok(
        allowed.status >= 200 && allowed.status < 300,
        `${scope} ${am} ${ap}: ${allowed.status} ${allowed.text}`,
      );
      const forbidden = await client.request(fm, fp, { json: fb });
      if (scope === "admin") {
        assert.equal(forbidden.status, 404, "admin passes every scope; an unknown route is simply 404");
        continue;
      }
      assert.equal(forbidden.status, 403, `${scope} ${fm} ${fp}`);
      assert.equal(forbidden.json.code, 7007);
      assert.equal(forbidden.json.error, "insufficient_scope");
    }
  });

  it("runs a key's life: create (token once) → use → last_used_at → rotate with grace → revoke → 401", async () => {
    const created = await s.api.post("/admin/v1/keys", {
      name: "ci",
      scopes: ["links:read"],
      description: "CI pipeline",
    });
    assert.equal(created.status, 201);
    const { id, token } = created.json.data;
    assert.match(token, /^jmp_[0-9A-Za-z]{49}$/);
    assert.ok(created.headers.get("etag"));
    const read = await s.api.get(`/admin/v1/keys/${id}`);
    assert.equal(read.json.data.token, undefined, "the token is never shown again");
    assert.ok(!read.text.includes(token) && !read.text.includes(sha256Hex(token)));
    assert.equal(read.json.data.display, `${token.slice(0, 8)}…${token.slice(-4)}`);
    const client = new Client(s.url, { authorization: `Bearer ${token}` });
    assert.equal((await client.get("/admin/v1/links")).status, 200);
    const who = await client.get("/admin/v1/auth/whoami");
    assert.deepEqual(
      [who.json.data.actor, who.json.data.key_id, who.json.data.name, who.json.data.scopes],
      ["api_key", id, "ci", ["links:read"]],
    );
    let used: string | null = null;
    for (let i = 0; i < 50 && !used; i++) {
      used = (await s.api.get(`/admin/v1/keys/${id}`)).json.data.last_used_at;
      if (!used) await sleep(20);
    }
    assert.match(used ?? "", /^\d{4}-/);

    const rotated = await s.api.post(`/admin/v1/keys/${id}/rotate`, { grace_seconds: 1 });
    assert.equal(rotated.status, 200);
    const fresh = new Client(s.url, { authorization: `Bearer ${rotated.json.data.token}` });
    assert.equal((await fresh.get("/admin/v1/links")).status, 200);
    assert.equal(
      (await client.get("/admin/v1/links")).status,
      200,
      "the old token works during the grace period",
    );
    await sleep(1100);
    assert.equal((await client.get("/admin/v1/links")).status, 401, "and not after it");

    const revoked = await s.api.delete(`/admin/v1/keys/${id}`);
    assert.equal(revoked.status, 204);
    assert.equal((await fresh.get("/admin/v1/links")).status, 401);
    const gone = await s.api.get(`/admin/v1/keys/${id}`);
    assert.equal(gone.status, 404);
    assert.equal(gone.json.code, 7000);
    const listed = await s.api.get("/admin/v1/keys?include_revoked=true");
    assert.ok(
      listed.json.data.some((k: { id: string; revoked_at: string | null }) => k.id === id && k.revoked_at),
    );
    assert.equal(
      (await s.api.post("/admin/v1/keys", { name: "ci", scopes: ["links:read"] })).status,
      201,
      "a revoked key frees its name",
    );
  });

  it("any key may revoke itself (DELETE /auth/api-key, for jmp logout); other credentials get a 400", async () => {
    const reader = await mint(s, "self-revoking-reader", ["links:read"]);
    assert.equal((await reader.client.request("DELETE", "/admin/v1/auth/api-key")).status, 204);
    assert.equal((await reader.client.get("/admin/v1/links")).status, 401);
    const listed = await s.api.get("/admin/v1/keys?include_revoked=true");
    assert.ok(listed.json.data.find((k: { id: string }) => k.id === reader.id).revoked_at);
    const bootstrap = await s.api.request("DELETE", "/admin/v1/auth/api-key");
    assert.equal(bootstrap.status, 400);
    assert.match(bootstrap.json.message, /only an API key can revoke itself/);
    assert.equal((await s.anon.request("DELETE", "/admin/v1/auth/api-key")).status, 401);
  });

  it("refuses duplicate names (409/7001 with the existing id) and scope escalation (403/7007)", async () => {
    const first = await mint(s, "dup-name", ["links:read"]);
    const again = await s.api.post("/admin/v1/keys", { name: "dup-name", scopes: ["links:read"] });
    assert.equal(again.status, 409);
    assert.equal(again.json.code, 7001);
    assert.equal(again.json.details.existing_id, first.id);
    const manager = await mint(s, "manager", ["keys:manage"]);
    for (const scopes of [["admin"], ["links:read"], ["keys:manage", "config:write"]]) {
      const r = await manager.client.post("/admin/v1/keys", {
        name: `esc-${scopes.length}-${scopes[0]!.length}`,
        scopes,
      });
      assert.equal(r.status, 403, JSON.stringify(scopes));
      assert.equal(r.json.code, 7007);
    }
    assert.equal(
      (await manager.client.post("/admin/v1/keys", { name: "sub-manager", scopes: ["keys:manage"] })).status,
      201,
    );
  });

  it("acts on an existing key only for a caller that holds every scope of it (403, nothing changed)", async () => {
    const victim = await mint(s, "victim-admin", ["admin"]);
    const reader = await mint(s, "victim-reader", ["links:read", "config:read"]);
    const manager = await mint(s, "manager-only", ["keys:manage", "links:write"]);
    const before = await s.api.get(`/admin/v1/keys/${victim.id}`);
    const apply = (keys: unknown[], prune = false) =>
      manager.client.post(`/admin/v1/apply${prune ? "?prune=true&owner=esc" : ""}`, {
        apiVersion: "jmp/v1",
        keys,
      });
    for (const target of [victim, reader]) {
      const name = target === victim ? "victim-admin" : "victim-reader";
      const attempts = [
        await manager.client.post(`/admin/v1/keys/${target.id}/rotate`, {}),
        await manager.client.delete(`/admin/v1/keys/${target.id}`),
        await manager.client.request("PATCH", `/admin/v1/keys/${target.id}`, {
          json: { description: "mine" },
        }),
        await manager.client.request("PATCH", `/admin/v1/keys/${target.id}`, {
          json: { scopes: ["links:write"] },
        }),
        await manager.client.put(`/admin/v1/keys/by-name/${name}`, {
          token_sha256: sha256Hex(generateApiKey()),
          scopes: ["links:write"],
        }),
      ];
      for (const r of attempts) {
        assert.equal(r.status, 403, `${name}: ${r.text}`);
        assert.equal(r.json.error, "insufficient_scope");
        assert.ok(!r.text.includes("jmp_"), "no token in the refusal");
      }
      const viaApply = await apply([
        { name, token_sha256: sha256Hex(generateApiKey()), scopes: ["links:write"] },
      ]);
      assert.equal(viaApply.status, 400, viaApply.text);
      assert.match(viaApply.json.fields[0].message, /scope\(s\) you do not hold/);
      assert.equal((await target.client.get("/admin/v1/auth/whoami")).status, 200, `${name} still works`);
    }
    const after = await s.api.get(`/admin/v1/keys/${victim.id}`);
    assert.equal(after.headers.get("etag"), before.headers.get("etag"), "the admin key is unchanged");

    // Prune through apply: a key this owner made with scopes the caller lacks is not revoked either.
    const made = await s.api.post("/admin/v1/apply?owner=esc", {
      apiVersion: "jmp/v1",
      keys: [{ name: "esc-admin", token_sha256: sha256Hex(generateApiKey()), scopes: ["admin"] }],
    });
    assert.equal(made.status, 200, made.text);
    const pruned = await apply([], true);
    assert.equal(pruned.status, 400, pruned.text);
    assert.match(pruned.text, /esc-admin/);
    const list = await s.api.get("/admin/v1/keys");
    assert.ok(list.json.data.some((k: { name: string }) => k.name === "esc-admin"));
  });

  it("a revoked key's digest can be declared again: by name, and through apply", async () => {
    const token = generateApiKey();
    const digest = sha256Hex(token);
    const body = { token_sha256: digest, scopes: ["links:read"] };
    const first = await s.api.put("/admin/v1/keys/by-name/redeclared", body);
    assert.equal(first.status, 201, first.text);
    assert.equal((await s.api.delete(`/admin/v1/keys/${first.json.data.id}`)).status, 204);
    const client = new Client(s.url, { authorization: `Bearer ${token}` });
    assert.equal((await client.get("/admin/v1/links")).status, 401);

    const again = await s.api.put("/admin/v1/keys/by-name/redeclared", body);
    assert.equal(again.status, 201, again.text);
    assert.equal((await client.get("/admin/v1/links")).status, 200, "works again");
    assert.equal((await s.api.delete(`/admin/v1/keys/${again.json.data.id}`)).status, 204);

    const doc = {
      apiVersion: "jmp/v1",
      keys: [{ name: "redeclared", token_sha256: digest, scopes: ["links:read"] }],
    };
    const applied = await s.api.post("/admin/v1/apply", doc);
    assert.equal(applied.status, 200, applied.text);
    assert.equal((await client.get("/admin/v1/links")).status, 200);

    // The same digest under another active name is a clear 409, not a 500.
    const clash = await s.api.put("/admin/v1/keys/by-name/redeclared-2", body);
    assert.equal(clash.status, 409, clash.text);
    assert.equal(clash.json.error, "key_token_taken");
    const clashApply = await s.api.post("/admin/v1/apply", {
      apiVersion: "jmp/v1",
      keys: [{ name: "redeclared-3", token_sha256: digest, scopes: ["links:read"] }],
    });
    assert.equal(clashApply.status, 400, clashApply.text);
    assert.equal(clashApply.json.fields[0].field, "keys[0].token_sha256");
  });

  it("identical PUT /keys/by-name requests at once all succeed (one 201, the rest 200)", async () => {
    for (let round = 0; round < 5; round++) {
      const body = { token_sha256: sha256Hex(generateApiKey()), scopes: ["links:read"] };
      const answers = await Promise.all(
        Array.from({ length: 8 }, () => s.api.put(`/admin/v1/keys/by-name/concurrent-${round}`, body)),
      );
      const statuses = answers.map((r) => r.status).sort();
      assert.deepEqual(
        statuses,
        [200, 200, 200, 200, 200, 200, 200, 201],
        answers.map((r) => r.text).join("\n"),
      );
      assert.equal(new Set(answers.map((r) => r.json.data.id)).size, 1);
    }
  });

  it("updates with If-Match (412/7006 on a stale ETag)", async () => {
    const created = await s.api.post("/admin/v1/keys", { name: "patchme", scopes: ["links:read"] });
    const etag = created.headers.get("etag")!;
    const ok = await s.api.request("PATCH", `/admin/v1/keys/${created.json.data.id}`, {
      json: { description: "v2" },
      headers: { "if-match": etag },
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.json.data.description, "v2");
    assert.notEqual(ok.headers.get("etag"), etag);
    const stale = await s.api.request("PATCH", `/admin/v1/keys/${created.json.data.id}`, {
      json: { description: "v3" },
      headers: { "if-match": etag },
    });
    assert.equal(stale.status, 412);
    assert.equal(stale.json.code, 7006);
    const scoped = await s.api.request("PATCH", `/admin/v1/keys/${created.json.data.id}`, {
      json: { scopes: ["links:read", "links:write"] },
    });
    assert.deepEqual(scoped.json.data.scopes, ["links:read", "links:write"]);
  });

  it("upserts by name with a client-supplied digest: idempotent, and the server never sees the token", async () => {
    const token = generateApiKey();
    const body = { token_sha256: sha256Hex(token), scopes: ["links:read"], description: "from terraform" };
    const first = await s.api.put("/admin/v1/keys/by-name/terraform", body);
    assert.equal(first.status, 201, first.text);
    assert.equal(first.json.data.changed, true);
    const same = await s.api.put("/admin/v1/keys/by-name/terraform", body);
    assert.equal(same.status, 200);
    assert.equal(same.json.data.changed, false);
    assert.equal(same.json.data.id, first.json.data.id);
    assert.equal(
      (await new Client(s.url, { authorization: `Bearer ${token}` }).get("/admin/v1/links")).status,
      200,
    );
    const changed = await s.api.put("/admin/v1/keys/by-name/terraform", { ...body, scopes: ["links:write"] });
    assert.equal(changed.json.data.changed, true);
    assert.equal(
      (await new Client(s.url, { authorization: `Bearer ${token}` }).get("/admin/v1/links")).status,
      403,
    );
  });

  it("lists the bootstrap key read-only, by fingerprint", async () => {
    const list = await s.api.get("/admin/v1/keys");
    const fingerprint = sha256Hex(BOOTSTRAP_KEY).slice(0, 8);
    const entry = list.json.data.find((k: { source: string }) => k.source === "env");
    assert.equal(entry.id, `bootstrap:${fingerprint}`);
    assert.ok(!list.text.includes(BOOTSTRAP_KEY) && !list.text.includes(sha256Hex(BOOTSTRAP_KEY)));
    for (const r of [
      await s.api.request("PATCH", `/admin/v1/keys/${entry.id}`, { json: { description: "x" } }),
      await s.api.delete(`/admin/v1/keys/${entry.id}`),
      await s.api.post(`/admin/v1/keys/${entry.id}/rotate`, {}),
    ]) {
      assert.equal(r.status, 409);
      assert.equal(r.json.code, 7004);
    }
  });

  it("answers unknown, malformed, broken-checksum and revoked tokens with byte-identical 401s", async () => {
    const revoked = await mint(s, "to-revoke", ["links:read"]);
    await s.api.delete(`/admin/v1/keys/${revoked.id}`);
    const valid = generateApiKey();
    const broken = `${valid.slice(0, -1)}${valid.endsWith("A") ? "B" : "A"}`;
    const bodies = new Set<string>();
    for (const token of [generateApiKey(), "jmp_short", broken, revoked.token, "x".repeat(60)]) {
      const r = await new Client(s.url, { authorization: `Bearer ${token}` }).get("/admin/v1/links");
      assert.equal(r.status, 401);
      assert.equal(r.headers.get("www-authenticate"), "Bearer");
      bodies.add(r.text);
    }
    assert.equal(bodies.size, 1);
  });

  it("answers hostile input to key endpoints with 4xx and creates nothing", async () => {
    const before = (await s.api.get("/admin/v1/keys")).json.data.length;
    const bodies: unknown[] = [
      { name: "", scopes: ["admin"] },
      { name: "bootstrap-x", scopes: ["admin"] },
      { name: "a b", scopes: ["admin"] },
      { name: "x".repeat(100), scopes: ["admin"] },
      { name: "ok1", scopes: [] },
      { name: "ok2", scopes: ["root"] },
      { name: "ok3", scopes: "admin" },
      { name: "ok4", scopes: ["admin"], expires_at: "yesterday" },
      { name: "ok5", scopes: ["admin"], expires_at: "2001-01-01T00:00:00Z" },
      { name: "ok6", scopes: ["admin"], description: "a\u0000b" },
      { name: "ok7", scopes: ["admin"], token: "jmp_chosen" },
    ];
    for (const body of bodies) {
      const r = await s.api.post("/admin/v1/keys", body);
      assert.ok(r.status >= 400 && r.status < 500, `${JSON.stringify(body).slice(0, 60)} → ${r.status}`);
      assert.equal(typeof r.json.code, "number");
    }
    const badDigest = await s.api.put("/admin/v1/keys/by-name/tf2", {
      token_sha256: "nothex",
      scopes: ["admin"],
    });
    assert.equal(badDigest.status, 400);
    const badGrace = await s.api.post(
      `/admin/v1/keys/${(await mint(s, "grace", ["links:read"])).id}/rotate`,
      { grace_seconds: 999999 },
    );
    assert.equal(badGrace.status, 400);
    assert.equal((await s.api.get("/admin/v1/keys")).json.data.length, before + 1);
  });

  it("rate-limits failing credentials per IP (429 + Retry-After) without slowing valid keys", async () => {
    const good = await mint(s, "still-works", ["links:read"]);
    const bad = new Client(s.url, { authorization: `Bearer ${generateApiKey()}` });
    let limited = null;
    for (let i = 0; i < 30 && !limited; i++) {
      const r = await bad.get("/admin/v1/links");
      if (r.status === 429) limited = r;
    }
    assert.ok(limited, "expected a 429");
    assert.match(limited.headers.get("retry-after") ?? "", /^\d+$/);
    assert.equal((await good.client.get("/admin/v1/links")).status, 200);
  });
});

describe("the bootstrap key's scopes and expiry", () => {
  it("JMP_BOOTSTRAP_API_KEY_SCOPES limits it; it can mint only what it holds", async () => {
    const s = await startServer("sqlite", { JMP_BOOTSTRAP_API_KEY_SCOPES: "keys:manage, links:read" });
    try {
      assert.equal((await s.api.get("/admin/v1/links")).status, 200);
      assert.equal((await s.api.get("/admin/v1/config")).status, 403);
      assert.deepEqual((await s.api.get("/admin/v1/auth/whoami")).json.data.scopes, [
        "links:read",
        "keys:manage",
      ]);
      assert.equal(
        (await s.api.post("/admin/v1/keys", { name: "reader", scopes: ["links:read"] })).status,
        201,
      );
      assert.equal(
        (await s.api.post("/admin/v1/keys", { name: "writer", scopes: ["links:write"] })).status,
        403,
      );
    } finally {
      await s.close();
    }
  });

  it("JMP_BOOTSTRAP_API_KEY_EXPIRES_AT in the past makes it useless (another credential exists)", async () => {
    const s = await startServer("sqlite", { JMP_BOOTSTRAP_API_KEY_EXPIRES_AT: "2001-01-01T00:00:00Z" });
    try {
      assert.equal((await s.api.get("/admin/v1/links")).status, 401);
    } finally {
      await s.close();
    }
  });
});

describe("revocation across instances", () => {
  let a: TestServer;
  let b: TestServer;
  before(async () => {
    a = await startServer("sqlite");
    b = await startServer("sqlite", {}, a.db);
  });
  after(async () => {
    await b.close();
    await a.close();
  });

  it("a key revoked on A is refused by B within 1 s (B had it cached)", async () => {
    const key = await mint(a, "shared", ["links:read"]);
    const onB = new Client(b.url, { authorization: `Bearer ${key.token}` });
    assert.equal((await onB.get("/admin/v1/links")).status, 200, "B caches the key");
    await a.api.delete(`/admin/v1/keys/${key.id}`);
    const started = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - started < 1000) {
      status = (await onB.get("/admin/v1/links")).status;
      if (status === 200) await sleep(20);
    }
    assert.equal(status, 401);
  });
});
