/**
 * The smoke suite: what every supported Node.js line must do (test/ship/node-lines.test.ts runs it, with one
 * contract file per engine, on Node 22 and 24): migrate, start, log in with the password, create a link with the
 * session cookie and CSRF token, redirect, stop cleanly.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { it } from "node:test";
import { ADMIN_PASSWORD, runJmp, spawnJmp } from "./support/server.js";

it(`smoke on Node ${process.versions.node}: migrate, serve, login, create, redirect, stop`, async () => {
  const env = {
    JMP_DATA_DIR: mkdtempSync(path.join(tmpdir(), "jmp-smoke-")),
    JMP_ADMIN_PASSWORD: ADMIN_PASSWORD,
  };
  const migrated = await runJmp(["migrate", "--json"], env);
  assert.equal(migrated.code, 0, migrated.stderr);
  assert.ok(JSON.parse(migrated.stdout).applied.length >= 5);
  const jmp = await spawnJmp(env);
  try {
    const login = await fetch(`${jmp.url}/admin/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ password: ADMIN_PASSWORD }),
    });
    assert.equal(login.status, 200);
    const cookies = login.headers.getSetCookie().map((line) => line.split(";", 1)[0]!);
    const csrf = cookies.find((c) => c.startsWith("csrf_token="))!.slice("csrf_token=".length);
    const created = await fetch(`${jmp.url}/admin/v1/links`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie: cookies.join("; "), "x-csrf-token": csrf },
      body: JSON.stringify({ code: "smoke", target: "https://smoke.example/" }),
    });
    assert.equal(created.status, 201, await created.text());
    const redirect = await fetch(`${jmp.url}/smoke`, { redirect: "manual" });
    assert.equal(redirect.status, 307);
    assert.equal(redirect.headers.get("location"), "https://smoke.example/");
  } finally {
    assert.equal(await jmp.stop(), 0);
  }
});
