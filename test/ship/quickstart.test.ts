/**
 * The README's path, as a new user takes it: `npm start` (the build is current, so it starts without
 * compiling), the generated admin password from its output, `jmp login` with that password, then online commands
 * with the stored key, and `jmp logout` revoking it.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { type Listening, ROOT, startListening } from "../support/fresh-copy.js";
import { freePort } from "../support/ports.js";
import { runJmp } from "../support/server.js";

/** `npm run jmp -- …`, the README's way to the CLI from a clone. */
function npmRunJmp(args: string[], env: Record<string, string>, input = "") {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn("npm", ["run", "--silent", "jmp", "--", ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe("quick start: npm start → jmp login → jmp links list → jmp logout", () => {
  const data = mkdtempSync(path.join(tmpdir(), "jmp-quickstart-"));
  const home = mkdtempSync(path.join(tmpdir(), "jmp-quickstart-home-"));
  const cli = { XDG_CONFIG_HOME: home };
  let server: Listening | undefined;
  let output = "";
  let url = "";

  before(async () => {
    server = await startListening("npm", ["start", "--silent"], {
      cwd: ROOT,
      port: await freePort(),
      env: { PATH: process.env.PATH, HOME: home, JMP_DATA_DIR: data },
      detached: true,
    });
    output = server.output();
    url = server.url;
  });

  after(() => server?.stop());

  it("npm start does not compile when the build is current", () => {
    assert.doesNotMatch(output, /compiling/);
  });

  it("logs in with the printed password, stores a 0600 credential, and online commands use it", async () => {
    const password = /Admin password: (\S+)/.exec(output)?.[1];
    assert.ok(password, output);
    const login = await npmRunJmp(["login", url, "--json"], cli, `${password}\n`);
    assert.equal(login.code, 0, login.stderr);
    const summary = JSON.parse(login.stdout);
    assert.deepEqual(summary.scopes, ["admin"]);
    assert.match(summary.name, /^cli-/);
    assert.ok(!login.stdout.includes("jmp_"), "the token is never printed");
    const file = path.join(home, "jmp", "credentials.json");
    assert.equal(summary.file, file);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(path.dirname(file)).mode & 0o777, 0o700);

    const set = await runJmp(["links", "set", "qs", "https://quickstart.example/"], cli);
    assert.equal(set.code, 0, set.stderr);
    const list = await npmRunJmp(["links", "list", "--json"], cli);
    assert.equal(list.code, 0, list.stderr);
    assert.ok(
      JSON.parse(list.stdout).data.some((l: { code: string }) => l.code === "qs"),
      list.stdout,
    );
    const redirect = await fetch(`${url}/qs`, { redirect: "manual" });
    assert.equal(redirect.headers.get("location"), "https://quickstart.example/");

    const wrong = await runJmp(
      ["login", url],
      { XDG_CONFIG_HOME: mkdtempSync(path.join(tmpdir(), "x-")) },
      "nope\n",
    );
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /Invalid admin token \(HTTP 401/);

    const token = JSON.parse(readFileSync(file, "utf8")).token as string;
    const logout = await runJmp(["logout"], cli);
    assert.equal(logout.code, 0, logout.stderr);
    assert.equal(logout.stdout, "API key revoked; logged out\n");
    const after = await runJmp(["links", "list"], cli);
    assert.equal(after.code, 1);
    assert.match(after.stderr, /jmp login/);
    const me = await fetch(`${url}/admin/v1/auth/whoami`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(me.status, 401, "the key is revoked on the server");
  });

  it("a second login replaces the first key and revokes it; JMP_URL and JMP_TOKEN still win", async () => {
    const password = /Admin password: (\S+)/.exec(output)![1]!;
    const first = JSON.parse(
      (await runJmp(["login", url, "--json", "--name", "laptop-1"], cli, password)).stdout,
    );
    const second = JSON.parse(
      (await runJmp(["login", url, "--json", "--name", "laptop-2", "--scope", "links:read"], cli, password))
        .stdout,
    );
    assert.deepEqual(second.scopes, ["links:read"]);
    const keys = await runJmp(["keys", "list", "--json"], {
      ...cli,
      JMP_URL: url,
      JMP_TOKEN: "jmp_not-a-valid-token-but-from-the-environment",
    });
    assert.equal(keys.code, 1, "the environment's (bad) token wins over the stored one");
    assert.match(keys.stderr, /HTTP 401/);
    const forbidden = await runJmp(["keys", "list"], cli);
    assert.equal(forbidden.code, 1, "the stored links:read key may not list keys");
    assert.match(forbidden.stderr, /HTTP 403/);
    assert.notEqual(first.key_id, second.key_id);
    assert.equal((await runJmp(["logout"], cli)).code, 0);
  });
});
