/**
 * When the analytics worker thread dies (docs/analytics.md#how-a-click-is-recorded): redirects and exact counts
 * go on; a worker that had been running is replaced, one that dies right after its start is not (recording stays
 * off rather than failing in a loop). Its clicks in flight are counted as dropped.
 */
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import type { Worker } from "node:worker_threads";
import { ClickCapture } from "../../src/analytics/capture.js";
import { startServer, type TestServer } from "../support/server.js";

/** The capture's worker thread (private: the test plays the crash). */
const workerOf = (server: TestServer) => (server.app.capture as unknown as { worker: Worker }).worker;

async function serverWithLink(): Promise<TestServer> {
  const server = await startServer("sqlite", { JMP_CONFIG_ANALYTICS__ENABLE_DETAILED_LOGGING: "true" });
  const r = await server.api.post("/admin/v1/links", { code: "wk", target: "https://example.com/wk" });
  assert.equal(r.status, 201, r.text);
  return server;
}

const recorded = async (server: TestServer) =>
  (await server.api.get("/admin/v1/analytics/clicks?page_size=100")).json.data.clicks.length as number;

describe("the analytics worker dies", () => {
  let server: TestServer | undefined;
  const restartAfter = ClickCapture.restartAfterMs;
  afterEach(async () => {
    ClickCapture.restartAfterMs = restartAfter;
    await server?.close();
    server = undefined;
  });

  it("a worker that had been running is replaced, and recording goes on", async () => {
    server = await serverWithLink();
    assert.equal((await server.anon.get("/wk")).status, 307);
    assert.equal(await server.app.capture!.flush(), true);
    ClickCapture.restartAfterMs = 0;
    const old = workerOf(server);
    await old.terminate();
    assert.notEqual(workerOf(server), old, "a new worker took over");
    assert.equal((await server.anon.get("/wk")).status, 307);
    assert.equal(await server.app.capture!.flush(), true);
    assert.equal(await recorded(server), 2);
    assert.equal(server.app.capture!.stats.restarts, 1);
  });

  it("one that dies right after its start is not: recording stops, redirects and counts go on", async () => {
    server = await serverWithLink();
    await workerOf(server).terminate();
    assert.equal(server.app.capture!.on, false, "recording is off");
    assert.equal((await server.anon.get("/wk")).status, 307);
    await server.app.clicks.flush();
    assert.equal((await server.api.get("/admin/v1/links/wk")).json.data.click_count, 1);
    assert.equal(await server.app.capture!.flush(), false, "nothing to write with");
    const metrics = await server.api.get("/health/metrics");
    assert.match(metrics.text, /^jmp_click_events_recorded_total 0$/m);
  });
});
