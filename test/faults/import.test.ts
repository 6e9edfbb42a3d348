/**
 * The largest allowed CSV import (10 MiB, ~150 000 rows) while visitors follow a cached link: the import parses,
 * checks and writes in slices that give the event loop back, so redirects keep answering. The figure reported is
 * the redirect p99 during the import; docs/security.md holds the target (< 50 ms on an idle machine). The test
 * fails only on a stall long enough to be one (250 ms), not on a noisy machine's p99: the server runs in this
 * process, so the test's own client shares its event loop and the p99 here is higher than a separate server's
 * (docs/performance.md has both). Afterwards the heap must
 * return near its level before the import.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { forEachEngine, startServer, type TestServer } from "../support/server.js";

const MiB = 1024 * 1024;

function bigCsv(): Buffer {
  const lines = ["code,target,tags"];
  let size = lines[0]!.length;
  for (let i = 0; size < 10 * MiB - 200; i++) {
    const line = `imp-${i.toString(36)},https://import.example/some/longer/path/${i}?ref=newsletter,"a,b"`;
    lines.push(line);
    size += line.length + 1;
  }
  return Buffer.from(`${lines.join("\n")}\n`);
}

/** One GET on a kept-alive connection; resolves with its latency in ms. */
function timedVisit(url: string, agent: import("node:http").Agent): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      res.resume();
      res.on("end", () =>
        res.statusCode === 307
          ? resolve(performance.now() - started)
          : reject(new Error(`status ${res.statusCode}`)),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

forEachEngine("a 10 MiB import", (engine) => {
  let s: TestServer;
  // MySQL/MariaDB imports this file in ~50 s and never stalled redirects (worst ~100 ms): the two engines
  // that did (SQLite writes on the event loop; PostgreSQL's parse) are enough for CI's time.
  const skip = engine === "mysql" ? "MySQL/MariaDB: measured by hand, see the comment above" : null;
  before(async () => {
    if (skip) return;
    s = await startServer(engine);
    assert.equal(
      (await s.api.post("/admin/v1/links", { code: "hot", target: "https://hot.example" })).status,
      201,
    );
  });
  after(() => s?.close());

  it("keeps redirects answering while it imports", async (t) => {
    if (skip) return t.skip(skip);
    const csv = bigCsv();
    const heapBefore = process.memoryUsage().heapUsed;
    const { Agent } = await import("node:http");
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    await timedVisit(`${s.url}/hot`, agent);
    const latencies: number[] = [];
    let importing = true;
    const visiting = (async () => {
      while (importing) latencies.push(await timedVisit(`${s.url}/hot`, agent));
    })();
    const form = new FormData();
    form.set("file", new Blob([csv]), "big.csv");
    const started = performance.now();
    const r = await s.api.request("POST", "/admin/v1/links/import?mode=overwrite", { body: form });
    const took = performance.now() - started;
    importing = false;
    await visiting;
    agent.destroy();
    assert.equal(r.status, 200, r.text.slice(0, 300));
    const rows = csv.toString().split("\n").length - 2;
    assert.equal(r.json.data.success_count, rows);
    latencies.sort((x, y) => x - y);
    const p99 = latencies[Math.floor(latencies.length * 0.99)] ?? 0;
    const worst = latencies.at(-1) ?? 0;
    t.diagnostic(
      `${rows} rows in ${(took / 1000).toFixed(1)} s; ${latencies.length} redirects meanwhile, p99 ${p99.toFixed(1)} ms, worst ${worst.toFixed(1)} ms`,
    );
    assert.ok(latencies.length > 20, "redirects were answered during the import");
    assert.ok(p99 < 250, `redirect p99 ${p99.toFixed(1)} ms during the import`);

    // The import's garbage (~200 MB) is collected shortly after, though nothing else allocates meanwhile: the
    // server runs in this process, so this process's heap is the server's.
    await sleep(2_000);
    const grown = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
    t.diagnostic(`heap ${grown.toFixed(0)} MB above its level before the import, 2 s after it`);
    assert.ok(grown < 96, `the heap returns near its level before (${grown.toFixed(0)} MB above)`);
  });
});
