/** Admin API v1 links: CRUD, list, batch, stats — through HTTP on every engine. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { forEachEngine, startServer, type TestServer } from "../support/server.js";

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

forEachEngine("links API", (engine) => {
  let s: TestServer;
  before(async () => {
    s = await startServer(engine);
  });
  after(() => s.close());

  describe("create", () => {
    it("creates a link with 201 and the Shortlinker create envelope", async () => {
      const r = await s.api.post("/admin/v1/links", { code: "gh", target: "https://github.com" });
      assert.equal(r.status, 201);
      assert.equal(r.json.code, 0);
      assert.equal(r.json.message, "Link created");
      assert.equal(r.json.data.code, "gh");
      assert.equal(r.json.data.target, "https://github.com");
      assert.equal(r.json.data.expires_at, null);
      assert.equal(r.json.data.password, null);
      assert.equal(r.json.data.force, null);
      assert.match(r.json.data.created_at, RFC3339);
    });

    it("returns the resolved RFC 3339 expiry for relative input, not the raw text", async () => {
      const before = Date.now();
      const r = await s.api.post("/admin/v1/links", {
        code: "exp7",
        target: "https://example.com",
        expires_at: "7d",
      });
      assert.equal(r.status, 201);
      assert.match(r.json.data.expires_at, RFC3339);
      const expires = Date.parse(r.json.data.expires_at);
      assert.ok(Math.abs(expires - (before + 7 * 86_400_000)) < 60_000);
    });

    it("generates a random code of features.random_code_length when none is given", async () => {
      const r = await s.api.post("/admin/v1/links", { target: "https://example.com/random" });
      assert.equal(r.status, 201);
      assert.match(r.json.data.code, /^[A-Za-z0-9]{6}$/);
      const empty = await s.api.post("/admin/v1/links", { code: "", target: "https://example.com/random2" });
      assert.match(empty.json.data.code, /^[A-Za-z0-9]{6}$/);
    });

    it("answers 409/3001 for an existing code, and overwrites with force keeping created_at and clicks", async () => {
      const first = await s.api.post("/admin/v1/links", { code: "dup", target: "https://a.example" });
      const again = await s.api.post("/admin/v1/links", { code: "dup", target: "https://b.example" });
      assert.equal(again.status, 409);
      assert.equal(again.json.code, 3001);
      assert.equal("data" in again.json, false, "error envelopes carry no data key");
      const forced = await s.api.post("/admin/v1/links", {
        code: "dup",
        target: "https://b.example",
        force: true,
      });
      assert.equal(forced.status, 201);
      assert.equal(forced.json.data.target, "https://b.example");
      assert.equal(forced.json.data.created_at, first.json.data.created_at);
    });

    it("treats codes as case-sensitive", async () => {
      assert.equal(
        (await s.api.post("/admin/v1/links", { code: "CaSe", target: "https://upper.example" })).status,
        201,
      );
      assert.equal(
        (await s.api.post("/admin/v1/links", { code: "case", target: "https://lower.example" })).status,
        201,
      );
      assert.equal((await s.api.get("/admin/v1/links/CaSe")).json.data.target, "https://upper.example");
      assert.equal((await s.api.get("/admin/v1/links/case")).json.data.target, "https://lower.example");
      assert.equal((await s.api.get("/admin/v1/links/CASE")).status, 404);
    });

    it("hashes passwords and never returns them", async () => {
      const r = await s.api.post("/admin/v1/links", {
        code: "secret",
        target: "https://example.com",
        password: "hunter22",
      });
      assert.equal(r.json.data.password, "[REDACTED]");
      const got = await s.api.get("/admin/v1/links/secret");
      assert.equal(got.json.data.password, "[REDACTED]");
      assert.ok(!got.text.includes("argon2"));
      assert.ok(!got.text.includes("hunter22"));
    });

    it("validates code, target and expiry with the documented error codes", async () => {
      const cases: [unknown, number][] = [
        [{ code: "bad code", target: "https://x.example" }, 3007],
        [{ code: "admin", target: "https://x.example" }, 3008],
        [{ code: "admin/x", target: "https://x.example" }, 3008],
        [{ code: "export", target: "https://x.example" }, 3008],
        [{ code: "x/analytics", target: "https://x.example" }, 3008],
        [{ code: "x/analytics/devices", target: "https://x.example" }, 3008],
        [{ code: "x/qr", target: "https://x.example" }, 3008],
        [{ code: "ok1", target: "javascript:alert(1)" }, 3002],
        [{ code: "ok2", target: "" }, 3002],
        [{ code: "ok3", target: "https://x.example", expires_at: "soon" }, 3003],
        [{ code: "ok4", target: "https://x.example", expires_at: "0d" }, 3003],
      ];
      for (const [body, code] of cases) {
        const r = await s.api.post("/admin/v1/links", body);
        assert.equal(r.status, 400, JSON.stringify(body));
        assert.equal(r.json.code, code, JSON.stringify(body));
      }
    });

    it("allows codes with slashes and addresses them in the path", async () => {
      assert.equal(
        (await s.api.post("/admin/v1/links", { code: "docs/v2/intro", target: "https://docs.example" }))
          .status,
        201,
      );
      const r = await s.api.get("/admin/v1/links/docs/v2/intro");
      assert.equal(r.status, 200);
      assert.equal(r.json.data.code, "docs/v2/intro");
    });
  });

  describe("read, update, delete", () => {
    it("gets a link or answers 404/1004", async () => {
      await s.api.post("/admin/v1/links", { code: "r1", target: "https://r1.example" });
      const r = await s.api.get("/admin/v1/links/r1");
      assert.equal(r.status, 200);
      assert.deepEqual(Object.keys(r.json.data).sort(), [
        "click_count",
        "code",
        "crawlable",
        "created_at",
        "enabled",
        "expires_at",
        "fallback_url",
        "forward_query",
        "max_clicks",
        "notes",
        "password",
        "redirect_status",
        "rules",
        "short_url",
        "tags",
        "target",
        "title",
        "updated_at",
        "valid_from",
      ]);
      const missing = await s.api.get("/admin/v1/links/nope");
      assert.equal(missing.status, 404);
      assert.equal(missing.json.code, 1004);
    });

    it("updates target, keeps expiry when absent, removes it with an empty string", async () => {
      await s.api.post("/admin/v1/links", {
        code: "u1",
        target: "https://u1.example",
        expires_at: "1d",
        password: "pw123456",
      });
      const kept = await s.api.put("/admin/v1/links/u1", { target: "https://u1b.example" });
      assert.equal(kept.status, 200);
      assert.equal(kept.json.data.target, "https://u1b.example");
      assert.match(kept.json.data.expires_at, RFC3339);
      assert.equal(kept.json.data.password, "[REDACTED]");
      const cleared = await s.api.put("/admin/v1/links/u1", {
        target: "https://u1b.example",
        expires_at: "",
        password: "",
      });
      assert.equal(cleared.json.data.expires_at, null);
      assert.equal(cleared.json.data.password, null);
      const absolute = await s.api.put("/admin/v1/links/u1", {
        target: "https://u1b.example",
        expires_at: "2030-01-02T03:04:05Z",
      });
      assert.equal(absolute.json.data.expires_at, "2030-01-02T03:04:05.000Z");
    });

    it("checks the target before existence, and answers 404 for a missing code", async () => {
      const badTarget = await s.api.put("/admin/v1/links/never", { target: "ftp://x" });
      assert.equal(badTarget.status, 400);
      assert.equal(badTarget.json.code, 3002);
      const missing = await s.api.put("/admin/v1/links/never", { target: "https://x.example" });
      assert.equal(missing.status, 404);
      assert.equal(missing.json.code, 1004);
    });

    it("deletes a link, and answers 404 (not 500) for a missing one", async () => {
      await s.api.post("/admin/v1/links", { code: "d1", target: "https://d1.example" });
      const r = await s.api.delete("/admin/v1/links/d1");
      assert.equal(r.status, 200);
      assert.deepEqual(r.json.data, { message: "Link deleted successfully" });
      assert.equal((await s.api.get("/admin/v1/links/d1")).status, 404);
      const again = await s.api.delete("/admin/v1/links/d1");
      assert.equal(again.status, 404);
      assert.equal(again.json.code, 1004);
    });
  });

  describe("list", () => {
    before(async () => {
      const links = Array.from({ length: 25 }, (_, i) => ({
        code: `list-${String(i).padStart(2, "0")}`,
        target: `https://list.example/${i}`,
      }));
      links.push({ code: "pct", target: "https://list.example/100%25_off" });
      links.push({ code: "under_score", target: "https://list.example/u" });
      await s.api.post("/admin/v1/links/batch", { links });
      await s.api.post("/admin/v1/links", {
        code: "old-one",
        target: "https://list.example/old",
        expires_at: "2001-01-01T00:00:00Z",
      });
    });

    it("paginates with the Shortlinker pagination object and clamps page_size to 1..100", async () => {
      const r = await s.api.get("/admin/v1/links?search=list-&page=2&page_size=10");
      assert.equal(r.status, 200);
      assert.equal(r.json.data.length, 10);
      assert.deepEqual(r.json.pagination, { page: 2, page_size: 10, total: 25, total_pages: 3 });
      const big = await s.api.get("/admin/v1/links?page_size=1000");
      assert.equal(big.json.pagination.page_size, 100);
      const small = await s.api.get("/admin/v1/links?page_size=0&page=0");
      assert.equal(small.json.pagination.page_size, 1);
      assert.equal(small.json.pagination.page, 1);
    });

    it("orders newest first with a stable tie-break, so pages never overlap", async () => {
      const seen = new Set<string>();
      for (let page = 1; page <= 3; page++) {
        const r = await s.api.get(`/admin/v1/links?search=list-&page=${page}&page_size=10`);
        for (const link of r.json.data) {
          assert.ok(!seen.has(link.code), `duplicate ${link.code}`);
          seen.add(link.code);
        }
      }
      assert.equal(seen.size, 25);
    });

    it("searches code and target case-insensitively, with % and _ matched literally", async () => {
      const pct = await s.api.get(`/admin/v1/links?search=${encodeURIComponent("100%")}`);
      assert.deepEqual(
        pct.json.data.map((l: { code: string }) => l.code),
        ["pct"],
      );
      const underscore = await s.api.get("/admin/v1/links?search=under_");
      assert.deepEqual(
        underscore.json.data.map((l: { code: string }) => l.code),
        ["under_score"],
      );
      const wildcard = await s.api.get("/admin/v1/links?search=_");
      assert.ok(
        wildcard.json.data.every((l: { code: string; target: string }) =>
          `${l.code}${l.target}`.includes("_"),
        ),
      );
      const upper = await s.api.get("/admin/v1/links?search=LIST.EXAMPLE/OLD");
      assert.deepEqual(
        upper.json.data.map((l: { code: string }) => l.code),
        ["old-one"],
      );
    });

    it("filters by expiry state and creation time, and rejects bad input", async () => {
      const expired = await s.api.get("/admin/v1/links?only_expired=true&page_size=100");
      assert.ok(expired.json.data.some((l: { code: string }) => l.code === "old-one"));
      assert.ok(expired.json.data.every((l: { expires_at: string | null }) => l.expires_at !== null));
      const active = await s.api.get("/admin/v1/links?only_active=true&page_size=100");
      assert.ok(!active.json.data.some((l: { code: string }) => l.code === "old-one"));
      const both = await s.api.get("/admin/v1/links?only_active=true&only_expired=true");
      assert.equal(both.status, 400);
      assert.equal(both.json.code, 1000);
      const future = await s.api.get("/admin/v1/links?created_after=2999-01-01T00:00:00Z");
      assert.equal(future.json.pagination.total, 0);
      const bad = await s.api.get("/admin/v1/links?created_after=yesterday");
      assert.equal(bad.status, 400);
      assert.equal(bad.json.code, 1012);
    });

    it("sorts by a column either way (ties by code) and filters by status, disabled included", async () => {
      const links = [
        { code: "srt-b", target: "https://sort.example/2", enabled: false },
        { code: "srt-a", target: "https://sort.example/3" },
        { code: "srt-c", target: "https://sort.example/1", expires_at: "2000-01-01T00:00:00Z" },
      ];
      assert.equal((await s.api.post("/admin/v1/links/batch", { links })).status, 200);
      await s.anon.get("/srt-a");
      await s.anon.get("/srt-a");
      await s.app.clicks.flush();
      const codes = async (query: string) => {
        const r = await s.api.get(`/admin/v1/links?search=srt-&${query}`);
        assert.equal(r.status, 200, r.text);
        return r.json.data.map((l: { code: string }) => l.code);
      };
      assert.deepEqual(await codes("sort=code"), ["srt-a", "srt-b", "srt-c"]);
      assert.deepEqual(await codes("sort=-code"), ["srt-c", "srt-b", "srt-a"]);
      assert.deepEqual(await codes("sort=target"), ["srt-c", "srt-b", "srt-a"]);
      assert.deepEqual(await codes("sort=-click_count"), ["srt-a", "srt-b", "srt-c"], "ties by code");
      assert.deepEqual(await codes("sort=click_count"), ["srt-b", "srt-c", "srt-a"]);
      assert.deepEqual(await codes("status=disabled"), ["srt-b"]);
      assert.deepEqual(await codes("status=expired&sort=code"), ["srt-c"]);
      assert.deepEqual(await codes("status=active&sort=code"), ["srt-a"]);
      assert.deepEqual(
        await codes("only_active=true&sort=code"),
        ["srt-a", "srt-b"],
        "Shortlinker's: not expired",
      );
      for (const query of [
        "sort=clicks",
        "sort=-password",
        "status=gone",
        "status=active&only_active=true",
      ]) {
        const r = await s.api.get(`/admin/v1/links?${query}`);
        assert.equal(r.status, 400, query);
        assert.equal(r.json.code, 1000, query);
      }
    });
  });

  describe("batch", () => {
    it("creates valid items in one go and reports per-item failures with the same validation", async () => {
      const r = await s.api.post("/admin/v1/links/batch", {
        links: [
          { code: "b1", target: "https://b1.example" },
          { code: "b2", target: "not a url" },
          { code: "admin/b", target: "https://b.example" },
          { code: "b 3", target: "https://b.example" },
          { target: "https://generated.example" },
          { code: "b1", target: "https://b1-dup.example" },
        ],
      });
      assert.equal(r.status, 200);
      assert.equal(r.json.data.success.length, 2);
      assert.ok(r.json.data.success.includes("b1"));
      const failed = Object.fromEntries(
        r.json.data.failed.map((f: { code: string; error_code: number }) => [f.code, f.error_code]),
      );
      assert.deepEqual(failed, { b2: 3002, "admin/b": 3008, "b 3": 3007, b1: 3001 });
      const b2 = r.json.data.failed.find((f: { code: string }) => f.code === "b2");
      assert.match(b2.error, /^Invalid URL: /, "the reference's message prefix");
      assert.equal((await s.api.get("/admin/v1/links/b1")).json.data.target, "https://b1.example");
    });

    it("refuses more than 5000 items with 400/1010 and writes nothing", async () => {
      const links = Array.from({ length: 5001 }, (_, i) => ({
        code: `big${i}`,
        target: "https://x.example",
      }));
      const r = await s.api.post("/admin/v1/links/batch", { links });
      assert.equal(r.status, 400);
      assert.equal(r.json.code, 1010);
      assert.equal((await s.api.get("/admin/v1/links/big0")).status, 404);
    });

    it("updates in batch, reporting unknown codes", async () => {
      await s.api.post("/admin/v1/links/batch", {
        links: [
          { code: "bu1", target: "https://1.example" },
          { code: "bu2", target: "https://2.example" },
        ],
      });
      const r = await s.api.put("/admin/v1/links/batch", {
        updates: [
          { code: "bu1", payload: { target: "https://1b.example" } },
          { code: "bu2", payload: { target: "gopher://x" } },
          { code: "bu-missing", payload: { target: "https://x.example" } },
        ],
      });
      assert.deepEqual(r.json.data.success, ["bu1"]);
      assert.deepEqual(r.json.data.failed.map((f: { code: string }) => f.code).sort(), ["bu-missing", "bu2"]);
      assert.equal((await s.api.get("/admin/v1/links/bu1")).json.data.target, "https://1b.example");
      assert.equal((await s.api.get("/admin/v1/links/bu2")).json.data.target, "https://2.example");
    });

    it("deletes in batch, reporting unknown codes with 3000", async () => {
      await s.api.post("/admin/v1/links/batch", { links: [{ code: "bd1", target: "https://1.example" }] });
      const r = await s.api.delete("/admin/v1/links/batch", { codes: ["bd1", "bd-missing"] });
      assert.deepEqual(r.json.data.success, ["bd1"]);
      assert.deepEqual(r.json.data.failed, [
        { code: "bd-missing", error: "Link not found", error_code: 3000 },
      ]);
    });
  });

  describe("stats", () => {
    it("counts links, clicks and active links", async () => {
      const r = await s.api.get("/admin/v1/stats");
      assert.equal(r.status, 200);
      const { total_links, total_clicks, active_links } = r.json.data;
      assert.equal(typeof total_links, "number");
      assert.equal(typeof total_clicks, "number");
      assert.ok(active_links < total_links, "the expired link is not active");
      const list = await s.api.get("/admin/v1/links?page_size=1");
      assert.equal(list.json.pagination.total, total_links);
    });
  });
});
