/** `jmp config …` offline (directly on the database) and online (through a running server's API). */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { generateApiKey, sha256Hex } from "../src/auth/api-key-format.js";
import { Client } from "./support/http.js";
import { runJmp, type SpawnedJmp, spawnJmp } from "./support/server.js";

function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), "jmp-cli-"));
}

describe("jmp config, offline", () => {
  const dir = tempDir();
  const env = { JMP_DATA_DIR: dir };

  before(async () => {
    const migrated = await runJmp(["migrate"], env);
    assert.equal(migrated.code, 0, migrated.stderr);
  });

  it("acts on the server's database or refuses: it names it and never creates one", async () => {
    const elsewhere = tempDir();
    for (const args of [
      ["config", "list"],
      ["config", "set", "features.random_code_length", "8"],
    ]) {
      const refused = await runJmp(args, { JMP_DATA_DIR: elsewhere });
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /no database at .*jmp\.db\. Run this command with the server's settings/);
    }
    const reset = await runJmp(["reset-password"], { JMP_DATA_DIR: elsewhere }, "a-new-password-123\n");
    assert.equal(reset.code, 1);
    assert.doesNotMatch(reset.stdout, /updated/);
    assert.deepEqual(readdirSync(elsewhere), [], "nothing was created");

    const found = await runJmp(["config", "get", "features.random_code_length"], env);
    assert.equal(found.code, 0, found.stderr);
    assert.equal(found.stderr, `jmp: database: SQLite ${path.join(dir, "jmp.db")}\n`);
  });

  it("refuses a database that is not migrated, instead of migrating it behind the server's back", async () => {
    const empty = tempDir();
    writeFileSync(path.join(empty, "jmp.db"), "");
    const refused = await runJmp(["config", "list"], { JMP_DATA_DIR: empty });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /holds no jmp data yet: start the server once, or run `jmp migrate`/);
  });

  it("sets, gets, lists and resets keys, recording the actor cli", async () => {
    const set = await runJmp(["config", "set", "features.random_code_length", "008"], env);
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stdout, "features.random_code_length = 8\n");
    assert.equal((await runJmp(["config", "get", "features.random_code_length"], env)).stdout, "8\n");
    const list = JSON.parse((await runJmp(["config", "list", "--json"], env)).stdout);
    assert.equal(list.find((i: { key: string }) => i.key === "features.random_code_length").source, "db");
    const history = JSON.parse(
      (await runJmp(["config", "history", "features.random_code_length", "--json"], env)).stdout,
    );
    assert.deepEqual([history[0].old_value, history[0].new_value, history[0].changed_by], ["6", "8", "cli"]);
    assert.equal(
      (await runJmp(["config", "reset", "features.random_code_length"], env)).stdout,
      "features.random_code_length = 6\n",
    );
  });

  it("refuses invalid values and unknown keys with exit code 1 and a clear message", async () => {
    const bad = await runJmp(["config", "set", "cors.max_age", "-1"], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Invalid value for 'cors.max_age': must be an integer from 0 to 86400/);
    const unknown = await runJmp(["config", "get", "no.such"], env);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /Config key 'no.such' not found/);
  });

  it("takes secrets from stdin, never as arguments, and stores them hashed", async () => {
    const argument = await runJmp(["config", "set", "api.health_token", "health-token-as-argument"], env);
    assert.equal(argument.code, 1);
    assert.match(argument.stderr, /is a secret: give it on stdin/);
    const stdin = await runJmp(["config", "set", "api.health_token"], env, "health-token-from-stdin\n");
    assert.equal(stdin.code, 0, stdin.stderr);
    assert.equal(stdin.stdout, "api.health_token = [REDACTED]\n");
    assert.ok(!readFileSync(path.join(dir, "jmp.db")).includes(Buffer.from("health-token-from-stdin")));
  });

  it("exports without secrets by default, with their stored forms on request, and imports back", async () => {
    const plain = JSON.parse((await runJmp(["config", "export"], env)).stdout);
    assert.equal(plain.version, "1.0");
    assert.ok(
      !plain.configs.some((c: { key: string }) => c.key === "api.health_token" || c.key === "api.jwt_secret"),
    );
    const file = path.join(dir, "export.json");
    const withSecrets = await runJmp(["config", "export", file, "--include-secrets"], env);
    assert.equal(withSecrets.code, 0, withSecrets.stderr);
    const document = JSON.parse(readFileSync(file, "utf8"));
    const health = document.configs.find((c: { key: string }) => c.key === "api.health_token");
    assert.match(health.value, /^sha256:[0-9a-f]{64}$/);

    const other = { JMP_DATA_DIR: tempDir() };
    assert.equal((await runJmp(["migrate"], other)).code, 0);
    const imported = await runJmp(["config", "import", file], other);
    assert.equal(imported.code, 0, imported.stderr);
    const again = JSON.parse(readFileSync(file, "utf8"));
    const reExported = JSON.parse((await runJmp(["config", "export", "--include-secrets"], other)).stdout);
    assert.deepEqual(
      reExported.configs.map((c: { key: string; value: string }) => [c.key, c.value]),
      again.configs.map((c: { key: string; value: string }) => [c.key, c.value]),
    );

    writeFileSync(
      path.join(dir, "bad.json"),
      JSON.stringify({ configs: [{ key: "cors.max_age", value: "-3" }] }),
    );
    const bad = await runJmp(["config", "import", path.join(dir, "bad.json")], other);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Invalid value for 'cors.max_age'/);
  });
});

