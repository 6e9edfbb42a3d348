/**
 * Several instances on one database: a write on one is honoured by the others within 1 s — over Redis when
 * configured, by polling the change log otherwise, and still by polling when Redis is down.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Engine } from "../../src/store/db.js";
import { REQUIRE_ENGINES, unreachable } from "../support/engines.js";
import type { Reply } from "../support/http.js";
import { Client } from "../support/http.js";
import { ADMIN_PASSWORD, type TestServer, startServer } from "../support/server.js";

const REDIS_URL = process.env.JMP_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** Repeats `probe` until `done` holds or 1 s has passed; returns the last reply and the time it took. */
async function within1s(probe: () => Promise<Reply>, done: (r: Reply) => boolean) {
  const started = Date.now();
  let reply = await probe();
  while (!done(reply) && Date.now() - started < 1000) {
    await sleep(20);
    reply = await probe();
  }
  return { reply, ms: Date.now() - started };
}

async function redisReachable(): Promise<string | null> {
  const { Redis } = await import("ioredis");
  const client = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  try {
    await client.connect();
    await client.ping();
    return null;
  } catch (err) {
    return `Redis is not reachable: ${(err as Error).message}`;
  } finally {
    client.disconnect();
  }
}

function pairSuite(
  name: string,
  engine: Engine,
  transport: "redis" | "polling",
  env: () => Promise<Record<string, string> | string>,
) {
  describe(name, () => {
    let a: TestServer | undefined;
    let b: TestServer | undefined;
    let skip: string | null = null;

    before(async () => {
      const reason = (await unreachable(engine)) ?? null;
      const extra = await env();
      skip = reason ?? (typeof extra === "string" ? extra : null);
      if (skip) {
        if (REQUIRE_ENGINES) throw new Error(skip);
        return;
      }
      a = await startServer(engine, extra as Record<string, string>);
      b = await startServer(engine, extra as Record<string, string>, a.db);
    });
    after(async () => {
      await b?.close();
      await a?.close();
    });

    it(`both instances report the ${transport} transport in /health`, async (t) => {
      if (skip) return t.skip(skip);
      for (const s of [a!, b!]) {
        let r = await s.api.get("/health");
        for (let i = 0; i < 50 && r.json.data.checks.change_feed.transport !== transport; i++) {
          await sleep(20); // the Redis connection may still be opening
          r = await s.api.get("/health");
        }
        assert.equal(r.json.data.checks.change_feed.transport, transport);
      }
    });

    // B answers codes it has never heard of from its code filter, without a query (random-code scans never
    // reach the database), so a new link reaches B through the change feed like any other write.
    it("a link created on A redirects on B within 1 s", async (t) => {
      if (skip) return t.skip(skip);
      await a!.api.post("/admin/v1/links", { code: "fresh", target: "https://fresh.example" });
      const { reply } = await within1s(
        () => b!.anon.get("/fresh"),
        (r) => r.status === 307,
      );
      assert.equal(reply.status, 307);
    });

    it("a code B has seen missing redirects there within 1 s of its creation on A", async (t) => {
      if (skip) return t.skip(skip);
      assert.equal((await b!.anon.get("/late")).status, 404, "B caches the miss");
      await a!.api.post("/admin/v1/links", { code: "late", target: "https://late.example" });
      const { reply } = await within1s(
        () => b!.anon.get("/late"),
        (r) => r.status === 307,
      );
      assert.equal(reply.status, 307);
    });

    it("an update and a delete on A apply on B (warm cache) within 1 s", async (t) => {
      if (skip) return t.skip(skip);
      await a!.api.post("/admin/v1/links", { code: "moving", target: "https://one.example" });
      const created = await within1s(
        () => b!.anon.get("/moving"),
        (r) => r.status === 307,
      );
      assert.equal(created.reply.headers.get("location"), "https://one.example");
      await a!.api.put("/admin/v1/links/moving", { target: "https://two.example" });
      const updated = await within1s(
        () => b!.anon.get("/moving"),
        (r) => r.headers.get("location") === "https://two.example",
      );
      assert.equal(updated.reply.headers.get("location"), "https://two.example");
      await a!.api.delete("/admin/v1/links/moving");
      const deleted = await within1s(
        () => b!.anon.get("/moving"),
        (r) => r.status === 404,
      );
      assert.equal(deleted.reply.status, 404);
    });

    it("logout everywhere on A ends sessions on B within 1 s", async (t) => {
      if (skip) return t.skip(skip);
      const session = new Client(b!.url);
      assert.equal((await session.post("/admin/v1/auth/login", { password: ADMIN_PASSWORD })).status, 200);
      assert.equal((await session.get("/admin/v1/links")).status, 200);
      assert.equal((await a!.api.post("/admin/v1/auth/logout-everywhere")).status, 200);
      const { reply } = await within1s(
        () => session.get("/admin/v1/links"),
        (r) => r.status === 401,
      );
      assert.equal(reply.status, 401);
    });

    it("a PUT /config on A changes behaviour on B within 1 s", async (t) => {
      if (skip) return t.skip(skip);
      const put = await a!.api.put("/admin/v1/config/features.default_url", {
        value: "https://elsewhere.example/",
      });
      assert.equal(put.status, 200);
      const { reply } = await within1s(
        () => b!.anon.get("/"),
        (r) => r.headers.get("location") === "https://elsewhere.example/",
      );
      assert.equal(reply.headers.get("location"), "https://elsewhere.example/");
    });
  });
}

pairSuite("two instances on PostgreSQL with Redis", "postgres", "redis", async () => {
  const reason = await redisReachable();
  return reason ?? { JMP_REDIS_URL: REDIS_URL };
});

pairSuite("two instances on MariaDB without Redis", "mysql", "polling", async () => ({}));

pairSuite("two instances on SQLite with Redis down (polling fallback)", "sqlite", "polling", async () => ({
  JMP_REDIS_URL: "redis://127.0.0.1:1",
}));

describe("change feed status in /health", () => {
  let s: TestServer;
  before(async () => {
    s = await startServer("sqlite", { JMP_REDIS_URL: "redis://127.0.0.1:1" });
  });
  after(() => s.close());

  it("says the instance fell back to polling when Redis is unreachable", async () => {
    const r = await s.api.get("/health");
    assert.equal(r.status, 200);
    assert.equal(r.json.data.status, "degraded");
    assert.deepEqual(r.json.data.checks.change_feed, {
      status: "degraded",
      transport: "polling",
      error: "Redis is unreachable; polling the database instead",
    });
  });
});
