/** The redirect path as a visitor sees it, on every engine. */
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { internalContext } from "../../src/audit/log.js";
import { forEachEngine, startServer, type TestServer } from "../support/server.js";

/** A raw request (fetch would normalise the path). */
function rawGet(
  url: string,
  path: string,
  method = "GET",
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, path, method }, (res) => {
      let body = "";
      res.on("data", (d) => {
        body += d;
      });
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

async function clickCount(s: TestServer, code: string): Promise<number> {
  return (await s.api.get(`/admin/v1/links/${code}`)).json.data.click_count;
}

forEachEngine("redirects", (engine) => {
  let s: TestServer;
  before(async () => {
    // Flush clicks only when asked (large threshold/interval) so counts are deterministic.
    s = await startServer(engine);
    await s.app.config.set("click.max_clicks_before_flush", "1000000", internalContext("test"), Date.now());
    await s.app.config.set("click.flush_interval", "3600", internalContext("test"), Date.now());
  });
  after(() => s.close());

  it("answers 307 with Location, no body, and no-store caching", async () => {
    await s.api.post("/admin/v1/links", { code: "go", target: "https://example.com/landing?x=1" });
    const r = await s.anon.get("/go");
    assert.equal(r.status, 307);
    assert.equal(r.headers.get("location"), "https://example.com/landing?x=1");
    assert.equal(r.text, "");
    assert.match(r.headers.get("cache-control") ?? "", /no-store/);
  });

  it("ignores the query string when matching the code", async () => {
    const r = await s.anon.get("/go?utm_source=x");
    assert.equal(r.status, 307);
  });

  it("a fresh instance answers / with a page saying jmp runs here, never a redirect to someone else's site", async () => {
    const by = internalContext("test");
    await s.app.config.reset("features.default_url", by, Date.now());
    await s.app.config.set("features.enable_admin_panel", "false", by, Date.now());
    const plain = await rawGet(s.url, "/");
    assert.equal(plain.status, 404, "no home page and no panel: a 404");
    assert.equal(plain.headers.location, undefined);
    assert.match(plain.body, /jmp is running/);
    assert.match(plain.body, /features\.default_url/);
    assert.equal(plain.headers["content-security-policy"], "default-src 'none'; frame-ancestors 'none'");

    await s.app.config.set("features.enable_admin_panel", "true", by, Date.now());
    await s.app.config.set("routes.frontend_prefix", "/console", by, Date.now());
    try {
      const withPanel = await rawGet(s.url, "/");
      assert.equal(withPanel.status, 200);
      assert.match(withPanel.body, /<a href="\/console\/">Open the admin panel<\/a>/);
    } finally {
      await s.app.config.reset("features.enable_admin_panel", by, Date.now());
      await s.app.config.reset("routes.frontend_prefix", by, Date.now());
    }
  });

  it("redirects / to features.default_url", async () => {
    await s.app.config.set(
      "features.default_url",
      "https://home.example/",
      internalContext("test"),
      Date.now(),
    );
    const r = await s.anon.get("/");
    assert.equal(r.status, 307);
    assert.equal(r.headers.get("location"), "https://home.example/");
  });

  it("answers unknown, invalid and expired codes with a small cacheable HTML 404", async () => {
    await s.api.post("/admin/v1/links", {
      code: "gone",
      target: "https://example.com",
      expires_at: "2000-01-01T00:00:00Z",
    });
    for (const path of ["/missing", "/gone", "/a%20b", "/%E0%A4%A", `/${"x".repeat(200)}`, "/<script>"]) {
      const r = await rawGet(s.url, path);
      assert.equal(r.status, 404, path);
      assert.equal(r.headers["content-type"], "text/html; charset=utf-8");
      assert.equal(r.headers["cache-control"], "public, max-age=60");
      assert.match(r.body, /Not Found/);
      assert.ok(!r.body.includes("<script>"));
    }
  });

  it("serves codes containing slashes and a trailing slash as part of the code", async () => {
    await s.api.post("/admin/v1/links", { code: "docs/api", target: "https://docs.example/api" });
    assert.equal((await s.anon.get("/docs/api")).headers.get("location"), "https://docs.example/api");
    assert.equal((await s.anon.get("/docs/api/")).status, 404);
  });

  it("decodes percent-encoded unreserved characters in the path", async () => {
    const r = await rawGet(s.url, "/g%6F");
    assert.equal(r.status, 307);
  });

  it("reaches a link named like a prefix but not equal to it (/administrator)", async () => {
    await s.api.post("/admin/v1/links", { code: "administrator", target: "https://adm.example" });
    assert.equal((await s.anon.get("/administrator")).status, 307);
  });

  it("never serves a link past its expiry, even from the warm cache", async () => {
    await s.api.post("/admin/v1/links", {
      code: "short-lived",
      target: "https://soon.example",
      expires_at: "2s",
    });
    assert.equal((await s.anon.get("/short-lived")).status, 307, "warms the cache");
    assert.equal((await s.anon.get("/short-lived")).status, 307);
    await sleep(2100);
    assert.equal((await s.anon.get("/short-lived")).status, 404);
  });

  it("never serves a link created already expired (Shortlinker cached those for an hour)", async () => {
    await s.api.post("/admin/v1/links", {
      code: "born-dead",
      target: "https://x.example",
      expires_at: "2001-01-01T00:00:00Z",
    });
    assert.equal((await s.anon.get("/born-dead")).status, 404);
    assert.equal((await s.anon.get("/born-dead")).status, 404);
  });

  describe("cache invalidation on every write path", () => {
    it("update: the new target is served at once", async () => {
      await s.api.post("/admin/v1/links", { code: "inv-u", target: "https://old.example" });
      assert.equal((await s.anon.get("/inv-u")).headers.get("location"), "https://old.example");
      await s.api.put("/admin/v1/links/inv-u", { target: "https://new.example" });
      assert.equal((await s.anon.get("/inv-u")).headers.get("location"), "https://new.example");
    });

    it("delete and batch delete: the code 404s at once", async () => {
      await s.api.post("/admin/v1/links/batch", {
        links: [
          { code: "inv-d1", target: "https://1.example" },
          { code: "inv-d2", target: "https://2.example" },
        ],
      });
      assert.equal((await s.anon.get("/inv-d1")).status, 307);
      assert.equal((await s.anon.get("/inv-d2")).status, 307);
      await s.api.delete("/admin/v1/links/inv-d1");
      await s.api.delete("/admin/v1/links/batch", { codes: ["inv-d2"] });
      assert.equal((await s.anon.get("/inv-d1")).status, 404);
      assert.equal((await s.anon.get("/inv-d2")).status, 404);
    });

    it("create after a cached miss: the new link is served at once", async () => {
      assert.equal((await s.anon.get("/inv-c")).status, 404, "caches the miss");
      await s.api.post("/admin/v1/links", { code: "inv-c", target: "https://created.example" });
      assert.equal((await s.anon.get("/inv-c")).status, 307);
      assert.equal((await s.anon.get("/inv-b")).status, 404);
      await s.api.post("/admin/v1/links/batch", {
        links: [{ code: "inv-b", target: "https://batch.example" }],
      });
      assert.equal((await s.anon.get("/inv-b")).status, 307);
    });

    it("force overwrite and batch update: the new target is served at once", async () => {
      await s.api.post("/admin/v1/links", { code: "inv-f", target: "https://f1.example" });
      assert.equal((await s.anon.get("/inv-f")).headers.get("location"), "https://f1.example");
      await s.api.post("/admin/v1/links", { code: "inv-f", target: "https://f2.example", force: true });
      assert.equal((await s.anon.get("/inv-f")).headers.get("location"), "https://f2.example");
      await s.api.put("/admin/v1/links/batch", {
        updates: [{ code: "inv-f", payload: { target: "https://f3.example" } }],
      });
      assert.equal((await s.anon.get("/inv-f")).headers.get("location"), "https://f3.example");
    });

    it("expiry set on a cached link applies at once", async () => {
      await s.api.post("/admin/v1/links", { code: "inv-e", target: "https://e.example" });
      assert.equal((await s.anon.get("/inv-e")).status, 307);
      await s.api.put("/admin/v1/links/inv-e", {
        target: "https://e.example",
        expires_at: "2001-01-01T00:00:00Z",
      });
      assert.equal((await s.anon.get("/inv-e")).status, 404);
    });
  });

  describe("Location safety", () => {
    it("sends non-ASCII targets percent-encoded and punycoded, never raw", async () => {
      await s.api.post("/admin/v1/links", { code: "intl", target: "https://bücher.example/straße?q=ä" });
      const r = await rawGet(s.url, "/intl");
      assert.equal(r.status, 307);
      assert.equal(r.headers.location, "https://xn--bcher-kva.example/stra%C3%9Fe?q=%C3%A4");
    });

    it("cannot be split: CR/LF in a target is refused at write time", async () => {
      const r = await s.api.post("/admin/v1/links", {
        code: "split",
        target: "https://x.example/\r\nSet-Cookie: a=b",
      });
      assert.equal(r.status, 400);
      assert.equal(r.json.code, 3002);
    });
  });

  describe("click counting", () => {
    it("counts GET redirects, not HEAD, not 404s; written by additive flushes", async () => {
      await s.api.post("/admin/v1/links", { code: "clicky", target: "https://c.example" });
      for (let i = 0; i < 5; i++) await s.anon.get("/clicky");
      await s.anon.head("/clicky");
      await s.anon.get("/clicky-missing");
      assert.equal(await clickCount(s, "clicky"), 0, "buffered, not yet written");
      await s.app.clicks.flush();
      assert.equal(await clickCount(s, "clicky"), 5);
      for (let i = 0; i < 3; i++) await s.anon.get("/clicky");
      await s.app.clicks.flush();
      assert.equal(await clickCount(s, "clicky"), 8);
      assert.equal((await s.api.get("/admin/v1/stats")).json.data.total_clicks >= 8, true);
    });

    it("flushes by itself when the buffer reaches click.max_clicks_before_flush", async () => {
      await s.api.post("/admin/v1/links", { code: "threshold", target: "https://t.example" });
      await s.app.config.set("click.max_clicks_before_flush", "3", internalContext("test"), Date.now());
      try {
        for (let i = 0; i < 3; i++) await s.anon.get("/threshold");
        let count = 0;
        // Threshold flushes start at most every THRESHOLD_FLUSH_GAP_MS (5 s) after the previous flush.
        for (let i = 0; i < 400 && count < 3; i++) {
          await sleep(20);
          count = await clickCount(s, "threshold");
        }
        assert.equal(count, 3);
      } finally {
        await s.app.config.set(
          "click.max_clicks_before_flush",
          "1000000",
          internalContext("test"),
          Date.now(),
        );
      }
    });

    it("flushes on the click.flush_interval timer, which applies live", async () => {
      await s.api.post("/admin/v1/links", { code: "interval", target: "https://i.example" });
      await s.anon.get("/interval");
      await s.app.config.set("click.flush_interval", "1", internalContext("test"), Date.now());
      try {
        let count = 0;
        for (let i = 0; i < 40 && count === 0; i++) {
          await sleep(100);
          count = await clickCount(s, "interval");
        }
        assert.equal(count, 1);
      } finally {
        await s.app.config.set("click.flush_interval", "3600", internalContext("test"), Date.now());
      }
    });

    it("does not count when click.enable_tracking is false", async () => {
      await s.api.post("/admin/v1/links", { code: "untracked", target: "https://u.example" });
      await s.app.config.set("click.enable_tracking", "false", internalContext("test"), Date.now());
      try {
        await s.anon.get("/untracked");
        await s.app.clicks.flush();
        assert.equal(await clickCount(s, "untracked"), 0);
      } finally {
        await s.app.config.set("click.enable_tracking", "true", internalContext("test"), Date.now());
      }
    });
  });

  it("answers POST on a link without a password with 405, and does not route other methods to links", async () => {
    const post = await s.anon.post("/go", {});
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
    assert.equal((await s.anon.put("/go", {})).status, 404);
  });
});