describe("jmp config against a running server", () => {
  const key = generateApiKey();
  const dir = tempDir();
  let server: SpawnedJmp;
  before(async () => {
    server = await spawnJmp({ JMP_DATA_DIR: dir, JMP_BOOTSTRAP_API_KEY: key });
  });
  after(() => server.stop());

  it("an offline write applies to the running server without a restart", async () => {
    const r = await runJmp(["config", "set", "features.default_url", "https://from-the-cli.example/"], {
      JMP_DATA_DIR: dir,
    });
    assert.equal(r.code, 0, r.stderr);
    let location: string | null = null;
    for (let i = 0; i < 50 && location !== "https://from-the-cli.example/"; i++) {
      location = (await new Client(server.url).get("/")).headers.get("location");
      if (location !== "https://from-the-cli.example/") await sleep(20);
    }
    assert.equal(location, "https://from-the-cli.example/");
    const audit = await new Client(server.url, { authorization: `Bearer ${key}` }).get(
      "/admin/v1/audit?actor=cli",
    );
    assert.ok(audit.json.data.some((e: { object_id: string }) => e.object_id === "features.default_url"));
  });

  it("works through the API with JMP_URL and JMP_TOKEN_FILE, recorded as the calling key", async () => {
    const tokenFile = path.join(dir, "token");
    writeFileSync(tokenFile, `${key}\n`);
    const online = { JMP_URL: server.url, JMP_TOKEN_FILE: tokenFile };
    const set = await runJmp(["config", "set", "cors.max_age", "120"], online);
    assert.equal(set.code, 0, set.stderr);
    assert.equal((await runJmp(["config", "get", "cors.max_age"], online)).stdout, "120\n");
    const history = JSON.parse(
      (await runJmp(["config", "history", "cors.max_age", "--json"], online)).stdout,
    );
    assert.equal(history[0].changed_by, `bootstrap:${sha256Hex(key).slice(0, 8)}`);
    const secrets = await runJmp(["config", "export", "--include-secrets"], online);
    assert.equal(secrets.code, 1);
    assert.match(secrets.stderr, /only be exported offline/);
    const denied = await runJmp(["config", "list"], { JMP_URL: server.url, JMP_TOKEN: generateApiKey() });
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /Unauthorized/);
  });
});

