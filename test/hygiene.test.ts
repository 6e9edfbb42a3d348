/**
 * Secret hygiene: a full scenario at the most verbose log level, then every log line and every response
 * (except the one create/rotate answer that hands a token out) is searched for every secret used.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { it } from "node:test";
import { generateApiKey, sha256Hex } from "../src/auth/api-key-format.js";
import { Client, type Reply } from "./support/http.js";
import { spawnJmp } from "./support/server.js";

it("no secret appears in any log line or non-create response", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "jmp-hygiene-"));
  const adminPassword = "hygiene-admin-password";
  const bootstrap = generateApiKey();
  const env = {
    JMP_DATA_DIR: dir,
    JMP_LOG_LEVEL: "trace",
    JMP_ADMIN_PASSWORD: adminPassword,
    JMP_BOOTSTRAP_API_KEY: bootstrap,
  };
  const jmp = await spawnJmp(env);
  const secrets = new Set<string>([adminPassword, bootstrap, sha256Hex(bootstrap), "$argon2id$"]);
  const seen: Reply[] = [];
  const keep = (r: Reply) => {
    seen.push(r);
    return r;
  };
  try {
    const api = new Client(jmp.url, { authorization: `Bearer ${bootstrap}` });
    const session = new Client(jmp.url);
    keep(await session.post("/admin/v1/auth/login", { password: "a-wrong-guess-pw" }));
    keep(await session.post("/admin/v1/auth/login", { password: adminPassword }));
    for (const name of ["jmp_access", "jmp_refresh"]) secrets.add(session.cookies.get(name)!);
    keep(await session.post("/admin/v1/auth/refresh"));
    for (const name of ["jmp_access", "jmp_refresh"]) secrets.add(session.cookies.get(name)!);
    keep(await session.get("/admin/v1/links?search=x"));

    secrets.add("link-secret-password");
    keep(
      await api.post("/admin/v1/links", {
        code: "h1",
        target: "https://h.example",
        password: "link-secret-password",
      }),
    );
    keep(await api.get("/admin/v1/links/h1"));
    keep(await api.get("/admin/v1/links/export"));

    const created = await api.post("/admin/v1/keys", { name: "hygiene", scopes: ["links:read"] });
    const token = created.json.data.token as string;
    secrets.add(token).add(sha256Hex(token));
    const keyClient = new Client(jmp.url, { authorization: `Bearer ${token}` });
    keep(await keyClient.get("/admin/v1/links"));
    keep(await keyClient.get(`/admin/v1/links?access_token=${token}`));
    const rotated = await api.post(`/admin/v1/keys/${created.json.data.id}/rotate`, { grace_seconds: 0 });
    secrets.add(rotated.json.data.token).add(sha256Hex(rotated.json.data.token));
    const chosen = generateApiKey();
    secrets.add(chosen);
    keep(
      await api.put("/admin/v1/keys/by-name/tf", { token_sha256: sha256Hex(chosen), scopes: ["links:read"] }),
    );
    keep(await new Client(jmp.url, { authorization: `Bearer ${chosen}` }).get("/admin/v1/auth/whoami"));
    keep(await api.get("/admin/v1/keys?include_revoked=true"));

    secrets.add("hygiene-health-token");
    keep(await api.put("/admin/v1/config/api.health_token", { value: "hygiene-health-token" }));
    keep(await new Client(jmp.url, { authorization: "Bearer hygiene-health-token" }).get("/health"));
    keep(await api.get("/admin/v1/config"));
    keep(await api.get("/admin/v1/config/api.health_token/history"));
    keep(await api.get("/admin/v1/config/api.jwt_secret"));
    keep(await api.get("/admin/v1/audit?page_size=100"));
    keep(
      await new Client(jmp.url, { authorization: `Bearer ${bootstrap.slice(0, -2)}xx` }).get(
        "/admin/v1/links",
      ),
    );
  } finally {
    assert.equal(await jmp.stop(), 0);
  }
  const logs = jmp.stdout() + jmp.stderr();
  assert.ok(logs.split("\n").length > 20, "the scenario was logged");
  for (const secret of secrets) {
    assert.ok(!logs.includes(secret), `a log line contains a secret (${secret.slice(0, 6)}…)`);
    for (const reply of seen) {
      const exposed =
        reply.text.includes(secret) ||
        [...reply.headers.values()].some((v) => v.includes(secret) && !v.startsWith("jmp_"));
      assert.ok(
        !exposed,
        `a response contains a secret (${secret.slice(0, 6)}…): ${reply.text.slice(0, 120)}`,
      );
    }
  }

  // The bootstrap key is declarative: start again without it and it no longer works.
  const again = await spawnJmp({ JMP_DATA_DIR: dir, JMP_ADMIN_PASSWORD: adminPassword });
  try {
    assert.equal(
      (await new Client(again.url, { authorization: `Bearer ${bootstrap}` }).get("/admin/v1/links")).status,
      401,
    );
  } finally {
    await again.stop();
  }
});
