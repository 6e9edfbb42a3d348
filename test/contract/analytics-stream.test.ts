/**
 * Publishing recorded clicks to a stream (`JMP_ANALYTICS_STREAM`, docs/analytics.md#publishing-to-a-stream), for
 * real: the machine's Redis and NATS JetStream, and a Redis of the test's own that starts only after the clicks
 * were stored (at least once: the outbox publishes them when it can).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { Redis } from "ioredis";
import { natsStreamFor } from "../../src/analytics/stream.js";
import { startServer, type TestServer } from "../support/server.js";

const REDIS_URL = process.env.JMP_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const NATS_URL = process.env.JMP_TEST_NATS_URL ?? "nats://127.0.0.1:4222";
const CI = process.env.CI === "true";

async function reachable(check: () => Promise<unknown>): Promise<boolean> {
  try {
    await check();
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function clicked(server: TestServer, codes: string[]) {
  for (const code of codes) {
    const r = await server.anon.request("GET", `/${code}?utm_source=stream`, {
      headers: { "user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0" },
    });
    assert.equal(r.status, 307);
  }
  assert.equal(await server.app.capture!.flush(), true);
}

async function serverWithStream(env: Record<string, string>, codes: string[]): Promise<TestServer> {
  const server = await startServer("sqlite", {
    JMP_CONFIG_ANALYTICS__ENABLE_DETAILED_LOGGING: "true",
    ...env,
  });
  const links = codes.map((code) => ({ code, target: `https://example.com/${code}` }));
  assert.equal((await server.api.post("/admin/v1/links/batch", { links })).status, 200);
  return server;
}

describe("publishing recorded clicks to a stream", () => {
  it("Redis: one stream entry per recorded click, fields as stored", async (t) => {
    const redis = new Redis(REDIS_URL, { lazyConnect: true, retryStrategy: () => null });
    redis.on("error", () => {});
    if (!(await reachable(() => redis.connect()))) {
      if (CI) assert.fail(`Redis is not reachable at ${REDIS_URL}`);
      return t.skip("Redis not reachable");
    }
    const key = `jmp-test:clicks:${randomBytes(4).toString("hex")}`;
    const server = await serverWithStream(
      { JMP_ANALYTICS_STREAM: REDIS_URL, JMP_ANALYTICS_STREAM_NAME: key },
      ["st-a", "st-b"],
    );
    try {
      await clicked(server, ["st-a", "st-b", "st-a"]);
      const entries = await redis.xrange(key, "-", "+");
      assert.equal(entries.length, 3);
      const fields = Object.fromEntries(
        entries[0]![1].reduce<[string, string][]>((pairs, value, i, all) => {
          if (i % 2 === 0) pairs.push([value, all[i + 1]!]);
          return pairs;
        }, []),
      );
      assert.equal(fields.code, "st-a");
      assert.equal(fields.source, "stream");
      assert.equal(fields.browser, "Firefox");
      assert.equal(fields.is_bot, "false");
      assert.match(fields.clicked_at!, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      assert.equal(fields.country, undefined, "nulls are left out");
      const metrics = await server.api.get("/health/metrics");
      assert.match(metrics.text, /^jmp_click_events_published_total 3$/m);
    } finally {
      await server.close();
      await redis.del(key);
      redis.disconnect();
    }
  });

  it("NATS JetStream: jmp creates a stream for its subject; one message per recorded click", async (t) => {
    const nc = await connect({ servers: NATS_URL, timeout: 2000 }).catch(() => null);
    if (!nc) {
      if (CI) assert.fail(`NATS is not reachable at ${NATS_URL}`);
      return t.skip("NATS not reachable");
    }
    const subject = `jmp-test.clicks.${randomBytes(4).toString("hex")}`;
    const manager = await jetstreamManager(nc);
    const server = await serverWithStream(
      { JMP_ANALYTICS_STREAM: NATS_URL, JMP_ANALYTICS_STREAM_NAME: subject },
      ["nt-a"],
    );
    try {
      await clicked(server, ["nt-a", "nt-a"]);
      const info = await manager.streams.info(natsStreamFor(subject));
      assert.equal(info.state.messages, 2);
      const first = await manager.streams.getMessage(natsStreamFor(subject), { seq: 1 });
      const event = first!.json<Record<string, unknown>>();
      assert.equal(event.code, "nt-a");
      assert.equal(event.source, "stream");
      assert.equal(event.is_bot, false);
    } finally {
      await server.close();
      await manager.streams.delete(natsStreamFor(subject)).catch(() => {});
      await nc.close();
    }
  });

  describe("at least once", () => {
    let port: number;
    let redisProcess: ReturnType<typeof spawn> | undefined;
    before(async () => {
      port = await freePort();
    });
    after(() => {
      redisProcess?.kill("SIGKILL");
    });

    it("clicks stored while the stream is away are published when it comes back", async () => {
      const url = `redis://127.0.0.1:${port}`;
      const server = await serverWithStream({ JMP_ANALYTICS_STREAM: url }, ["aw-a"]);
      try {
        await clicked(server, ["aw-a", "aw-a"]);
        const waiting = await server.api.get("/health/metrics");
        assert.match(waiting.text, /^jmp_click_events_unpublished 2$/m);
        assert.equal(
          (await server.api.get("/admin/v1/analytics/clicks")).json.data.clicks.length,
          2,
          "stored all the same",
        );
        redisProcess = spawn(
          "redis-server",
          ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
          { stdio: "ignore" },
        );
        const deadline = Date.now() + 15_000;
        let redis: Redis;
        for (;;) {
          redis = new Redis(url, { lazyConnect: true, retryStrategy: () => null });
          redis.on("error", () => {});
          if (await reachable(() => redis.connect())) break;
          redis.disconnect();
          assert.ok(Date.now() < deadline, "the throwaway Redis did not start");
          await sleep(100);
        }
        let length = 0;
        while (length < 2) {
          assert.ok(Date.now() < deadline, `published ${length} of 2 within 15 s`);
          await sleep(200);
          length = await redis.xlen("jmp:clicks");
        }
        assert.equal(length, 2);
        redis.disconnect();
      } finally {
        await server.close();
      }
    });
  });
});