describe("jmp keys, whoami and bootstrap check", () => {
  const bootstrap = generateApiKey();
  const dir = tempDir();
  let server: SpawnedJmp;
  before(async () => {
    server = await spawnJmp({ JMP_DATA_DIR: dir, JMP_BOOTSTRAP_API_KEY: bootstrap });
  });
  after(() => server.stop());

  it("generates tokens and hashes them offline", async () => {
    const generated = JSON.parse((await runJmp(["keys", "generate", "--json"], {})).stdout);
    assert.match(generated.token, /^jmp_[0-9A-Za-z]{49}$/);
    assert.equal(generated.sha256, `sha256:${sha256Hex(generated.token)}`);
    const hashed = await runJmp(["keys", "hash"], {}, `${generated.token}\n`);
    assert.equal(hashed.stdout, `${generated.sha256}\n`);
  });

  it("checks the bootstrap settings, naming the variable and never the value", async () => {
    const good = await runJmp(["bootstrap", "check"], {
      JMP_BOOTSTRAP_API_KEY: bootstrap,
      JMP_BOOTSTRAP_API_KEY_SCOPES: "links:read",
    });
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, new RegExp(`fingerprints ${sha256Hex(bootstrap).slice(0, 8)}`));
    assert.match(good.stdout, /scopes: links:read/);
    assert.ok(!good.stdout.includes(bootstrap));
    const malformed = await runJmp(["bootstrap", "check"], { JMP_BOOTSTRAP_API_KEY: "sha256:zz-secret-zz" });
    assert.equal(malformed.code, 2);
    assert.match(malformed.stderr, /JMP_BOOTSTRAP_API_KEY/);
    assert.ok(!malformed.stderr.includes("zz-secret-zz"));
    const both = await runJmp(["bootstrap", "check"], {
      JMP_BOOTSTRAP_API_KEY: bootstrap,
      JMP_BOOTSTRAP_API_KEY_FILE: "/dev/null",
    });
    assert.equal(both.code, 2);
    const scopes = await runJmp(["bootstrap", "check"], {
      JMP_BOOTSTRAP_API_KEY: bootstrap,
      JMP_BOOTSTRAP_API_KEY_SCOPES: "root",
    });
    assert.equal(scopes.code, 2);
    assert.match(scopes.stderr, /JMP_BOOTSTRAP_API_KEY_SCOPES: unknown scope/);
    const expired = await runJmp(["bootstrap", "check"], {
      JMP_BOOTSTRAP_API_KEY: bootstrap,
      JMP_BOOTSTRAP_API_KEY_EXPIRES_AT: "2001-01-01T00:00:00Z",
    });
    assert.equal(expired.code, 1);
  });

  it("creates, lists, shows, rotates and revokes keys through the API; whoami tells who is calling", async () => {
    const online = { JMP_URL: server.url, JMP_TOKEN: bootstrap };
    assert.match((await runJmp(["whoami"], online)).stdout, /^bootstrap bootstrap:[0-9a-f]{8}: admin\n$/);
    const secretFile = path.join(dir, "ci.token");
    const created = await runJmp(
      [
        "keys",
        "create",
        "--name",
        "ci",
        "--scope",
        "links:read",
        "links:write",
        "--secret-file",
        secretFile,
        "--json",
      ],
      online,
    );
    assert.equal(created.code, 0, created.stderr);
    const key = JSON.parse(created.stdout);
    assert.equal(key.token, undefined, "with --secret-file the token is not printed");
    const token = readFileSync(secretFile, "utf8").trim();
    assert.match(token, /^jmp_/);
    assert.match(
      (await runJmp(["whoami"], { JMP_URL: server.url, JMP_TOKEN: token })).stdout,
      /^api_key key_\S+ \(ci\): links:read,links:write\n$/,
    );
    assert.match((await runJmp(["keys", "list"], online)).stdout, /ci\s+links:read,links:write/);
    assert.equal(JSON.parse((await runJmp(["keys", "show", key.id, "--json"], online)).stdout).name, "ci");
    const rotated = await runJmp(["keys", "rotate", key.id], online);
    assert.match(rotated.stdout, /^jmp_\S+\n$/);
    assert.equal(
      (await runJmp(["whoami"], { JMP_URL: server.url, JMP_TOKEN: token })).code,
      1,
      "no grace: the old token is gone",
    );
    assert.equal((await runJmp(["keys", "revoke", key.id], online)).code, 0);
    const after = await runJmp(["whoami"], { JMP_URL: server.url, JMP_TOKEN: rotated.stdout.trim() });
    assert.equal(after.code, 1);
    assert.match(after.stderr, /Unauthorized/);
  });
});

describe("jmp itself: version, help and mistyped commands", () => {
  const version = (
    JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
  ).version;

  it("prints its version with --version, -V and `version` (--json adds the Node.js version)", async () => {
    for (const args of [["--version"], ["-V"], ["version"]]) {
      const r = await runJmp(args, {});
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${version}\n`);
    }
    const detailed = JSON.parse((await runJmp(["version", "--json"], {})).stdout);
    assert.deepEqual(detailed, { version, node: process.versions.node });
  });

  it("answers a mistyped command with 'did you mean' and exit code 2, and never starts a server", async () => {
    const dir = tempDir();
    const typo = await runJmp(["lnks", "list"], { JMP_DATA_DIR: dir, JMP_PORT: "0" });
    assert.equal(typo.code, 2);
    assert.equal(typo.stderr, "jmp: unknown command 'lnks' (did you mean 'links'?); see jmp --help\n");
    assert.equal(typo.stdout, "");
    const unknown = await runJmp(["frobnicate"], { JMP_DATA_DIR: dir, JMP_PORT: "0" });
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stderr, "jmp: unknown command 'frobnicate'; see jmp --help\n");
    assert.deepEqual(readdirSync(dir), [], "no database was created: serve never ran");
    const help = await runJmp(["help"], {});
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: jmp/);
  });

  it("jmp migrate names the database it creates or migrates", async () => {
    const dir = tempDir();
    const r = await runJmp(["migrate"], { JMP_DATA_DIR: dir });
    assert.equal(r.code, 0);
    assert.equal(r.stderr, `jmp: database: SQLite ${path.join(dir, "jmp.db")}\n`);
  });
});
