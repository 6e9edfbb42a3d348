/**
 * The `jmp` process as an operator runs it: startup settings, first start, bootstrap credentials, signals and
 * the CLI. Each test spawns the built CLI (dist/src/cli/main.js).
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { generateApiKey, sha256Hex } from "../src/auth/api-key-format.js";
import { createDatabase, ENGINES, unreachable } from "./support/engines.js";
import { Client } from "./support/http.js";
import { ADMIN_PASSWORD, runJmp, spawnJmp } from "./support/server.js";

function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), "jmp-proc-"));
}

describe("startup settings", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ JMP_PORT: "http" }, /JMP_PORT: must be an integer/],
    [{ JMP_PORT: "70000" }, /JMP_PORT/],
    [{ JMP_LOG_LEVEL: "loud" }, /JMP_LOG_LEVEL: must be one of/],
    [{ JMP_LOG_FORMAT: "xml" }, /JMP_LOG_FORMAT/],
    [{ JMP_DATABASE_URL: "oracle://db/x" }, /JMP_DATABASE_URL: unsupported/],
    [{ JMP_TRUSTED_PROXIES: "10.0.0.0/99" }, /JMP_TRUSTED_PROXIES: "10.0.0.0\/99"/],
    [{ JMP_ADMIN_PASSWORD: "short" }, /JMP_ADMIN_PASSWORD: must be at least 8/],
    [{ JMP_BOOTSTRAP_API_KEY: "too-short" }, /JMP_BOOTSTRAP_API_KEY: entry 1/],
    [
      { JMP_BOOTSTRAP_API_KEY: "sha256:abc" },
      /JMP_BOOTSTRAP_API_KEY: entry 1: sha256: must be followed by 64 hex/,
    ],
    [{ JMP_PORT: "8081", JMP_PORT_FILE: "/dev/null" }, /JMP_PORT: both JMP_PORT and JMP_PORT_FILE are set/],
    [{ JMP_CONFIG_NO__SUCH_KEY: "1" }, /JMP_CONFIG_NO__SUCH_KEY: there is no runtime key "no.such_key"/],
    [
      { JMP_CONFIG_FEATURES__RANDOM_CODE_LENGTH: "abc" },
      /JMP_CONFIG_FEATURES__RANDOM_CODE_LENGTH: invalid value for 'features.random_code_length': must be an integer/,
    ],
    [{ JMP_HEAP_GROWTH_PERCENT: "lots" }, /JMP_HEAP_GROWTH_PERCENT: must be an integer from 0 to 300/],
    [{ JMP_HEAP_GROWTH_PERCENT: "400" }, /JMP_HEAP_GROWTH_PERCENT: must be an integer from 0 to 300/],
    [{ JMP_REDIS_URL: "http://localhost" }, /JMP_REDIS_URL: must start with redis:\/\/ or rediss:\/\//],
    [{ JMP_ANALYTICS_STREAM: "kafka://broker:9092" }, /JMP_ANALYTICS_STREAM: must start with redis:\/\//],
    [
      { JMP_ANALYTICS_STREAM: "nats://127.0.0.1:4222", JMP_ANALYTICS_STREAM_NAME: "jmp.>" },
      /JMP_ANALYTICS_STREAM_NAME: must be a NATS subject without wildcards/,
    ],
    [{ JMP_ANALYTICS_STREAM_NAME: "jmp:clicks" }, /JMP_ANALYTICS_STREAM_NAME: needs JMP_ANALYTICS_STREAM/],
    [
      { JMP_BOOTSTRAP_API_KEY: generateApiKey(), JMP_BOOTSTRAP_API_KEY_EXPIRES_AT: "2001-01-01T00:00:00Z" },
      /JMP_BOOTSTRAP_API_KEY_EXPIRES_AT: is 2001-01-01T00:00:00.000Z, in the past: the bootstrap key would be refused and no other admin credential exists/,
    ],
    [
      // PHC-shaped, but a memory cost below argon2's minimum (8 KiB per lane).
      { JMP_ADMIN_PASSWORD: "$argon2id$v=19$m=4,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2g" },
      /JMP_ADMIN_PASSWORD: the \$argon2id\$ hash has m=4; it must be 32 to 1048576 KiB/,
    ],
    [
      // PHC-shaped, but a salt whose base64 does not decode.
      {
        JMP_ADMIN_PASSWORD:
          "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2Fsd$aGFzaGhhc2hoYXNoaGFzaGhhc2g",
      },
      /JMP_ADMIN_PASSWORD: the \$argon2id\$ hash cannot be used: Decoding failed/,
    ],
    [
      { JMP_ADMIN_PASSWORD_FILE: "/nonexistent/secret" },
      /JMP_ADMIN_PASSWORD_FILE: cannot read \/nonexistent\/secret \(ENOENT\)/,
    ],
  ];
  for (const [env, message] of cases) {
    it(`refuses to start on ${Object.entries(env)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ")}`, async () => {
      const r = await runJmp(["serve"], { JMP_DATA_DIR: tempDir(), ...env });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
    });
  }

  it("never prints a secret in a settings error", async () => {
    const secret = "sha256:SECRETSECRET";
    const r = await runJmp(["serve"], { JMP_DATA_DIR: tempDir(), JMP_BOOTSTRAP_API_KEY: secret });
    assert.equal(r.code, 2);
    assert.ok(!r.stderr.includes("SECRETSECRET"));
    const url = await runJmp(["serve"], {
      JMP_DATA_DIR: tempDir(),
      JMP_DATABASE_URL: "postgres://user:hunter2@[bad",
    });
    assert.equal(url.code, 2);
    assert.ok(!url.stderr.includes("hunter2"));
  });

  it("reads any setting from a _FILE (one trailing newline dropped)", async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, "password"), `${ADMIN_PASSWORD}\n`);
    const jmp = await spawnJmp({ JMP_DATA_DIR: dir, JMP_ADMIN_PASSWORD_FILE: path.join(dir, "password") });
    try {
      const r = await new Client(jmp.url).post("/admin/v1/auth/login", { password: ADMIN_PASSWORD });
      assert.equal(r.status, 200);
    } finally {
      await jmp.stop();
    }
  });
});

describe("fresh instance", () => {
  it("makes its data directory 0700 and its SQLite files 0600 (they hold the session signing secret)", async () => {
    const dir = path.join(tempDir(), "nested", "data");
    const jmp = await spawnJmp({ JMP_DATA_DIR: dir, JMP_ADMIN_PASSWORD: ADMIN_PASSWORD });
    try {
      assert.equal(statSync(dir).mode & 0o777, 0o700);
      for (const file of ["jmp.db", "jmp.db-wal", "jmp.db-shm"]) {
        assert.equal(statSync(path.join(dir, file)).mode & 0o777, 0o600, file);
      }
    } finally {
      await jmp.stop();
    }
  });

  it("starts with only JMP_BOOTSTRAP_API_KEY_FILE and is driven by that key, which is never stored", async () => {
    const dir = tempDir();
    const key = generateApiKey();
    writeFileSync(path.join(dir, "key"), `${key}\n`, { mode: 0o600 });
    const jmp = await spawnJmp({ JMP_DATA_DIR: dir, JMP_BOOTSTRAP_API_KEY_FILE: path.join(dir, "key") });
    try {
      const api = new Client(jmp.url, { authorization: `Bearer ${key}` });
      const created = await api.post("/admin/v1/links", { code: "boot", target: "https://boot.example" });
      assert.equal(created.status, 201);
      assert.equal((await api.get("/admin/v1/links/boot")).json.data.target, "https://boot.example");
      assert.equal((await new Client(jmp.url).get("/boot")).status, 307);
      assert.ok(
        !jmp.stdout().includes("Admin password"),
        "no password is generated when a bootstrap key is set",
      );
      assert.ok(!jmp.stdout().includes(key), "the key is never logged");
      assert.match(jmp.stdout(), new RegExp(sha256Hex(key).slice(0, 8)), "its fingerprint is");
    } finally {
      await jmp.stop();
    }
    const database = readFileSync(path.join(dir, "jmp.db"));
    assert.ok(!database.includes(Buffer.from(key)), "the key is not in the database file");
    assert.ok(!database.includes(Buffer.from(sha256Hex(key))), "nor its digest");
  });

  it("accepts the bootstrap key as sha256:<hex>, and two keys at once for rotation", async () => {
    const [oldKey, newKey] = [generateApiKey(), generateApiKey()];
    const jmp = await spawnJmp({
      JMP_DATA_DIR: tempDir(),
      JMP_BOOTSTRAP_API_KEY: `sha256:${sha256Hex(oldKey)}\n${newKey}`,
    });
    try {
      for (const key of [oldKey, newKey]) {
        assert.equal(
          (await new Client(jmp.url, { authorization: `Bearer ${key}` }).get("/admin/v1/links")).status,
          200,
        );
      }
      assert.equal(
        (await new Client(jmp.url, { authorization: `Bearer ${generateApiKey()}` }).get("/admin/v1/links"))
          .status,
        401,
      );
    } finally {
      await jmp.stop();
    }
  });

  it("generates an admin password on first start, prints it once, stores only its hash", async () => {
    const dir = tempDir();
    const first = await spawnJmp({ JMP_DATA_DIR: dir });
    let password: string;
    try {
      password = /Admin password: (\S+)/.exec(first.stdout())![1]!;
      assert.equal((await new Client(first.url).post("/admin/v1/auth/login", { password })).status, 200);
    } finally {
      await first.stop();
    }
    assert.ok(!readFileSync(path.join(dir, "jmp.db")).includes(Buffer.from(password)));
    const second = await spawnJmp({ JMP_DATA_DIR: dir });
    try {
      assert.ok(!second.stdout().includes("Admin password"), "not generated again");
      assert.equal((await new Client(second.url).post("/admin/v1/auth/login", { password })).status, 200);
    } finally {
      await second.stop();
    }
  });

  it("writes the generated password to JMP_INITIAL_SECRETS_FILE (0600) instead of stdout, never overwriting", async () => {
    const dir = tempDir();
    const file = path.join(dir, "initial-secrets");
    const jmp = await spawnJmp({ JMP_DATA_DIR: dir, JMP_INITIAL_SECRETS_FILE: file });
    try {
      assert.ok(!jmp.stdout().includes("Admin password"));
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const password = /^JMP_ADMIN_PASSWORD=(\S+)$/m.exec(readFileSync(file, "utf8"))![1]!;
      assert.ok(!jmp.stdout().includes(password));
      assert.equal((await new Client(jmp.url).post("/admin/v1/auth/login", { password })).status, 200);
    } finally {
      await jmp.stop();
    }
    const refused = await runJmp(["serve"], {
      JMP_DATA_DIR: tempDir(),
      JMP_INITIAL_SECRETS_FILE: file,
      JMP_PORT: "0",
    });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /JMP_INITIAL_SECRETS_FILE: .* already exists/);
  });

  it("pins the admin password from JMP_ADMIN_PASSWORD (plain or an argon2id hash)", async () => {
    const jmp = await spawnJmp({ JMP_DATA_DIR: tempDir(), JMP_ADMIN_PASSWORD: ADMIN_PASSWORD });
    try {
      assert.equal(
        (await new Client(jmp.url).post("/admin/v1/auth/login", { password: ADMIN_PASSWORD })).status,
        200,
      );
    } finally {
      await jmp.stop();
    }
    const refused = await runJmp(
      ["reset-password"],
      { JMP_DATA_DIR: tempDir(), JMP_ADMIN_PASSWORD: ADMIN_PASSWORD },
      "new-password-123\n",
    );
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /pinned by JMP_ADMIN_PASSWORD/);
  });
});

describe("credentials that stop working", () => {
  it("an expired bootstrap key beside another credential: starts, refuses the key, logs an error", async () => {
    const key = generateApiKey();
    const jmp = await spawnJmp({
      JMP_DATA_DIR: tempDir(),
      JMP_BOOTSTRAP_API_KEY: key,
      JMP_BOOTSTRAP_API_KEY_EXPIRES_AT: "2001-01-01T00:00:00Z",
      JMP_ADMIN_PASSWORD: ADMIN_PASSWORD,
    });
    try {
      const api = new Client(jmp.url, { authorization: `Bearer ${key}` });
      assert.equal((await api.get("/admin/v1/links")).status, 401);
      assert.match(jmp.stdout(), /"level":50[^\n]*JMP_BOOTSTRAP_API_KEY_EXPIRES_AT is in the past/);
    } finally {
      await jmp.stop();
    }
  });

  it("removing the bootstrap key from a used database prints no new password, and says what to do", async () => {
    const dir = tempDir();
    const key = generateApiKey();
    const first = await spawnJmp({ JMP_DATA_DIR: dir, JMP_BOOTSTRAP_API_KEY: key });
    try {
      const api = new Client(first.url, { authorization: `Bearer ${key}` });
      assert.equal(
        (await api.post("/admin/v1/links", { code: "kept", target: "https://k.example" })).status,
        201,
      );
    } finally {
      await first.stop();
    }
    const second = await spawnJmp({ JMP_DATA_DIR: dir });
    try {
      assert.ok(!second.stdout().includes("Admin password"), second.stdout());
      assert.match(second.stdout(), /"level":50[^\n]*no password is generated[^\n]*JMP_ADMIN_PASSWORD/);
      assert.equal((await new Client(second.url).get("/kept")).status, 307, "it still serves");
    } finally {
      await second.stop();
    }
  });
});

describe("operations", () => {
  for (const engine of ENGINES) {
    const signal = engine === "sqlite" ? "SIGINT" : "SIGTERM";
    it(`writes buffered clicks and click events to the database on ${signal} [${engine}]`, async (t) => {
      const reason = await unreachable(engine);
      if (reason) return t.skip(reason);
      const db = await createDatabase(engine);
      const key = generateApiKey();
      const env = { JMP_DATA_DIR: tempDir(), JMP_DATABASE_URL: db.url, JMP_BOOTSTRAP_API_KEY: key };
      try {
        const first = await spawnJmp(env);
        const api = new Client(first.url, { authorization: `Bearer ${key}` });
        await api.post("/admin/v1/links", { code: "flushme", target: "https://f.example" });
        const on = await api.put("/admin/v1/config/analytics.enable_detailed_logging", { value: "true" });
        assert.equal(on.status, 200, on.text);
        for (let i = 0; i < 7; i++) assert.equal((await new Client(first.url).get("/flushme")).status, 307);
        assert.equal((await api.get("/admin/v1/links/flushme")).json.data.click_count, 0, "still buffered");
        assert.equal(await first.stop(signal), 0);
        const second = await spawnJmp(env);
        try {
          const r = await new Client(second.url, { authorization: `Bearer ${key}` }).get(
            "/admin/v1/links/flushme",
          );
          assert.equal(r.json.data.click_count, 7);
          const events = await new Client(second.url, { authorization: `Bearer ${key}` }).get(
            "/admin/v1/analytics/clicks?page_size=100",
          );
          assert.equal(events.json.data.clicks.length, 7, "no click event lost");
        } finally {
          await second.stop();
        }
      } finally {
        await db.drop();
      }
    });
  }

  it("writes buffered clicks and click events on SIGUSR2, and goes on serving", async () => {
    const key = generateApiKey();
    const jmp = await spawnJmp({ JMP_DATA_DIR: tempDir(), JMP_BOOTSTRAP_API_KEY: key });
    try {
      const api = new Client(jmp.url, { authorization: `Bearer ${key}` });
      await api.post("/admin/v1/links", { code: "now", target: "https://n.example" });
      await api.put("/admin/v1/config/analytics.enable_detailed_logging", { value: "true" });
      for (let i = 0; i < 5; i++) assert.equal((await new Client(jmp.url).get("/now")).status, 307);
      // Five clicks reach neither the threshold (100) nor the interval (30 s): only the signal writes them.
      assert.equal((await api.get("/admin/v1/links/now")).json.data.click_count, 0, "still buffered");
      jmp.proc.kill("SIGUSR2");
      const deadline = Date.now() + 5_000;
      while ((await api.get("/admin/v1/links/now")).json.data.click_count !== 5) {
        assert.ok(Date.now() < deadline, "the clicks were written within 5 s of the signal");
        await sleep(50);
      }
      // The events are written by the analytics worker, in parallel with the counts.
      while ((await api.get("/admin/v1/analytics/clicks?page_size=100")).json.data.clicks.length !== 5) {
        assert.ok(Date.now() < deadline, "the click events were written within 5 s of the signal");
        await sleep(50);
      }
      assert.equal((await new Client(jmp.url).get("/now")).status, 307, "still serving");
      assert.match(jmp.stdout(), /writing buffered clicks and events now/);
    } finally {
      assert.equal(await jmp.stop(), 0);
    }
  });

  it("SIGUSR2 while a server is still starting does not end it", async () => {
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    const jmp = await spawnJmp(
      { JMP_DATA_DIR: tempDir(), JMP_BOOTSTRAP_API_KEY: generateApiKey() },
      {
        // From 300 ms on (Node's own start-up is done by then; jmp's modules take about a second to load)
        // until it listens, a signal every 20 ms. Before the entry point's guard it would end the process.
        onSpawn: (proc) => {
          setTimeout(() => {
            timer = setInterval(() => {
              if (proc.kill("SIGUSR2")) sent++;
            }, 20);
          }, 300);
        },
      },
    ).finally(() => clearInterval(timer));
    try {
      assert.ok(sent >= 5, `signals sent while it started: ${sent}`);
      assert.equal((await new Client(jmp.url).get("/health/live")).status, 204);
    } finally {
      assert.equal(await jmp.stop(), 0);
    }
  });

  it("jmp reset-password changes the password of a running server without a restart", async () => {
    const dir = tempDir();
    const key = generateApiKey();
    const jmp = await spawnJmp({ JMP_DATA_DIR: dir, JMP_BOOTSTRAP_API_KEY: key });
    try {
      const client = new Client(jmp.url);
      assert.equal(
        (await client.post("/admin/v1/auth/login", { password: "brand-new-password" })).status,
        401,
      );
      const r = await runJmp(["reset-password"], { JMP_DATA_DIR: dir }, "brand-new-password\n");
      assert.equal(r.code, 0, r.stderr);
      // The change reaches the server through its change feed (polled every 250 ms without Redis): within 2 s.
      let status = 0;
      for (const started = Date.now(); status !== 200 && Date.now() - started < 2000; await sleep(100)) {
        status = (await client.post("/admin/v1/auth/login", { password: "brand-new-password" })).status;
      }
      assert.equal(status, 200);
      const short = await runJmp(["reset-password"], { JMP_DATA_DIR: dir }, "short\n");
      assert.equal(short.code, 1);
      assert.match(short.stderr, /at least 8 characters/);
    } finally {
      await jmp.stop();
    }
  });

  it("serves on a Unix socket when JMP_UNIX_SOCKET is set", async () => {
    const dir = tempDir();
    const socket = path.join(dir, "jmp.sock");
    const key = generateApiKey();
    const jmp = await spawnJmp({ JMP_DATA_DIR: dir, JMP_UNIX_SOCKET: socket, JMP_BOOTSTRAP_API_KEY: key });
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest({ socketPath: socket, path: "/health/live" }, (res) =>
          resolve(res.statusCode!),
        );
        req.on("error", reject);
        req.end();
      });
      assert.equal(status, 204);
    } finally {
      await jmp.stop();
    }
  });

  it("jmp migrate applies migrations and is idempotent", async () => {
    const dir = tempDir();
    const first = await runJmp(["migrate"], { JMP_DATA_DIR: dir });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /applied: 0001_initial/);
    const second = await runJmp(["migrate"], { JMP_DATA_DIR: dir });
    assert.match(second.stdout, /database is up to date/);
  });

  it("warns about unknown JMP_ variables", async () => {
    const jmp = await spawnJmp({
      JMP_DATA_DIR: tempDir(),
      JMP_PROT: "9000",
      JMP_BOOTSTRAP_API_KEY: generateApiKey(),
    });
    try {
      await sleep(50);
      assert.match(jmp.stdout(), /"variable":"JMP_PROT"/);
    } finally {
      await jmp.stop();
    }
  });
});
