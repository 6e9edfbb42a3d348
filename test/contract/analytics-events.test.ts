/**
 * Detailed analytics through HTTP on every engine (docs/analytics.md): real redirects on two instances, each with
 * its own GeoIP file (MaxMind's record shape on one, the flat ip-location-db shape on the other), recorded by the
 * analytics worker; then the breakdowns, filters, bots, the export, the click listing, privacy switches,
 * retention and erasure, as a client sees them.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { countryDatabase } from "../support/mmdb.js";
import { BOOTSTRAP_KEY, forEachEngine, runJmp, startServer, type TestServer } from "../support/server.js";

const CHROME_WINDOWS =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
const SAFARI_IPHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
const GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

function geoFiles() {
  const dir = mkdtempSync(path.join(tmpdir(), "jmp-geo-"));
  const maxmind = path.join(dir, "city.mmdb");
  writeFileSync(
    maxmind,
    countryDatabase([
      { cidr: "203.0.113.0/24", country: "DE", city: "Berlin" },
      { cidr: "198.51.100.0/24", country: "US" },
    ]),
  );
  const flat = path.join(dir, "dbip-city.mmdb");
  writeFileSync(flat, countryDatabase([{ cidr: "203.0.113.0/24", country: "FR", city: "Paris" }], "flat"));
  return { maxmind, flat };
}

forEachEngine("detailed analytics", (engine) => {
  let a: TestServer;
  let b: TestServer;
  const files = geoFiles();
  const proxies = { JMP_TRUSTED_PROXIES: "127.0.0.1,::1" };

  const visit = (server: TestServer, pathname: string, headers: Record<string, string>) =>
    server.anon.request("GET", pathname, { headers });
  const written = async () => {
    assert.equal(await a.app.capture!.flush(), true);
    assert.equal(await b.app.capture!.flush(), true);
  };
  const setConfig = async (key: string, value: unknown) => {
    // Values travel as strings (Shortlinker's wire form); arrays as JSON.
    const text = Array.isArray(value) ? JSON.stringify(value) : String(value);
    const r = await a.api.put(`/admin/v1/config/${key}`, { value: text });
    assert.equal(r.status, 200, r.text);
  };
  /** Waits until instance b has applied a config change made on a (through the change feed). */
  const bSees = async (key: string, value: unknown) => {
    const deadline = Date.now() + 5000;
    while ((b.app.config.get(key as never) as unknown) !== value) {
      assert.ok(Date.now() < deadline, `instance b never saw ${key}=${String(value)}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };

  before(async () => {
    a = await startServer(engine, { ...proxies, JMP_GEOIP_DATABASE: files.maxmind });
    b = await startServer(engine, { ...proxies, JMP_GEOIP_DATABASE: files.flat }, a.db);
    const links = ["ev-a", "ev-b", "ev/slash"].map((code) => ({
      code,
      target: `https://example.com/${code}`,
    }));
    assert.equal((await a.api.post("/admin/v1/links/batch", { links })).status, 200);
    await setConfig("analytics.enable_detailed_logging", true);
    await setConfig("analytics.enable_geo_lookup", true);
    await bSees("analytics.enable_geo_lookup", true);
    for (const { code } of links) {
      const deadline = Date.now() + 5000;
      while ((await b.anon.request("HEAD", `/${code}`)).status !== 307) {
        assert.ok(Date.now() < deadline, `instance b never saw ${code}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    // 7 clicks: 4 on a, 3 on b; one bot; sources nl (utm), ref:google.com, direct.
    const clicks: [TestServer, string, Record<string, string>][] = [
      [a, "/ev-a?utm_source=nl", { "user-agent": CHROME_WINDOWS, "x-forwarded-for": "203.0.113.7" }],
      [
        a,
        "/ev-a",
        {
          "user-agent": SAFARI_IPHONE,
          referer: "https://WWW.Google.com/search?q=x",
          "x-forwarded-for": "198.51.100.9",
        },
      ],
      [a, "/ev-b", { "user-agent": GOOGLEBOT, "x-forwarded-for": "192.0.2.1" }],
      [a, "/ev/slash", { "user-agent": CHROME_WINDOWS, "x-forwarded-for": "2001:db8:abcd:12::1" }],
      [b, "/ev-a?utm_source=nl", { "user-agent": CHROME_WINDOWS, "x-forwarded-for": "203.0.113.200" }],
      [b, "/ev-b", { "user-agent": SAFARI_IPHONE, "x-forwarded-for": "192.0.2.2" }],
      [b, "/ev/slash", { "user-agent": CHROME_WINDOWS, "x-forwarded-for": "192.0.2.3" }],
    ];
    for (const [server, pathname, headers] of clicks) {
      assert.equal((await visit(server, pathname, headers)).status, 307);
    }
    await a.app.clicks.flush();
    await b.app.clicks.flush();
    await written();
  });
  after(async () => {
    await b.close();
    await a.close();
  });

  it("referrers: utm_source, ref:<host> (lower-cased), direct; percentages sum to 100", async () => {
    const r = await a.api.get("/admin/v1/analytics/referrers");
    assert.equal(r.status, 200, r.text);
    const rows = r.json.data as { referrer: string; count: number; percentage: number }[];
    assert.deepEqual(
      rows.map((row) => [row.referrer, row.count]),
      [
        ["direct", 4],
        ["nl", 2],
        ["ref:www.google.com", 1],
      ],
    );
    const total = rows.reduce((sum, row) => sum + row.percentage, 0);
    assert.ok(Math.abs(total - 100) < 0.01, String(total));
    const humans = (await a.api.get("/admin/v1/analytics/referrers?exclude_bots=true")).json.data;
    assert.equal(humans[0].count, 3, "the Googlebot click was direct");
  });

  it("geo: both GeoIP record shapes (MaxMind's on one instance, the flat one on the other), cities", async () => {
    const r = await a.api.get("/admin/v1/analytics/geo");
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(
      (r.json.data as { country: string; city: string | null; count: number }[]).sort((x, y) =>
        x.country.localeCompare(y.country),
      ),
      [
        { country: "DE", city: "Berlin", count: 1 },
        { country: "FR", city: "Paris", count: 1 },
        { country: "US", city: null, count: 1 },
      ],
    );
  });

  it("devices: browsers, systems, device classes; the bot share", async () => {
    const r = await a.api.get("/admin/v1/analytics/devices");
    assert.equal(r.status, 200, r.text);
    const data = r.json.data;
    assert.equal(data.total_with_ua, 7);
    assert.ok(Math.abs(data.bot_percentage - 100 / 7) < 0.001, String(data.bot_percentage));
    const names = (list: { name: string; count: number }[]) => list.map((row) => [row.name, row.count]);
    assert.deepEqual(names(data.devices), [
      ["desktop", 4],
      ["mobile", 2],
      ["bot", 1],
    ]);
    assert.deepEqual(names(data.browsers).slice(0, 2), [
      ["Chrome", 4],
      ["Safari", 2],
    ]);
    assert.deepEqual(names(data.operating_systems), [
      ["Windows", 4],
      ["iOS", 2],
    ]);
    const capped = await a.api.get("/admin/v1/analytics/devices?limit=1");
    assert.deepEqual(names(capped.json.data.devices), [["desktop", 4]]);
    assert.equal(capped.json.data.devices[0].percentage, 100, "of the rows returned (Shortlinker's rule)");
  });

  it("trends and summary: exclude_bots subtracts the recorded bots from the exact counts", async () => {
    const all = (await a.api.get("/admin/v1/analytics/trends")).json.data.values as number[];
    const humans = (await a.api.get("/admin/v1/analytics/trends?exclude_bots=true")).json.data
      .values as number[];
    const sum = (values: number[]) => values.reduce((x, y) => x + y, 0);
    assert.deepEqual([sum(all), sum(humans)], [7, 6]);
    const summary = (await a.api.get("/admin/v1/analytics/summary")).json.data;
    assert.deepEqual(
      [summary.clicks, summary.bot_clicks, summary.detailed_clicks, summary.links_clicked],
      [7, 1, 7, 3],
    );
  });

  it("filters select recorded clicks: source, country, device, code, tag", async () => {
    const trend = async (query: string) =>
      ((await a.api.get(`/admin/v1/analytics/trends?${query}`)).json.data.values as number[]).reduce(
        (x, y) => x + y,
        0,
      );
    assert.equal(await trend("source=nl"), 2);
    assert.equal(await trend("country=DE"), 1);
    assert.equal(await trend("device=mobile"), 2);
    assert.equal(await trend("code=ev/slash"), 2);
    const top = await a.api.get("/admin/v1/analytics/top?browser=Chrome");
    assert.deepEqual(top.json.data, [
      { code: "ev-a", clicks: 2 },
      { code: "ev/slash", clicks: 2 },
    ]);
    assert.equal(
      (await a.api.put("/admin/v1/links/ev-b", { target: "https://example.com/b", tags: ["promo"] })).status,
      200,
    );
    assert.equal(await trend("tag=promo"), 2);
    const tags = await a.api.get("/admin/v1/analytics/tags");
    assert.equal(tags.status, 200, tags.text);
    assert.deepEqual(tags.json.data, [{ tag: "promo", clicks: 2, links: 1 }], "exact counts of its links");
    assert.equal((await a.api.get("/admin/v1/analytics/trends?exclude_bots=maybe")).status, 400);
    assert.equal((await a.api.get(`/admin/v1/analytics/trends?source=${"x".repeat(300)}`)).status, 400);
  });

  it("summary takes the filters: one link's exact counts, or the matching recorded clicks", async () => {
    const summary = async (query: string) => {
      const r = await a.api.get(`/admin/v1/analytics/summary?${query}`);
      assert.equal(r.status, 200, r.text);
      const d = r.json.data;
      return [d.clicks, d.bot_clicks, d.detailed_clicks, d.links_clicked];
    };
    assert.deepEqual(await summary("code=ev-a"), [3, 0, 3, 1]);
    assert.deepEqual(await summary("code=ev-b"), [2, 1, 2, 1]);
    assert.deepEqual(await summary("code=ev-b&exclude_bots=true"), [1, 0, 1, 1]);
    assert.deepEqual(await summary("browser=Chrome"), [4, 0, 4, 2]);
    assert.deepEqual(await summary("device=mobile&code=ev-a"), [1, 0, 1, 1]);
    assert.deepEqual(await summary("code=no-such-link"), [0, 0, 0, 0]);
  });

  it("per link: sources and places from its events, percentages of its recorded clicks; devices", async () => {
    const one = (await a.api.get("/admin/v1/links/ev-a/analytics")).json.data;
    assert.equal(one.total_clicks, 3);
    assert.deepEqual(
      one.top_referrers.map((r: { referrer: string; count: number; percentage: number }) => [
        r.referrer,
        r.count,
        Math.round(r.percentage),
      ]),
      [
        ["nl", 2, 67],
        ["ref:www.google.com", 1, 33],
      ],
    );
    assert.equal(one.geo_distribution.length, 3);
    const slash = await a.api.get("/admin/v1/links/ev/slash/analytics/devices");
    assert.equal(slash.status, 200, slash.text);
    assert.equal(slash.json.data.total_with_ua, 2);
    const bots = (await a.api.get("/admin/v1/links/ev-b/analytics/devices")).json.data;
    assert.equal(bots.bot_percentage, 50);
    const humans = (await a.api.get("/admin/v1/links/ev-b/analytics?exclude_bots=true")).json.data;
    assert.equal(humans.total_clicks, 1);
  });

  it("stored addresses are anonymised: IPv4 to /24, IPv6 to /48", async () => {
    const r = await a.api.get("/admin/v1/analytics/clicks?page_size=100");
    assert.equal(r.status, 200, r.text);
    const ips = (r.json.data.clicks as { ip: string }[]).map((c) => c.ip).sort();
    assert.deepEqual(ips, [
      "192.0.2.0",
      "192.0.2.0",
      "192.0.2.0",
      "198.51.100.0",
      "2001:db8:abcd::",
      "203.0.113.0",
      "203.0.113.0",
    ]);
  });

  it("clicks: newest first, keyset pages with next_cursor", async () => {
    const first = (await a.api.get("/admin/v1/analytics/clicks?page_size=4")).json.data;
    assert.equal(first.clicks.length, 4);
    assert.ok(first.next_cursor);
    const second = (await a.api.get(`/admin/v1/analytics/clicks?page_size=4&cursor=${first.next_cursor}`))
      .json.data;
    assert.equal(second.clicks.length, 3);
    assert.equal(second.next_cursor, null);
    const ids = [...first.clicks, ...second.clicks].map((c: { id: number }) => c.id);
    assert.deepEqual(
      ids,
      [...ids].sort((x, y) => y - x),
    );
    const bot = [...first.clicks, ...second.clicks].find((c: { is_bot: boolean }) => c.is_bot);
    assert.equal(bot.device, "bot");
    assert.equal((await a.api.get("/admin/v1/analytics/clicks?cursor=abc")).status, 400);
  });

  it("export: the header and one line per recorded click, formula-looking text defused", async () => {
    const r = await a.api.get("/admin/v1/analytics/export");
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type") ?? "", /^text\/csv/);
    const lines = r.text.trimEnd().split("\n");
    assert.equal(lines[0], "short_code,clicked_at,referrer,source,ip_address,country,city");
    assert.equal(lines.length, 8);
    assert.ok(
      lines
        .slice(1)
        .every((line) => /^[^,]+,\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?\+00:00,/.test(line)),
      lines.join("\n"),
    );
    assert.ok(lines.some((line) => line.includes(",https://WWW.Google.com/search?q=x,ref:www.google.com,")));
    assert.equal((await visit(a, "/ev-a?utm_source=%3Dcmd()", { "user-agent": CHROME_WINDOWS })).status, 307);
    await written();
    const again = await a.api.get("/admin/v1/analytics/export?source==cmd()");
    assert.match(again.text, /,'=cmd\(\),/);
  });

  it("jmp analytics referrers|geo|devices|clicks: the same numbers, filters as options", async () => {
    const env = { JMP_URL: a.url, JMP_TOKEN: BOOTSTRAP_KEY };
    const referrers = await runJmp(["analytics", "referrers", "--json"], env);
    assert.equal(referrers.code, 0, referrers.stderr);
    assert.deepEqual(
      JSON.parse(referrers.stdout),
      (await a.api.get("/admin/v1/analytics/referrers")).json.data,
    );
    const devices = await runJmp(["analytics", "devices", "--exclude-bots"], env);
    assert.equal(devices.code, 0, devices.stderr);
    assert.match(devices.stdout, /recorded clicks, 0\.0 % bots/);
    assert.match(devices.stdout, /Chrome/);
    const geo = await runJmp(["analytics", "geo", "--country", "DE"], env);
    assert.match(geo.stdout, /DE\s+Berlin\s+1/);
    const clicks = await runJmp(["analytics", "clicks", "--page-size", "2", "--code", "ev-a"], env);
    assert.equal(clicks.code, 0, clicks.stderr);
    assert.match(clicks.stdout, /next page: --cursor \d+/);
  });

  describe("privacy switches", () => {
    const recorded = async () =>
      Number((await a.api.get("/admin/v1/analytics/summary")).json.data.detailed_clicks);

    it("DNT and Sec-GPC, the opt-out parameter and ignored ranges: counted, not recorded", async () => {
      await a.app.clicks.flush();
      const before = await recorded();
      const clicksBefore = (await a.api.get("/admin/v1/links/ev-a")).json.data.click_count;
      await setConfig("analytics.disable_track_param", "nostat");
      await setConfig("analytics.ignore_ips", ["10.9.0.0/16"]);
      assert.equal((await visit(a, "/ev-a", { dnt: "1" })).status, 307);
      assert.equal((await visit(a, "/ev-a", { "sec-gpc": "1" })).status, 307);
      assert.equal((await visit(a, "/ev-a?nostat", {})).status, 307);
      assert.equal((await visit(a, "/ev-a", { "x-forwarded-for": "10.9.8.7" })).status, 307);
      await a.app.clicks.flush();
      await written();
      assert.equal(
        await recorded(),
        before,
        JSON.stringify((await a.api.get("/admin/v1/analytics/clicks?page_size=1")).json.data),
      );
      assert.equal((await a.api.get("/admin/v1/links/ev-a")).json.data.click_count, clicksBefore + 4);
      await setConfig("analytics.respect_dnt", false);
      assert.equal((await visit(a, "/ev-a", { dnt: "1" })).status, 307);
      await written();
      assert.equal(await recorded(), before + 1);
    });

    it("IP logging off stores no address; anonymize_ip off stores it whole; store_referrer=host", async () => {
      await setConfig("analytics.enable_ip_logging", false);
      await setConfig("analytics.store_referrer", "host");
      await visit(a, "/ev-b", { "x-forwarded-for": "192.0.2.77", referer: "https://news.example/a?b" });
      await written();
      let last = (await a.api.get("/admin/v1/analytics/clicks?page_size=1")).json.data.clicks[0];
      assert.deepEqual([last.ip, last.referrer], [null, "news.example"]);
      await setConfig("analytics.enable_ip_logging", true);
      await setConfig("analytics.anonymize_ip", false);
      await visit(a, "/ev-b", { "x-forwarded-for": "192.0.2.77" });
      await written();
      last = (await a.api.get("/admin/v1/analytics/clicks?page_size=1")).json.data.clicks[0];
      assert.equal(last.ip, "192.0.2.77");
      await setConfig("analytics.anonymize_ip", true);
    });

    it("record_bots off: a bot's click is counted but not recorded; sample_rate 0 records nothing", async () => {
      const before = await recorded();
      await setConfig("analytics.record_bots", false);
      await visit(a, "/ev-b", { "user-agent": GOOGLEBOT });
      await written();
      assert.equal(await recorded(), before);
      await setConfig("analytics.record_bots", true);
      await setConfig("analytics.sample_rate", 0);
      await visit(a, "/ev-b", { "user-agent": CHROME_WINDOWS });
      await written();
      assert.equal(await recorded(), before);
      await setConfig("analytics.sample_rate", 1);
    });
  });

  it("unique visitors (opt-in): one per address and User-Agent per day, from a salt every instance shares", async () => {
    assert.equal((await a.api.get("/admin/v1/analytics/summary")).json.data.visitors, null, "off by default");
    await setConfig("analytics.unique_visitors", true);
    await bSees("analytics.unique_visitors", true);
    const since = new Date().toISOString();
    // Two visitors: one clicking three times (on both instances), one once; a third with another User-Agent.
    for (const [server, ip, agent] of [
      [a, "198.51.100.1", CHROME_WINDOWS],
      [b, "198.51.100.1", CHROME_WINDOWS],
      [a, "198.51.100.1", CHROME_WINDOWS],
      [b, "198.51.100.2", CHROME_WINDOWS],
      [a, "198.51.100.2", SAFARI_IPHONE],
    ] as const) {
      await visit(server, "/ev-b", { "user-agent": agent, "x-forwarded-for": ip });
    }
    await written();
    const summary = (await a.api.get(`/admin/v1/analytics/summary?start_date=${since}`)).json.data;
    assert.equal(summary.visitors, 3);
    const salts = await a.app.store.db.selectFrom("click_salts").selectAll().execute();
    assert.equal(salts.length, 1, "one salt for today, shared by both instances");
    const listed = (await a.api.get("/admin/v1/analytics/clicks?page_size=1")).json.data.clicks[0];
    assert.match(listed.visitor, /^[0-9a-f]{16}$/);
    await a.app.store.db
      .insertInto("click_salts")
      .values({ day: Date.now() - (Date.now() % 86_400_000) - 5 * 86_400_000, salt: "old" })
      .execute();
    await a.app.statsRetention.run();
    assert.equal(
      (await a.app.store.db.selectFrom("click_salts").selectAll().execute()).length,
      1,
      "salts older than yesterday are deleted",
    );
    await setConfig("analytics.unique_visitors", false);
  });

  describe("retention and erasure", () => {
    it("log_retention_days deletes old events; max_log_rows cleanup keeps the newest; stop pauses", async () => {
      const DAY = 86_400_000;
      const old = Date.now() - 40 * DAY;
      await a.app.store.db
        .insertInto("click_events")
        .values(
          [1, 2].map(() => ({
            code: "ev-a",
            clicked_at: old,
            hour: old - (old % 3_600_000),
            source: "direct",
            device: "desktop",
            is_bot: 0,
          })),
        )
        .execute();
      const run = await a.app.statsRetention.run();
      assert.equal(run.events, 2, "the two events of 40 days ago (retention 30 days)");
      const stored = Number(
        (await a.api.get("/admin/v1/analytics/summary?start_date=2000-01-01")).json.data.detailed_clicks,
      );
      const count = async () =>
        Number(
          (
            await a.app.store.db
              .selectFrom("click_events")
              .select((eb) => eb.fn.countAll().as("n"))
              .executeTakeFirstOrThrow()
          ).n,
        );
      const events = await count();
      assert.ok(events >= 7 && stored >= 7, `${events} ${stored}`);

      await setConfig("analytics.max_log_rows", 5);
      await a.app.statsRetention.run();
      assert.equal(await count(), 5);
      const newest = (await a.api.get("/admin/v1/analytics/clicks?page_size=5")).json.data.clicks.length;
      assert.equal(newest, 5);

      await setConfig("analytics.max_rows_action", "stop");
      assert.equal((await a.app.statsRetention.run()).full, true);
      await visit(a, "/ev-a", {});
      await written();
      assert.equal(await count(), 5, "recording paused at the limit");
      await setConfig("analytics.max_log_rows", 0);
      assert.equal((await a.app.statsRetention.run()).full, false);
      await visit(a, "/ev-a", {});
      await written();
      assert.equal(await count(), 6, "recording resumed");
    });

    it("erasure deletes the link's events too", async () => {
      const erased = await a.api.request("DELETE", "/admin/v1/links/ev-a/analytics");
      assert.equal(erased.status, 200, erased.text);
      assert.ok(erased.json.data.deleted_events > 0);
      const one = (await a.api.get("/admin/v1/links/ev-a/analytics")).json.data;
      assert.deepEqual([one.total_clicks, one.top_referrers, one.geo_distribution], [0, [], []]);
    });
  });
});
