/**
 * The analytics API (Shortlinker's contract, docs/api.md#analytics) through HTTP on every engine: shapes, caps
 * and bad parameters, and exact counts — trends, top and per-link totals — from clicks sent to two instances.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { internalContext } from "../../src/audit/log.js";
import { Client } from "../support/http.js";
import { BOOTSTRAP_KEY, forEachEngine, runJmp, twoInstances, type TestServer } from "../support/server.js";

const ROUTES = ["trends", "top", "referrers", "geo", "devices", "export"].map(
  (r) => `/admin/v1/analytics/${r}`,
);
const today = () => new Date().toISOString().slice(0, 10);

forEachEngine("analytics API", (engine) => {
  let a: TestServer;
  let b: TestServer;
  twoInstances(engine, async (first, second) => {
    a = first;
    b = second;
    const links = ["an-a", "an-b", "an/slash"].map((code) => ({
      code,
      target: `https://example.com/${code}`,
    }));
    assert.equal((await a.api.post("/admin/v1/links/batch", { links })).status, 200);
    // b learns of the new links through the change feed (within a second); HEAD is never counted.
    for (const { code } of links) {
      const deadline = Date.now() + 5000;
      while ((await b.anon.request("HEAD", `/${code}`)).status !== 307) {
        assert.ok(Date.now() < deadline, `instance b never saw ${code}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    // Real redirects on both instances: 3 × an-a, 1 × an-b, 2 × an/slash; HEAD is not a click.
    for (const [server, code] of [
      [a, "an-a"],
      [b, "an-a"],
      [a, "an-a"],
      [b, "an-b"],
      [a, "an/slash"],
      [b, "an/slash"],
    ] as const) {
      assert.equal((await server.anon.get(`/${code}`)).status, 307);
    }
    assert.equal((await a.anon.request("HEAD", "/an-b")).status, 307);
    await a.app.clicks.flush();
    await b.app.clicks.flush();
  });

  /** Clicks as a flush at `time` wrote them: each code's count in its hour, and with `day` in its day too. */
  async function seedStats(time: number, counts: Record<string, number>, day = false) {
    const rows = Object.entries(counts).map(([code, clicks]) => ({ code, clicks }));
    const db = a.app.store.db;
    await db
      .insertInto("click_stats_hourly")
      .values(rows.map((r) => ({ ...r, hour: time - (time % 3_600_000) })))
      .execute();
    if (day)
      await db
        .insertInto("click_stats_daily")
        .values(rows.map((r) => ({ ...r, day: time - (time % 86_400_000) })))
        .execute();
  }

  describe("exact counts (no detailed logging needed)", () => {
    it("trends: every day of the range, zero-filled, the clicks of both instances today", async () => {
      const r = await a.api.get(`/admin/v1/analytics/trends?start_date=2000-01-01&end_date=${today()}`);
      assert.equal(r.status, 200, r.text);
      const { labels, values } = r.json.data as { labels: string[]; values: number[] };
      assert.equal(labels.length, values.length);
      assert.equal(labels[0], "2000-01-01");
      assert.equal(labels.at(-1), today());
      assert.equal(values.at(-1), 6);
      assert.equal(
        values.reduce((x, y) => x + y, 0),
        6,
      );
      const weeks = (await a.api.get("/admin/v1/analytics/trends?group_by=week")).json.data;
      assert.ok(
        weeks.labels.every((label: string) => /^\d{4}-W\d{2}$/.test(label)),
        weeks.labels.join(),
      );
      const hours = (await a.api.get("/admin/v1/analytics/trends?group_by=hour")).json.data;
      assert.equal(hours.labels.length, 30 * 24 + 1);
      assert.equal(
        hours.values.at(-1) + hours.values.at(-2),
        6,
        "this hour (or the last, just after one began)",
      );
    });

    it("tz: local days (an IANA zone); an unknown zone is a 400", async () => {
      const r = await a.api.get("/admin/v1/analytics/trends?tz=Asia/Tokyo&start_date=2026-01-01");
      assert.equal(r.status, 200, r.text);
      const tokyoToday = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Tokyo" }).format(new Date());
      assert.equal(r.json.data.labels.at(-1), tokyoToday);
      assert.equal(r.json.data.labels[0], "2026-01-01");
      assert.equal(
        (r.json.data.values as number[]).reduce((x, y) => x + y, 0),
        6,
      );
      const bad = await a.api.get("/admin/v1/analytics/trends?tz=Mars/Olympus_Mons");
      assert.equal(bad.status, 400);
      assert.equal(bad.json.code, 1000);
    });

    it("top: most clicked first, limit and its cap, limit=0", async () => {
      const r = await a.api.get("/admin/v1/analytics/top");
      assert.deepEqual(r.json.data, [
        { code: "an-a", clicks: 3 },
        { code: "an/slash", clicks: 2 },
        { code: "an-b", clicks: 1 },
      ]);
      assert.deepEqual((await a.api.get("/admin/v1/analytics/top?limit=1")).json.data, [
        { code: "an-a", clicks: 3 },
      ]);
      assert.deepEqual((await a.api.get("/admin/v1/analytics/top?limit=0")).json.data, []);
      assert.equal((await a.api.get("/admin/v1/analytics/top?limit=1000")).status, 200);
      const past = await a.api.get("/admin/v1/analytics/top?start_date=2001-01-01&end_date=2001-12-31");
      assert.deepEqual(past.json.data, []);
    });

    it("per link: total and daily trend; a code with a slash; an unknown code answers zeros", async () => {
      const one = (await a.api.get("/admin/v1/links/an-a/analytics")).json.data;
      assert.equal(one.code, "an-a");
      assert.equal(one.total_clicks, 3);
      assert.equal(one.trend.labels.at(-1), today());
      assert.equal(one.trend.values.at(-1), 3);
      assert.deepEqual([one.top_referrers, one.geo_distribution], [[], []]);
      const slash = await a.api.get("/admin/v1/links/an/slash/analytics");
      assert.equal(slash.status, 200, slash.text);
      assert.deepEqual([slash.json.data.code, slash.json.data.total_clicks], ["an/slash", 2]);
      const devices = await a.api.get("/admin/v1/links/an/slash/analytics/devices");
      assert.deepEqual(Object.keys(devices.json.data).sort(), [
        "bot_percentage",
        "browsers",
        "devices",
        "operating_systems",
        "total_with_ua",
      ]);
      const unknown = await a.api.get("/admin/v1/links/never-was/analytics");
      assert.equal(unknown.status, 200);
      assert.equal(unknown.json.data.total_clicks, 0);
    });
  });

  describe("retention and the roll-up switch", () => {
    const DAY = 86_400_000;
    const dayStart = (daysAgo: number) => {
      const now = Date.now();
      return now - (now % DAY) - daysAgo * DAY;
    };
    const by = internalContext("test");

    it("the flush keeps daily counts too; past hourly retention the days are answered from them", async () => {
      const daily = await a.app.store.db
        .selectFrom("click_stats_daily")
        .select(["code", "clicks"])
        .where("day", "=", dayStart(0))
        .where("code", "in", ["", "an-a"])
        .orderBy("code")
        .execute();
      assert.deepEqual(
        daily.map((r) => [r.code, Number(r.clicks)]),
        [
          ["", 6],
          ["an-a", 3],
        ],
      );
      // Clicks of 20 days ago, as the flush wrote them then (an hour row and a day row).
      const old = dayStart(20) + 5 * 3_600_000;
      await seedStats(old, { "": 4, "an-b": 4 }, true);
      const sum = async () =>
        ((await a.api.get("/admin/v1/analytics/trends")).json.data.values as number[]).reduce(
          (x, y) => x + y,
          0,
        );
      assert.equal(await sum(), 10, "6 today + 4 twenty days ago (from the daily counts, not twice)");

      assert.deepEqual(
        await a.app.statsRetention.run(),
        { hourly: 2, daily: 0, dims: 0, events: 0, full: false },
        "hourly rows past 7 days",
      );
      assert.equal(await sum(), 10, "the day is still there, by day");
      const top = (await a.api.get("/admin/v1/analytics/top")).json.data;
      assert.deepEqual(
        top.find((t: { code: string }) => t.code === "an-b"),
        { code: "an-b", clicks: 5 },
      );

      await a.app.config.set("analytics.daily_retention_days", "10", by, Date.now());
      try {
        assert.deepEqual(await a.app.statsRetention.run(), {
          hourly: 0,
          daily: 2,
          dims: 0,
          events: 0,
          full: false,
        });
        assert.equal(await sum(), 6);
      } finally {
        await a.app.config.reset("analytics.daily_retention_days", by, Date.now());
      }
    });

    it("with analytics.enable_auto_rollup off, clicks count on the link but not in the stats", async () => {
      await a.app.config.set("analytics.enable_auto_rollup", "false", by, Date.now());
      try {
        assert.equal((await a.anon.get("/an-b")).status, 307);
        await a.app.clicks.flush();
        assert.equal((await a.api.get("/admin/v1/links/an-b")).json.data.click_count, 2);
        assert.equal((await a.api.get("/admin/v1/links/an-b/analytics")).json.data.total_clicks, 1);
      } finally {
        await a.app.config.reset("analytics.enable_auto_rollup", by, Date.now());
      }
    });
  });

  describe("summary and erasure (jmp)", () => {
    it("summary: clicks and links clicked in the range and the range before it, with the change", async () => {
      const all = (await a.api.get("/admin/v1/analytics/summary")).json.data;
      assert.equal(all.clicks, 6);
      assert.equal(all.links_clicked, 3);
      assert.deepEqual([all.previous.clicks, all.change_percentage], [0, null]);
      const day = 86_400_000;
      const yesterday = Date.now() - (Date.now() % day) - day + 3_600_000;
      await seedStats(yesterday, { "": 3, "an-a": 3 });
      const r = await a.api.get(`/admin/v1/analytics/summary?start_date=${today()}&end_date=${today()}`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.data.start, `${today()}T00:00:00.000Z`);
      assert.deepEqual(
        [
          r.json.data.clicks,
          r.json.data.previous.clicks,
          r.json.data.previous.links_clicked,
          r.json.data.change_percentage,
        ],
        [6, 3, 1, 100],
      );
    });

    it("erases a link's own counts (admin only, audited); the all-links totals keep the clicks", async () => {
      const writer = await a.api.post("/admin/v1/keys", {
        name: "an-writer",
        scopes: ["links:write", "analytics:read"],
      });
      const writerClient = new Client(a.url, { authorization: `Bearer ${writer.json.data.token}` });
      assert.equal((await writerClient.request("DELETE", "/admin/v1/links/an-b/analytics")).status, 403);
      assert.equal((await writerClient.request("DELETE", "/admin/v1/links/an/slash/analytics")).status, 403);

      const erased = await a.api.request("DELETE", "/admin/v1/links/an/slash/analytics");
      assert.equal(erased.status, 200, erased.text);
      assert.deepEqual(erased.json.data, { code: "an/slash", deleted_rows: 2, deleted_events: 0 });
      assert.equal((await a.api.get("/admin/v1/links/an/slash/analytics")).json.data.total_clicks, 0);
      assert.equal(
        (await a.api.get("/admin/v1/links/an/slash")).json.data.click_count,
        2,
        "the link keeps its count",
      );
      const trend = (await a.api.get(`/admin/v1/analytics/trends?start_date=${today()}`)).json.data;
      assert.equal(trend.values.at(-1), 6);
      const audit = await a.api.get("/admin/v1/audit?object_id=an/slash");
      assert.ok(
        audit.json.data.some((e: { action: string }) => e.action === "analytics.erase"),
        audit.text,
      );
      const one = await a.api.request("DELETE", "/admin/v1/links/an-b/analytics");
      assert.deepEqual(one.json.data, { code: "an-b", deleted_rows: 2, deleted_events: 0 });
    });
  });

  describe("the contract", () => {
    it("answers every route with its shape; breakdowns are empty without detailed logging", async () => {
      const data = async (route: string) => (await a.api.get(`/admin/v1/analytics/${route}`)).json.data;
      assert.deepEqual(await data("referrers"), []);
      assert.deepEqual(await data("geo"), []);
      assert.deepEqual(await data("devices"), {
        browsers: [],
        operating_systems: [],
        devices: [],
        bot_percentage: 0,
        total_with_ua: 0,
      });
      for (const route of ROUTES) {
        assert.equal((await a.api.request("HEAD", route)).status, 200, `HEAD ${route}`);
      }
    });

    it("exports CSV with its header even when empty, named after the resolved range", async () => {
      const r = await a.api.get("/admin/v1/analytics/export?start_date=2024-01-01&end_date=2024-01-31");
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("content-type"), "text/csv; charset=utf-8");
      assert.equal(
        r.headers.get("content-disposition"),
        'attachment; filename="analytics_20240101_20240131.csv"',
      );
      assert.equal(r.text, "short_code,clicked_at,referrer,source,ip_address,country,city\n");
    });

    it("refuses bad parameters on every route in the envelope: group_by, limit, dates, start after end", async () => {
      const routes = [...ROUTES, "/admin/v1/links/an-a/analytics", "/admin/v1/links/an/slash/analytics"];
      for (const route of routes) {
        for (const [query, code] of [
          ["group_by=year", 1000],
          ["limit=-1", 1000],
          ["limit=ten", 1000],
          ["start_date=yesterday", 6002],
          ["end_date=2024-02-30", 6002],
          ["start_date=2024-02-01&end_date=2024-01-01", 6002],
        ] as const) {
          const r = await a.api.get(`${route}?${query}`);
          assert.equal(r.status, 400, `${route}?${query}: ${r.text}`);
          assert.equal(r.json.code, code, `${route}?${query}`);
        }
      }
      const tooMany = await a.api.get("/admin/v1/analytics/trends?group_by=hour&start_date=2000-01-01");
      assert.equal(tooMany.json.code, 6002);
    });

    it("jmp analytics trends|top|link show the same numbers (tables with a sparkline, or --json)", async () => {
      const env = { JMP_URL: a.url, JMP_TOKEN: BOOTSTRAP_KEY };
      const top = await runJmp(["analytics", "top", "--json"], env);
      assert.equal(top.code, 0, top.stderr);
      assert.deepEqual(JSON.parse(top.stdout), (await a.api.get("/admin/v1/analytics/top")).json.data);
      const trends = await runJmp(["analytics", "trends", "--start", today()], env);
      assert.equal(trends.code, 0, trends.stderr);
      assert.match(trends.stdout, /^[▁▂▃▄▅▆▇█]+ {2}6 clicks\nPERIOD +CLICKS\n/);
      const link = JSON.parse(
        (await runJmp(["analytics", "link", "an-a", "--start", today(), "--json"], env)).stdout,
      );
      assert.equal(link.total_clicks, 3);
      const bad = await runJmp(["analytics", "trends", "--group-by", "year"], env);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /--group-by must be hour, day, week or month/);
    });

    it("needs analytics:read", async () => {
      const key = async (scopes: string[]) => {
        const r = await a.api.post("/admin/v1/keys", {
          name: `an-${scopes.join("-").replace(":", "_")}`,
          scopes,
        });
        return new Client(a.url, { authorization: `Bearer ${r.json.data.token}` });
      };
      const links = await key(["links:read"]);
      assert.equal((await links.get("/admin/v1/analytics/trends")).status, 403);
      assert.equal((await links.get("/admin/v1/links/an-a/analytics")).status, 403);
      assert.equal((await links.get("/admin/v1/links/an/slash/analytics")).status, 403);
      const reader = await key(["analytics:read"]);
      assert.equal((await reader.get("/admin/v1/analytics/top")).status, 200);
      assert.equal((await reader.get("/admin/v1/links/an-a/analytics")).status, 200);
      // A code with a slash reaches its analytics through /links/*: analytics:read is enough there too.
      assert.equal((await reader.get("/admin/v1/links/an/slash/analytics")).status, 200);
      assert.equal((await reader.get("/admin/v1/links/an/slash/analytics/devices")).status, 200);
      assert.equal(
        (await reader.get("/admin/v1/links/an/slash")).status,
        403,
        "the link itself needs links:read",
      );
      assert.equal((await a.anon.get("/admin/v1/analytics/top")).status, 401);
    });
  });
});
