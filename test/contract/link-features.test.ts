/**
 * Link settings through HTTP, the way visitors and API clients see them: redirect status and caching, state
 * and limits (enabled, valid_from, fallback, max_clicks — exact across instances), tags, query forwarding,
 * rules (country rules against a real MaxMind DB file), password-protected links, crawlers, and bad input that
 * stores nothing.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { countryDatabase } from "../support/mmdb.js";
import { forEachEngine, startServer, type TestServer } from "../support/server.js";

forEachEngine("link features", (engine) => {
  let s: TestServer;
  before(async () => {
    s = await startServer(engine);
  });
  after(() => s.close());

  const create = async (link: Record<string, unknown>) => {
    const r = await s.api.post("/admin/v1/links", link);
    assert.equal(r.status, 201, r.text);
    return r.json.data;
  };
  const visit = (path: string, headers?: Record<string, string>) => s.anon.get(path, headers);

  describe("redirect status and caching", () => {
    it("uses the link's status, else the runtime default; only permanent redirects are cacheable", async () => {
      await create({ code: "st-301", target: "https://a.example/", redirect_status: 301 });
      await create({ code: "st-302", target: "https://a.example/", redirect_status: 302 });
      await create({ code: "st-308", target: "https://a.example/", redirect_status: 308 });
      await create({ code: "st-default", target: "https://a.example/" });
      const r301 = await visit("/st-301");
      assert.equal(r301.status, 301);
      assert.equal(r301.headers.get("cache-control"), "public, max-age=3600");
      assert.equal((await visit("/st-308")).status, 308);
      const r302 = await visit("/st-302");
      assert.equal(r302.status, 302);
      assert.equal(r302.headers.get("cache-control"), "no-cache, no-store, must-revalidate");
      assert.equal((await visit("/st-default")).status, 307);

      await s.api.put("/admin/v1/config/features.permanent_redirect_cache_seconds", { value: "60" });
      assert.equal((await visit("/st-301")).headers.get("cache-control"), "public, max-age=60");
      await s.api.put("/admin/v1/config/features.permanent_redirect_cache_seconds", { value: "3600" });
    });

    it("returns the settings, keeps them when an update omits them, and resets them with null", async () => {
      const link = await create({
        code: "st-keep",
        target: "https://a.example/",
        redirect_status: 308,
        title: "T",
      });
      assert.equal(link.redirect_status, 308);
      assert.equal(link.title, "T");
      const kept = await s.api.put("/admin/v1/links/st-keep", { target: "https://b.example/" });
      assert.equal(kept.json.data.redirect_status, 308);
      assert.equal(kept.json.data.title, "T");
      const reset = await s.api.put("/admin/v1/links/st-keep", {
        target: "https://b.example/",
        redirect_status: null,
      });
      assert.equal(reset.json.data.redirect_status, null);
      assert.equal((await visit("/st-keep")).status, 307);
    });
  });

  describe("state and limits", () => {
    it("a disabled link answers 404, or its fallback URL; enabling it serves it again at once", async () => {
      await create({ code: "off", target: "https://on.example/", enabled: false });
      assert.equal((await visit("/off")).status, 404);
      await s.api.put("/admin/v1/links/off", {
        target: "https://on.example/",
        fallback_url: "https://fallback.example/",
      });
      const fallback = await visit("/off");
      assert.equal(fallback.status, 302);
      assert.equal(fallback.headers.get("location"), "https://fallback.example/");
      await s.api.put("/admin/v1/links/off", { target: "https://on.example/", enabled: true });
      assert.equal((await visit("/off")).headers.get("location"), "https://on.example/");
    });

    it("valid_from holds a link back until then; an expired link with a fallback goes there", async () => {
      await create({ code: "later", target: "https://later.example/", valid_from: "2099-01-01T00:00:00Z" });
      assert.equal((await visit("/later")).status, 404);
      await create({ code: "earlier", target: "https://x.example/", valid_from: "2000-01-01T00:00:00Z" });
      assert.equal((await visit("/earlier")).status, 307);
      await create({
        code: "gone",
        target: "https://x.example/",
        expires_at: "2000-01-01T00:00:00Z",
        fallback_url: "https://expired.example/",
      });
      assert.equal((await visit("/gone")).headers.get("location"), "https://expired.example/");
    });

    it("max_clicks: exactly that many redirects, then 404; HEAD does not use any", async () => {
      await create({ code: "thrice", target: "https://t.example/", max_clicks: 3 });
      assert.equal((await s.anon.head("/thrice")).status, 307);
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await visit("/thrice")).status);
      assert.deepEqual(statuses, [307, 307, 307, 404, 404]);
      assert.equal((await s.api.get("/admin/v1/links/thrice")).json.data.click_count, 3);
    });

    it("max_clicks = 100 hit by 300 concurrent requests across two instances: exactly 100 redirects", async () => {
      const other = await startServer(engine, {}, s.db);
      try {
        await create({ code: "hundred", target: "https://h.example/", max_clicks: 100 });
        const requests = Array.from({ length: 300 }, (_, i) =>
          fetch(`${i % 2 === 0 ? s.url : other.url}/hundred`, { redirect: "manual" }).then((r) => r.status),
        );
        const statuses = await Promise.all(requests);
        assert.equal(statuses.filter((st) => st === 307).length, 100);
        assert.equal(statuses.filter((st) => st === 404).length, 200);
      } finally {
        await other.close();
      }
    });
  });

  describe("tags", () => {
    before(async () => {
      await create({ code: "tg-1", target: "https://t.example/1", tags: ["eng", "docs"] });
      await create({ code: "tg-2", target: "https://t.example/2", tags: ["eng"] });
      await create({ code: "tg-3", target: "https://t.example/3", tags: ["marketing", " docs "] });
    });

    it("filters the list by any or all tags", async () => {
      const codes = async (query: string) =>
        (await s.api.get(`/admin/v1/links?search=tg-&${query}`)).json.data
          .map((l: { code: string }) => l.code)
          .sort();
      assert.deepEqual(await codes("tags=eng"), ["tg-1", "tg-2"]);
      assert.deepEqual(await codes("tags=eng,marketing"), ["tg-1", "tg-2", "tg-3"]);
      assert.deepEqual(await codes("tags=eng,docs&tags_mode=all"), ["tg-1"]);
      assert.deepEqual((await s.api.get("/admin/v1/links/tg-3")).json.data.tags, ["docs", "marketing"]);
    });

    it("lists tags with counts, renames (merging) and deletes them", async () => {
      const counts = async () =>
        Object.fromEntries(
          (await s.api.get("/admin/v1/tags")).json.data.map((t: { tag: string; count: number }) => [
            t.tag,
            t.count,
          ]),
        );
      assert.deepEqual(await counts(), { docs: 2, eng: 2, marketing: 1 });
      const before = (await s.api.get("/admin/v1/links/tg-1")).headers.get("etag");
      const renamed = await s.api.put("/admin/v1/tags/docs", { name: "eng" });
      assert.equal(renamed.status, 200, renamed.text);
      assert.deepEqual(renamed.json.data, { tag: "eng", links: 2 });
      assert.deepEqual(await counts(), { eng: 3, marketing: 1 });
      assert.notEqual(
        (await s.api.get("/admin/v1/links/tg-1")).headers.get("etag"),
        before,
        "the ETag changes",
      );
      const deleted = await s.api.delete("/admin/v1/tags/marketing");
      assert.deepEqual(deleted.json.data, { tag: null, links: 1 });
      assert.deepEqual(await counts(), { eng: 3 });
      assert.equal((await s.api.delete("/admin/v1/tags/nope")).status, 404);
    });
  });

  describe("query forwarding", () => {
    it("appends the visitor's query, replacing same-named target parameters and keeping the fragment", async () => {
      await create({ code: "fwd", target: "https://f.example/p?a=1&keep=yes#frag", forward_query: true });
      const r = await visit("/fwd?b=2&a=3");
      assert.equal(r.headers.get("location"), "https://f.example/p?keep=yes&b=2&a=3#frag");
      assert.equal((await visit("/fwd")).headers.get("location"), "https://f.example/p?a=1&keep=yes#frag");
      const hostile = await visit("/fwd?x=%0d%0aSet-Cookie:%20a=b&%3Cs%3E=1");
      assert.equal(
        hostile.headers.get("location"),
        "https://f.example/p?a=1&keep=yes&x=%0D%0ASet-Cookie%3A%20a%3Db&%3Cs%3E=1#frag",
      );
      assert.equal(hostile.headers.get("set-cookie"), null);
    });
  });

  describe("rules", () => {
    before(async () => {
      await create({
        code: "app",
        target: "https://app.example/",
        rules: [
          { conditions: [{ type: "device", value: "ios" }], target: "https://apps.apple.com/app" },
          { conditions: [{ type: "device", value: "android" }], target: "https://play.google.com/app" },
          { conditions: [{ type: "language", value: "de" }], target: "https://app.example/de" },
          { conditions: [{ type: "query", name: "beta" }], target: "https://beta.app.example/" },
          {
            conditions: [
              { type: "query", name: "v", value: "2" },
              { type: "after", value: "2000-01-01T00:00:00Z" },
            ],
            target: "https://v2.app.example/",
          },
          {
            conditions: [{ type: "before", value: "2000-01-01T00:00:00Z" }],
            target: "https://past.example/",
          },
        ],
      });
    });

    const IPHONE =
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148";
    const ANDROID =
      "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120 Mobile Safari/537.36";
    const DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36";
    const table: [string, Record<string, string>, string][] = [
      ["/app", { "user-agent": IPHONE }, "https://apps.apple.com/app"],
      ["/app", { "user-agent": ANDROID, "accept-language": "de-DE" }, "https://play.google.com/app"],
      [
        "/app",
        { "user-agent": DESKTOP, "accept-language": "de-CH,de;q=0.9,en;q=0.5" },
        "https://app.example/de",
      ],
      [
        "/app",
        { "user-agent": DESKTOP, "accept-language": "en-US,en;q=0.9,de;q=0.8" },
        "https://app.example/",
      ],
      ["/app?beta", { "user-agent": DESKTOP }, "https://beta.app.example/"],
      ["/app?v=2", { "user-agent": DESKTOP }, "https://v2.app.example/"],
      ["/app?v=3", { "user-agent": DESKTOP }, "https://app.example/"],
      ["/app", {}, "https://app.example/"],
    ];
    for (const [path, headers, expected] of table) {
      it(`${path} ${JSON.stringify(headers).slice(0, 60)} → ${expected}`, async () => {
        assert.equal((await visit(path, headers)).headers.get("location"), expected);
      });
    }
  });

  describe("password-protected links", () => {
    before(async () => {
      await create({ code: "secret", target: "https://secret.example/", password: "open sesame" });
    });

    it("asks with an accessible form that loads nothing and runs no script", async () => {
      const r = await visit("/secret");
      assert.equal(r.status, 200);
      assert.match(r.headers.get("content-type") ?? "", /^text\/html/);
      assert.equal(r.headers.get("location"), null);
      assert.match(r.headers.get("content-security-policy") ?? "", /default-src 'none'/);
      assert.equal(r.headers.get("cache-control"), "no-store");
      assert.match(r.text, /<form method="post" action="\/secret">/);
      assert.match(r.text, /<label for="password">Password<\/label>/);
      assert.doesNotMatch(r.text, /<script|src=|href=/);
    });

    it("a right password redirects (303 for the form), a wrong one asks again", async () => {
      const form = (password: string) =>
        s.anon.request("POST", "/secret", {
          body: new URLSearchParams({ password }).toString(),
          headers: { "content-type": "application/x-www-form-urlencoded" },
        });
      const right = await form("open sesame");
      assert.equal(right.status, 303);
      assert.equal(right.headers.get("location"), "https://secret.example/");
      const wrong = await form("<script>alert(1)</script>");
      assert.equal(wrong.status, 401);
      assert.match(wrong.text, /role="alert">That password is not right/);
      assert.doesNotMatch(wrong.text, /<script>alert/, "the attempt is never reflected");
    });

    it("API clients can send the password in X-Link-Password", async () => {
      const r = await visit("/secret", { "x-link-password": "open sesame" });
      assert.equal(r.status, 307);
      assert.equal(r.headers.get("location"), "https://secret.example/");
      assert.equal((await visit("/secret", { "x-link-password": "nope" })).status, 401);
    });

    it("limits wrong attempts per client and link (429 with Retry-After)", async () => {
      await create({ code: "secret2", target: "https://secret.example/2", password: "right-one" });
      const statuses = [];
      for (let i = 0; i < 6; i++)
        statuses.push((await visit("/secret2", { "x-link-password": `wrong-${i}` })).status);
      assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429]);
      const limited = await visit("/secret2", { "x-link-password": "right-one" });
      assert.equal(limited.status, 429, "refused without checking, even when right");
      assert.match(limited.headers.get("retry-after") ?? "", /^\d+$/);
    });

    it("the API never returns the hash", async () => {
      const r = await s.api.get("/admin/v1/links/secret");
      assert.equal(r.json.data.password, "[REDACTED]");
      assert.doesNotMatch(r.text, /argon2/);
    });
  });

  describe("crawlers", () => {
    it("redirects carry X-Robots-Tag: noindex unless the link is crawlable; robots.txt follows", async () => {
      await create({ code: "public-page", target: "https://p.example/", crawlable: true });
      await create({ code: "private-page", target: "https://q.example/" });
      assert.equal((await visit("/private-page")).headers.get("x-robots-tag"), "noindex");
      assert.equal((await visit("/public-page")).headers.get("x-robots-tag"), null);
      const robots = await visit("/robots.txt");
      assert.equal(robots.status, 200);
      assert.match(robots.headers.get("content-type") ?? "", /^text\/plain/);
      assert.match(robots.text, /^User-agent: \*$/m);
      assert.match(robots.text, /^Allow: \/public-page\$$/m);
      assert.doesNotMatch(robots.text, /private-page/);
      assert.match(robots.text, /^Disallow: \/$/m);
    });
  });

  describe("bad input stores nothing", () => {
    const refused = async (link: Record<string, unknown>, field: RegExp) => {
      const r = await s.api.post("/admin/v1/links", { code: "bad", target: "https://bad.example/", ...link });
      assert.equal(r.status, 400, r.text);
      assert.match(r.text, field);
      assert.equal((await s.api.get("/admin/v1/links/bad")).status, 404);
    };

    it("an unknown redirect status", () => refused({ redirect_status: 303 }, /redirect_status/));
    it("rules with an unknown condition type", () =>
      refused(
        { rules: [{ conditions: [{ type: "moon", value: "full" }], target: "https://m.example/" }] },
        /rules/,
      ));
    it("a rule with a non-http target", () =>
      refused(
        { rules: [{ conditions: [{ type: "device", value: "ios" }], target: "javascript:alert(1)" }] },
        /rules/,
      ));
    it("1000 tags", () => refused({ tags: Array.from({ length: 1000 }, (_, i) => `t${i}`) }, /tags/));
    it("tags with control characters", () => refused({ tags: ["ok", "bad\u0007tag"] }, /tags/));
    it("a relative fallback URL and a bad valid_from", async () => {
      const r = await s.api.post("/admin/v1/links", {
        code: "bad",
        target: "https://bad.example/",
        fallback_url: "/relative",
        valid_from: "tomorrow",
      });
      assert.equal(r.status, 400);
      assert.deepEqual(r.json.fields.map((f: { field: string }) => f.field).sort(), [
        "fallback_url",
        "valid_from",
      ]);
    });
    it("max_clicks of zero, and a batch item with bad settings fails alone", async () => {
      await refused({ max_clicks: 0 }, /max_clicks/);
      const batch = await s.api.post("/admin/v1/links/batch", {
        links: [
          { code: "bt-ok", target: "https://ok.example/", tags: ["x"] },
          { code: "bt-bad", target: "https://ok.example/", redirect_status: 200 },
        ],
      });
      assert.deepEqual(batch.json.data.success, ["bt-ok"]);
      assert.equal(batch.json.data.failed[0].code, "bt-bad");
    });
  });

  describe("CSV and apply documents carry the settings", () => {
    it("exports the settings columns and imports them back; six-column files still import", async () => {
      await create({
        code: "csv-set",
        target: "https://c.example/",
        tags: ["a", "b"],
        redirect_status: 302,
        max_clicks: 9,
      });
      const exported = await s.api.get("/admin/v1/links/export?search=csv-set");
      const line = exported.text.split("\n").find((l) => l.startsWith("csv-set,"))!;
      assert.match(line, /,302,true,9,,,,,"a,b",false,false,$/);

      const csv =
        "code,target,redirect_status,tags,enabled,rules\n" +
        'csv-in,https://in.example/,308,"x,y",false,"[{""conditions"":[{""type"":""device"",""value"":""ios""}],""target"":""https://ios.example/""}]"\n';
      const form = new FormData();
      form.set("file", new Blob([csv], { type: "text/csv" }), "links.csv");
      const imported = await s.api.request("POST", "/admin/v1/links/import", { body: form });
      assert.equal(imported.json.data.success_count, 1, imported.text);
      const link = (await s.api.get("/admin/v1/links/csv-in")).json.data;
      assert.deepEqual(
        [link.redirect_status, link.tags, link.enabled, link.rules.length],
        [308, ["x", "y"], false, 1],
      );

      const old = new FormData();
      old.set(
        "file",
        new Blob([
          "code,target,created_at,expires_at,password,click_count\nold-six,https://o.example/,,,,0\n",
        ]),
        "l.csv",
      );
      assert.equal(
        (await s.api.request("POST", "/admin/v1/links/import", { body: old })).json.data.success_count,
        1,
      );
    });

    it("an apply document sets them, and reports exactly the field that changes", async () => {
      const doc = {
        apiVersion: "jmp/v1",
        links: [{ code: "doc-set", target: "https://d.example/", tags: ["ops"], redirect_status: 301 }],
      };
      assert.equal((await s.api.post("/admin/v1/apply", doc)).status, 200);
      assert.equal((await visit("/doc-set")).status, 301);
      doc.links[0]!.redirect_status = 302;
      const plan = await s.api.post("/admin/v1/apply?dry_run=true", doc);
      assert.deepEqual(plan.json.data.changes, [
        { kind: "link", id: "doc-set", action: "update", diff: { redirect_status: { from: 301, to: 302 } } },
      ]);
      const exported = await s.api.get("/admin/v1/export");
      const again = await s.api.post("/admin/v1/apply?dry_run=true", exported.json);
      assert.deepEqual(again.json.data.changes, [], "the export applies back as a no-op");
    });
  });
});

describe("country rules with a GeoIP database", () => {
  let s: TestServer;
  before(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "jmp-geoip-"));
    const file = path.join(dir, "country.mmdb");
    writeFileSync(
      file,
      countryDatabase([
        { cidr: "81.2.69.0/24", country: "GB" },
        { cidr: "89.160.20.0/24", country: "SE" },
      ]),
    );
    // The test client is the trusted proxy, so X-Forwarded-For names the visitor.
    s = await startServer("sqlite", { JMP_GEOIP_DATABASE: file, JMP_TRUSTED_PROXIES: "127.0.0.1,::1" });
    await s.api.post("/admin/v1/links", {
      code: "geo",
      target: "https://example.com/",
      rules: [
        { conditions: [{ type: "country", value: "gb" }], target: "https://example.co.uk/" },
        { conditions: [{ type: "country", value: "SE" }], target: "https://example.se/" },
      ],
    });
  });
  after(() => s.close());

  const from = async (ip: string) =>
    (await s.anon.get("/geo", { "x-forwarded-for": ip })).headers.get("location");

  it("sends each visitor to their country's target, and others to the link's", async () => {
    assert.equal(await from("81.2.69.160"), "https://example.co.uk/");
    assert.equal(await from("89.160.20.112"), "https://example.se/");
    assert.equal(await from("8.8.8.8"), "https://example.com/");
    assert.equal(await from("2001:db8::1"), "https://example.com/", "an IPv6 visitor on an IPv4 database");
  });

  it("reads the flat record shape of the ip-location-db files (DB-IP Lite and others) as well", async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "jmp-geoip-")), "dbip-country.mmdb");
    writeFileSync(file, countryDatabase([{ cidr: "81.2.69.0/24", country: "GB" }], "flat"));
    const flat = await startServer("sqlite", {
      JMP_GEOIP_DATABASE: file,
      JMP_TRUSTED_PROXIES: "127.0.0.1,::1",
    });
    try {
      await flat.api.post("/admin/v1/links", {
        code: "geo",
        target: "https://example.com/",
        rules: [{ conditions: [{ type: "country", value: "GB" }], target: "https://example.co.uk/" }],
      });
      const visit = async (ip: string) =>
        (await flat.anon.get("/geo", { "x-forwarded-for": ip })).headers.get("location");
      assert.equal(await visit("81.2.69.160"), "https://example.co.uk/");
      assert.equal(await visit("8.8.8.8"), "https://example.com/");
    } finally {
      await flat.close();
    }
  });

  it("an unreadable database stops the start with a clear message", async () => {
    await assert.rejects(
      startServer("sqlite", { JMP_GEOIP_DATABASE: path.join(tmpdir(), "no-such-file.mmdb") }),
      /JMP_GEOIP_DATABASE: cannot open the GeoIP database/,
    );
  });
});
