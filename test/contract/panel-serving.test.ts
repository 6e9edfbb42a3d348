/**
 * How the web admin panel is served (src/panel/routes.ts): under the live `routes.frontend_prefix`, on by
 * default and switched off at once by `features.enable_admin_panel=false`; `index.html` templated with the live
 * prefixes and never cached; hashed assets cached for good; a strict CSP with no inline script; and the size
 * budget of the JavaScript (≤ 60 KB gzip in all). The panel itself is tested in Chromium (test/browser/).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { internalContext } from "../../src/audit/log.js";
import { PANEL_DIR } from "../../src/panel/routes.js";
import { startServer, type TestServer } from "../support/server.js";

const JS_BUDGET_BYTES = 60 * 1024;

describe("the panel's files", () => {
  let s: TestServer;
  const by = internalContext("test");
  before(async () => {
    s = await startServer("sqlite");
  });
  after(() => s.close());

  it("redirects the bare prefix to the prefix with a slash, and serves index.html for every page path", async () => {
    const bare = await fetch(`${s.url}/panel`, { redirect: "manual" });
    assert.equal(bare.status, 302);
    assert.equal(bare.headers.get("location"), "/panel/");
    for (const page of ["/panel/", "/panel/links", "/panel/link/a/b", "/panel/settings?x=1"]) {
      const r = await fetch(`${s.url}${page}`);
      assert.equal(r.status, 200, page);
      assert.equal(r.headers.get("content-type"), "text/html; charset=utf-8");
      assert.equal(r.headers.get("cache-control"), "no-cache");
      const html = await r.text();
      assert.match(html, /<base href="\/panel\/" \/>/);
      assert.match(html, /<div id="app"><\/div>/);
    }
    const head = await fetch(`${s.url}/panel/links`, { method: "HEAD" });
    assert.equal(head.status, 200);
  });

  it("templates the live prefixes and the version into a meta element, with no inline script or outside URL", async () => {
    const html = await (await fetch(`${s.url}/panel/`)).text();
    const meta = /<meta name="jmp-config" content="([^"]+)"/.exec(html)?.[1];
    assert.ok(meta);
    const config = JSON.parse(meta.replaceAll("&quot;", '"').replaceAll("&amp;", "&"));
    assert.deepEqual(config, {
      panel: "/panel",
      admin: "/admin",
      health: "/health",
      version: config.version,
    });
    assert.match(config.version, /^\d+\.\d+\.\d+/);
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, "every script is a file");
    assert.doesNotMatch(html, /https?:\/\//, "nothing from elsewhere");
    assert.doesNotMatch(html, /%JMP_/, "every placeholder filled");
  });

  it("sends a strict Content-Security-Policy on every panel response", async () => {
    const html = await fetch(`${s.url}/panel/`);
    const csp = html.headers.get("content-security-policy") ?? "";
    for (const directive of [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "connect-src 'self'",
      "frame-ancestors 'none'",
      "base-uri 'self'",
    ])
      assert.ok(csp.includes(directive), `${directive} in ${csp}`);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:|\*/);
  });

  it("serves hashed assets immutable (gzip when asked), and 404 for an unknown asset", async () => {
    const html = await (await fetch(`${s.url}/panel/`)).text();
    const script = /src="assets\/(app-[A-Z0-9]+\.js)"/.exec(html)?.[1];
    const style = /href="assets\/(app-[A-Z0-9]+\.css)"/.exec(html)?.[1];
    assert.ok(script && style, "index.html names the hashed files");
    const js = await fetch(`${s.url}/panel/assets/${script}`, { headers: { "accept-encoding": "gzip" } });
    assert.equal(js.status, 200);
    assert.equal(js.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.equal(js.headers.get("cache-control"), "public, max-age=31536000, immutable");
    assert.equal(js.headers.get("content-encoding"), "gzip");
    assert.ok((await js.text()).length > 1000, "fetch decoded the gzip body");
    const css = await fetch(`${s.url}/panel/assets/${style}`);
    assert.equal(css.headers.get("content-type"), "text/css; charset=utf-8");
    const missing = await fetch(`${s.url}/panel/assets/app-NOPE.js`);
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get("cache-control"), null);
  });

  it("keeps the panel's JavaScript within its budget: 60 KB gzip in all", () => {
    const assets = path.join(PANEL_DIR, "assets");
    const scripts = readdirSync(assets).filter((name) => name.endsWith(".js"));
    assert.ok(scripts.length > 0);
    const total = scripts.reduce(
      (sum, name) => sum + gzipSync(readFileSync(path.join(assets, name)), { level: 9 }).length,
      0,
    );
    assert.ok(
      total <= JS_BUDGET_BYTES,
      `the panel's JavaScript is ${total} bytes gzip; the budget is ${JS_BUDGET_BYTES}`,
    );
  });

  it("follows routes.frontend_prefix and the admin prefix live, and answers 404 at once when switched off", async () => {
    await s.app.config.set("routes.frontend_prefix", "/console", by, Date.now());
    await s.app.config.set("routes.admin_prefix", "/manage", by, Date.now());
    try {
      const moved = await fetch(`${s.url}/console/links`);
      assert.equal(moved.status, 200);
      const html = await moved.text();
      assert.match(html, /<base href="\/console\/" \/>/);
      assert.match(html, /&quot;admin&quot;:&quot;\/manage&quot;/);
      const old = await fetch(`${s.url}/panel/links`, { redirect: "manual" });
      assert.doesNotMatch(await old.text(), /<div id="app">/, "the old prefix is a link code again");

      await s.app.config.set("features.enable_admin_panel", "false", by, Date.now());
      for (const page of ["/console/", "/console/links", "/console"]) {
        const off = await fetch(`${s.url}${page}`, { redirect: "manual" });
        assert.equal(off.status, 404, page);
      }
    } finally {
      await s.app.config.reset("features.enable_admin_panel", by, Date.now());
      await s.app.config.reset("routes.frontend_prefix", by, Date.now());
      await s.app.config.reset("routes.admin_prefix", by, Date.now());
    }
    assert.equal((await fetch(`${s.url}/panel/`)).status, 200);
  });
});
