/**
 * Prometheus metrics at /health/metrics and what they prove about the redirect path: requests for codes that
 * never existed are answered without a database query (the link index), a link created or deleted afterwards
 * is honoured at once, and clicks, caches and database queries are counted.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { internalContext } from "../../src/audit/log.js";
import { forEachEngine, startServer, type TestServer } from "../support/server.js";
import { Client } from "../support/http.js";

/** The value of one sample (`name` or `name{labels}` exactly as exposed), or 0 when absent. */
function sample(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

forEachEngine("metrics", (engine) => {
  let s: TestServer;
  const metrics = async () => {
    const r = await s.api.get("/health/metrics");
    assert.equal(r.status, 200, r.text);
    return r.text;
  };
  const lookups = async () => sample(await metrics(), "jmp_redirect_db_lookups_total");

  before(async () => {
    s = await startServer(engine);
    // The link index is built in the background after listening.
    for (let i = 0; i < 100 && sample(await metrics(), "jmp_code_filter_rebuilds_total") < 1; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });
  after(() => s.close());

  it("needs the health token or an Admin API credential, and speaks the Prometheus text format", async () => {
    assert.equal((await s.anon.get("/health/metrics")).status, 401);
    await s.app.config.set(
      "api.health_token",
      "scrape-token-0123456789",
      internalContext("test"),
      Date.now(),
    );
    const r = await new Client(s.url, { authorization: "Bearer scrape-token-0123456789" }).get(
      "/health/metrics",
    );
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    for (const name of [
      "process_resident_memory_bytes",
      "nodejs_eventloop_lag_seconds",
      "jmp_http_requests_total",
      "jmp_http_request_duration_seconds",
      "jmp_redirect_cache_lookups_total",
      "jmp_redirect_db_lookups_total",
      "jmp_cache_entries",
      "jmp_click_buffer_clicks",
      "jmp_click_flushes_total",
      "jmp_db_query_duration_seconds",
      "jmp_change_feed_lag_seconds",
    ]) {
      assert.match(r.text, new RegExp(`^# TYPE ${name} `, "m"), name);
    }
  });

  it("answers codes that never existed without a database query", async () => {
    const before = await lookups();
    for (let i = 0; i < 200; i++) {
      assert.equal((await s.anon.get(`/never-${i}-${Math.random().toString(36).slice(2)}`)).status, 404);
    }
    const text = await metrics();
    // The link index knows every code exactly: no unknown code reaches the database.
    assert.equal(
      sample(text, "jmp_redirect_db_lookups_total") - before,
      0,
      "database lookups for unknown codes",
    );
    assert.ok(sample(text, 'jmp_redirect_cache_lookups_total{layer="filter",result="hit"}') >= 200);
    assert.ok(sample(text, 'jmp_http_requests_total{route_class="redirect",status="404"}') >= 200);
  });

  it("serves a link created after the filter was built, and forgets a deleted one", async () => {
    assert.equal((await s.anon.get("/fresh-link")).status, 404);
    assert.equal(
      (await s.api.post("/admin/v1/links", { code: "fresh-link", target: "https://a.example/" })).status,
      201,
    );
    const before = await lookups();
    assert.equal((await s.anon.get("/fresh-link")).status, 307);
    assert.equal((await s.anon.get("/fresh-link")).status, 307);
    assert.equal(await lookups(), before + 1, "one read, then the link index");

    assert.equal((await s.api.delete("/admin/v1/links/fresh-link")).status, 200);
    assert.equal((await s.anon.get("/fresh-link")).status, 404);
    // Deleted codes stay known to the index until its next rebuild: one read, then the negative cache.
    assert.equal((await s.anon.get("/fresh-link")).status, 404);
    assert.equal(await lookups(), before + 2);
  });

  // A new instance holds every plain link in its link index, and puts links with settings in its cache; with
  // JMP_LINK_INDEX_MB=0 the cache takes them all. Either way its first visits need no query.
  for (const [variant, env, layer] of [
    ["in its link index", {}, "index"],
    ["in its cache when the index may hold none (JMP_LINK_INDEX_MB=0)", { JMP_LINK_INDEX_MB: "0" }, "links"],
  ] as const) {
    it(`a new instance loads its links from the database ${variant}: its first visits need no query`, async () => {
      const codes = Array.from({ length: 30 }, (_, i) => `load-${layer}-${i}`);
      const r = await s.api.post("/admin/v1/links/batch", {
        links: codes.map((code) => ({ code, target: `https://a.example/${code}` })),
      });
      assert.equal(r.json.data.success.length, 30);
      const withSettings = `load-${layer}-locked`;
      await s.api.post("/admin/v1/links", {
        code: withSettings,
        target: "https://a.example/",
        max_clicks: 1000,
      });
      const second = await startServer(engine, env, s.db);
      try {
        const read = async () => {
          const text = (await second.api.get("/health/metrics")).text;
          return {
            text,
            lookups: sample(text, "jmp_redirect_db_lookups_total"),
            held: sample(text, `jmp_cache_entries{layer="${layer}"}`),
          };
        };
        for (let i = 0; i < 100 && (await read()).held < 30; i++) await new Promise((r) => setTimeout(r, 20));
        for (const code of codes) {
          const visit = await second.anon.get(`/${code}`);
          assert.equal(visit.headers.get("location"), `https://a.example/${code}`);
        }
        assert.equal((await second.anon.get(`/${withSettings}`)).status, 307);
        const after = await read();
        assert.equal(after.lookups, 0);
        assert.equal(
          sample(after.text, `jmp_redirect_cache_lookups_total{layer="${layer}",result="hit"}`),
          30 + (layer === "links" ? 1 : 0),
        );
        if (layer === "index") {
          assert.equal(sample(after.text, 'jmp_redirect_cache_lookups_total{layer="links",result="hit"}'), 1);
        } else {
          assert.equal(sample(after.text, 'jmp_cache_entries{layer="index"}'), 0);
        }
      } finally {
        await second.close();
      }
    });
  }

  it("counts redirects by status, cache hits, clicks written and database queries", async () => {
    await s.api.post("/admin/v1/links", { code: "counted", target: "https://a.example/" });
    await s.app.clicks.flush();
    const start = await metrics();
    for (let i = 0; i < 3; i++) assert.equal((await s.anon.get("/counted")).status, 307);
    await s.app.clicks.flush();
    const text = await metrics();
    const delta = (series: string) => sample(text, series) - sample(start, series);
    assert.equal(delta('jmp_http_requests_total{route_class="redirect",status="307"}'), 3);
    assert.ok(delta('jmp_redirect_cache_lookups_total{layer="index",result="hit"}') >= 2);
    assert.equal(delta("jmp_clicks_written_total"), 3);
    assert.equal(delta('jmp_click_flushes_total{outcome="ok"}'), 1);
    assert.equal(sample(text, "jmp_click_buffer_clicks"), 0);
    assert.ok(sample(text, 'jmp_db_query_duration_seconds_count{operation="select"}') > 0);
    assert.ok(delta('jmp_http_requests_total{route_class="health",status="200"}') >= 1);
    assert.ok(delta('jmp_http_request_duration_seconds_count{route_class="redirect"}') >= 3);
    // Buckets are cumulative and end with +Inf = count.
    assert.equal(
      sample(text, 'jmp_http_request_duration_seconds_bucket{route_class="redirect",le="+Inf"}'),
      sample(text, 'jmp_http_request_duration_seconds_count{route_class="redirect"}'),
    );
  });
});

describe("metrics switched off", () => {
  let s: TestServer;
  before(async () => {
    s = await startServer("sqlite", { JMP_METRICS: "off" });
  });
  after(() => s.close());

  it("answers 404 in the envelope, and redirects still work", async () => {
    const r = await s.api.get("/health/metrics");
    assert.equal(r.status, 404);
    assert.equal(r.json.code, 1004);
    await s.api.post("/admin/v1/links", { code: "m-off", target: "https://a.example/" });
    assert.equal((await s.anon.get("/m-off")).status, 307);
  });
});
