/**
 * The link index through HTTP, on every engine: a starting instance holds exactly its plain links in memory
 * (the build decides "plain" in SQL, the redirect path in JavaScript: both must agree, or a link with a setting
 * would be served as a plain redirect), serves them with no query, and releases a link as soon as it changes.
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { forEachEngine, startServer, type TestServer } from "../support/server.js";

function sample(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

const future = new Date(Date.now() + 86_400_000).toISOString();

/** One link per setting: none of them may be held. */
const WITH_SETTINGS: Record<string, object> = {
  "s-status": { redirect_status: 301 },
  "s-disabled": { enabled: false },
  "s-max-clicks": { max_clicks: 5 },
  "s-valid-from": { valid_from: future },
  "s-password": { password: "correct horse battery" },
  "s-fallback": { fallback_url: "https://fallback.example/" },
  "s-forward": { forward_query: true },
  "s-crawlable": { crawlable: true },
  "s-rules": { rules: [{ conditions: [{ type: "device", value: "ios" }], target: "https://ios.example/" }] },
};

const PLAIN: Record<string, { body: object; location: string }> = {
  "p-plain": { body: {}, location: "https://plain.example/a" },
  "p-expiring": { body: { expires_at: future }, location: "https://plain.example/b" },
  "p/nested.code": { body: { title: "t", notes: "n", tags: ["x"] }, location: "https://plain.example/c" },
  "p-unicode": { body: {}, location: "https://xn--bcher-kva.example/%C3%BC" },
};

forEachEngine("link index", (engine) => {
  let s: TestServer;
  let second: TestServer;
  const metrics = async (server: TestServer) => (await server.api.get("/health/metrics")).text;

  before(async () => {
    s = await startServer(engine);
    for (const [code, settings] of Object.entries(WITH_SETTINGS)) {
      const r = await s.api.post("/admin/v1/links", {
        code,
        target: "https://settings.example/",
        ...settings,
      });
      assert.equal(r.status, 201, `${code}: ${r.text}`);
    }
    for (const [code, { body }] of Object.entries(PLAIN)) {
      const target = code === "p-unicode" ? "https://bücher.example/ü" : PLAIN[code]!.location;
      const r = await s.api.post("/admin/v1/links", { code, target, ...body });
      assert.equal(r.status, 201, `${code}: ${r.text}`);
    }
    second = await startServer(engine, {}, s.db);
    for (let i = 0; i < 200 && sample(await metrics(second), "jmp_code_filter_rebuilds_total") < 1; i++) {
      await sleep(25);
    }
  });
  after(async () => {
    await second?.close();
    await s?.close();
  });

  it("holds exactly the plain links, and serves them with no query", async () => {
    const text = await metrics(second);
    assert.equal(sample(text, 'jmp_cache_entries{layer="index"}'), Object.keys(PLAIN).length);
    assert.equal(
      sample(text, 'jmp_cache_entries{layer="filter"}'),
      Object.keys(PLAIN).length + Object.keys(WITH_SETTINGS).length,
    );
    for (const [code, { location }] of Object.entries(PLAIN)) {
      const r = await second.anon.get(`/${code}`);
      assert.equal(r.status, 307, code);
      assert.equal(r.headers.get("location"), location, code);
    }
    const after = await metrics(second);
    assert.equal(sample(after, "jmp_redirect_db_lookups_total"), 0);
    assert.equal(
      sample(after, 'jmp_redirect_cache_lookups_total{layer="index",result="hit"}'),
      Object.keys(PLAIN).length,
    );
  });

  it("serves every link with a setting by its setting, never as a plain redirect", async () => {
    const status = async (code: string) => (await second.anon.get(`/${code}`)).status;
    assert.equal(await status("s-status"), 301);
    assert.equal(await status("s-disabled"), 404);
    assert.equal(await status("s-valid-from"), 404);
    assert.equal(await status("s-password"), 200, "the password form");
    const fallback = await second.anon.get("/s-fallback");
    assert.equal(fallback.headers.get("location"), "https://settings.example/");
    const forward = await second.anon.get("/s-forward?x=1");
    assert.equal(forward.headers.get("location"), "https://settings.example/?x=1");
    assert.equal((await second.anon.get("/s-crawlable")).headers.get("x-robots-tag"), null);
    assert.equal((await second.anon.get("/p-plain")).headers.get("x-robots-tag"), "noindex");
    const ios = await second.anon.get("/s-rules", {
      "user-agent":
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    });
    assert.equal(ios.headers.get("location"), "https://ios.example/");
  });

  it("releases a held link when it changes on another instance, and serves the new target", async () => {
    const r = await s.api.put("/admin/v1/links/p-plain", { target: "https://plain.example/new" });
    assert.equal(r.status, 200, r.text);
    let location: string | null = null;
    for (let i = 0; i < 100 && location !== "https://plain.example/new"; i++, await sleep(20)) {
      location = (await second.anon.get("/p-plain")).headers.get("location");
    }
    assert.equal(location, "https://plain.example/new");
    const gave = await s.api.put("/admin/v1/links/p-expiring", {
      target: "https://plain.example/b",
      max_clicks: 1,
    });
    assert.equal(gave.status, 200, gave.text);
    let statuses: number[] = [];
    for (let i = 0; i < 100; i++, await sleep(20)) {
      statuses = [
        (await second.anon.get("/p-expiring")).status,
        (await second.anon.get("/p-expiring")).status,
      ];
      if (statuses[1] === 404) break;
    }
    assert.deepEqual(
      statuses.slice(-1),
      [404],
      "a setting added on another instance applies: one click, then 404",
    );
  });
});
