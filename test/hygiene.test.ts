/**
 * Secret hygiene: a full scenario at the most verbose log level — including a multipart CSV import with a bearer
 * token and with a cookie session, and one request to every operation of the OpenAPI description — then every
 * log line and every response (except the one create/rotate answer that hands a token out) is searched for every
 * secret used and for every 16-character piece of it.
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

    // CSV import, where the multipart plugin logs the whole request at trace level: bearer, then session + CSRF.
    const csv = () => {
      const form = new FormData();
      form.append("file", new Blob(["code,target\nimp-1,https://i.example\n"]), "links.csv");
      return form;
    };
    keep(await api.request("POST", "/admin/v1/links/import?mode=overwrite", { body: csv() }));
    const csrf = session.cookies.get("csrf_token")!;
    secrets.add(csrf);
    keep(
      await session.request("POST", "/admin/v1/links/import?mode=overwrite", {
        body: csv(),
        headers: { "x-csrf-token": csrf },
      }),
    );
    keep(
      await session.request("PUT", "/admin/v1/links/h1", {
        json: { target: "https://h2.example" },
        headers: { "x-csrf-token": csrf },
      }),
    );
    // A protected link answered with its password in a header.
    keep(await new Client(jmp.url).get("/h1", { "x-link-password": "link-secret-password" }));

    // One request to every documented operation, with the bootstrap key and with the session.
    const spec = (await api.get("/admin/v1/openapi.json")).json as {
      paths: Record<string, Record<string, unknown>>;
    };
    let operations = 0;
    for (const [template, methods] of Object.entries(spec.paths)) {
      const url = template.replace(/\{[^}]+\}/g, "h1");
      for (const method of Object.keys(methods)) {
        if (!["get", "post", "put", "patch", "delete"].includes(method)) continue;
        if (/logout|rotate|\/keys\/\{id\}$/.test(template) && method !== "get") continue;
        operations++;
        // The state export lists each key's token digest by design (an apply document declares keys by digest;
        // a digest is no credential): it is checked for everything but digests below.
        if (template === "/admin/v1/export") {
          const exported = await api.get(url);
          assert.ok(
            ![adminPassword, bootstrap, csrf, "link-secret-password"].some((x) => exported.text.includes(x)),
          );
          continue;
        }
        keep(await api.request(method.toUpperCase(), url, method === "get" ? {} : { json: {} }));
        keep(
          await session.request(
            method.toUpperCase(),
            url,
            method === "get" ? {} : { json: {}, headers: { "x-csrf-token": csrf } },
          ),
        );
      }
    }
    assert.ok(operations > 30, `every operation was driven (${operations})`);
  } finally {
    assert.equal(await jmp.stop(), 0);
  }
  const logs = jmp.stdout() + jmp.stderr();
  assert.ok(logs.split("\n").length > 20, "the scenario was logged");
  assert.match(logs, /"level":10/, "trace lines were written");
  for (const secret of secrets) {
    assert.ok(!logs.includes(secret), `a log line contains a secret (${secret.slice(0, 6)}…)`);
    for (let i = 0; i + 16 <= secret.length; i++) {
      const piece = secret.slice(i, i + 16);
      assert.ok(
        !logs.includes(piece),
        `a log line contains a 16-character piece of a secret (${piece.slice(0, 6)}…)`,
      );
    }
    for (const reply of seen) {
      const exposed =
        reply.text.includes(secret) ||
        // Set-Cookie is how login and refresh hand a session out, as a create answer hands out a key.
        [...reply.headers.entries()].some(([name, v]) => name !== "set-cookie" && v.includes(secret));
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
