/**
 * Redis hung (frozen with SIGSTOP: connections stay open, nothing answers) and killed, on a Redis of the test's
 * own: two instances on one PostgreSQL database keep the 1 s promise for changes by polling the change log, and
 * report the degraded doorbell in /health; a thawed or restarted Redis is used again.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { REQUIRE_ENGINES, unreachable } from "../support/engines.js";
import { freePort } from "../support/ports.js";
import { startServer, type TestServer } from "../support/server.js";

const missing =
  spawnSync("redis-server", ["--version"]).status === 0 ? null : "redis-server is not installed";

describe("Redis faults", { skip: missing ?? false }, () => {
  let redis: ChildProcess;
  let port: number;
  let a: TestServer;
  let b: TestServer;

  const startRedis = async () => {
    redis = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      {
        stdio: "ignore",
      },
    );
    for (let i = 0; i < 50; i++) {
      if (
        spawnSync("redis-cli", ["-p", String(port), "ping"])
          .stdout?.toString()
          .includes("PONG")
      )
        return;
      await sleep(100);
    }
    throw new Error("the test's Redis did not start");
  };
  const feedOf = async (s: TestServer) => (await s.api.get("/health")).json.data.checks.change_feed;
  const until = async (what: string, check: () => Promise<boolean>, ms = 10_000) => {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(50);
    }
  };
  /** How long after A's write B serves the new link (ms). */
  const lag = async (code: string) => {
    assert.equal(
      (await a.api.post("/admin/v1/links", { code, target: `https://${code}.example` })).status,
      201,
    );
    const started = Date.now();
    while ((await b.anon.get(`/${code}`)).status !== 307) {
      if (Date.now() - started > 10_000) throw new Error(`${code} never reached B`);
      await sleep(10);
    }
    return Date.now() - started;
  };

  let skip: string | null = null;
  before(async () => {
    skip = await unreachable("postgres");
    if (skip && REQUIRE_ENGINES) throw new Error(skip);
    if (skip) return;
    port = await freePort();
    await startRedis();
    const env = { JMP_REDIS_URL: `redis://127.0.0.1:${port}` };
    a = await startServer("postgres", env);
    b = await startServer("postgres", env, a.db);
    await until(
      "both on Redis",
      async () => (await feedOf(a)).transport === "redis" && (await feedOf(b)).transport === "redis",
    );
  });
  after(async () => {
    try {
      redis?.kill("SIGCONT");
      redis?.kill("SIGKILL");
    } finally {
      await b?.close();
      await a?.close();
    }
  });

  it("frozen: /health says so within 2 s, and changes still arrive within 1 s", async (t) => {
    if (skip) return t.skip(skip);
    assert.ok((await lag("before-freeze")) < 1000);
    redis.kill("SIGSTOP");
    try {
      const frozenAt = Date.now();
      const measured = await lag("while-frozen");
      t.diagnostic(
        `a change reached the other instance ${measured} ms after it was acknowledged, Redis frozen`,
      );
      assert.ok(measured <= 1100, `${measured} ms`);
      await until("a degraded change feed", async () => (await feedOf(b)).status === "degraded", 3000);
      t.diagnostic(`/health reported the hung Redis after ${Date.now() - frozenAt} ms`);
      assert.match((await feedOf(b)).error, /does not answer/);
      for (let i = 0; i < 3; i++) assert.ok((await lag(`frozen-${i}`)) <= 1100);
    } finally {
      redis.kill("SIGCONT");
    }
    await until("Redis used again", async () => (await feedOf(b)).status === "healthy");
    assert.ok((await lag("after-thaw")) < 1000);
  });

  it("killed: polling keeps changes within 1 s, and a restarted Redis is used again", async (t) => {
    if (skip) return t.skip(skip);
    redis.kill("SIGKILL");
    await until("an unreachable Redis", async () => (await feedOf(b)).transport === "polling");
    const measured = await lag("while-dead");
    t.diagnostic(`a change reached the other instance ${measured} ms after it was acknowledged, Redis down`);
    assert.ok(measured <= 1100, `${measured} ms`);
    await startRedis();
    await until("Redis used again", async () => (await feedOf(b)).transport === "redis", 15_000);
    assert.ok((await lag("after-restart")) < 1000);
  });
});
