// `npm run bench:analytics`: the analytics API at 10 million recorded clicks (issue 20: global breakdowns answer
// from the hourly roll-ups in < 100 ms on SQLite and on PostgreSQL). Loads the events in bulk — 30 days, 100 000
// links, realistic vocabularies — with their roll-ups and exact counts, then times each route through HTTP on a
// jmp server started on that database (median of 5 requests after one warm-up). Loopback only, bounded in time.
//
//   node bench/analytics-scale.mjs [--events N] [--engines sqlite,postgres] [--out FILE]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { armDeadline, cleanups, log, median, ROOT, round, runCleanups } from "./lib/processes.mjs";
import { postgresDatabase, startJmp } from "./targets.mjs";
import { openStore } from "../dist/src/store/db.js";
import { migrateToLatest } from "../dist/src/store/migrate.js";
import { EVENT_COLUMNS, INSERT_EVENT } from "../dist/src/store/sqlite-event-writer.js";

const argv = process.argv.slice(2);
const value = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const EVENTS = Number(value("--events", 10_000_000));
const ENGINES = value("--engines", "sqlite,postgres").split(",");
const OUT = value(
  "--out",
  path.join(ROOT, "bench/results", `analytics-${new Date().toISOString().replace(/[:.]/g, "-")}.json`),
);
const LINKS = 100_000;
const DAY = 86_400_000;
const HOUR = 3_600_000;
const deadline = armDeadline(40 * 60_000);
const TOKEN = `jmp_${randomBytes(30).toString("base64url").replace(/[-_]/g, "x").slice(0, 49)}`;

const SOURCES = [
  "direct",
  "newsletter",
  "ref:www.google.com",
  "ref:news.example",
  "ref:t.co",
  "twitter",
  "qrcode",
];
const PLACES = [
  ["US", "New York"],
  ["DE", "Berlin"],
  ["FR", null],
  ["GB", "London"],
  ["JP", "Tokyo"],
  [null, null],
];
const AGENTS = [
  ["Chrome", "Windows", "desktop", 0],
  ["Safari", "iOS", "mobile", 0],
  ["Chrome", "Android", "mobile", 0],
  ["Firefox", "Linux", "desktop", 0],
  ["Safari", "macOS", "desktop", 0],
  ["Googlebot", null, "bot", 1],
];

/** Event i of N, spread evenly over the 30 days before `end`; deterministic vocabularies. */
function eventAt(i, start) {
  const time = start + Math.floor((i * 30 * DAY) / EVENTS);
  const [country, city] = PLACES[i % PLACES.length];
  const [browser, os, device, bot] = AGENTS[(i * 7) % AGENTS.length];
  return {
    code: `c${(i * 7919) % LINKS}`,
    clicked_at: time,
    hour: time - (time % HOUR),
    referrer: null,
    source: SOURCES[(i * 3) % SOURCES.length],
    browser,
    os,
    device,
    is_bot: bot,
    country,
    city,
    ip: "203.0.113.0",
    visitor: null,
  };
}

/** The roll-ups and exact counts of the loaded events, computed while generating them. */
class Rollups {
  dims = new Map();
  hours = new Map();
  add(e) {
    const add = (dim, v) => {
      if (v === null) return;
      const key = `${e.hour}\t${dim}\t${v}\t${e.is_bot}`;
      this.dims.set(key, (this.dims.get(key) ?? 0) + 1);
    };
    add("source", e.source);
    add("geo", e.country === null ? null : e.city === null ? e.country : `${e.country}/${e.city}`);
    add("browser", e.browser);
    add("os", e.os);
    add("device", e.device);
    const h = this.hours.get(e.hour) ?? { clicks: 0, bots: 0 };
    h.clicks++;
    h.bots += e.is_bot;
    this.hours.set(e.hour, h);
  }
}

async function loadSqlite(file, start, end) {
  const store = openStore({ engine: "sqlite", location: file });
  await migrateToLatest(store.db, "sqlite");
  await store.close();
  const { default: SQLite } = await import("better-sqlite3");
  const db = new SQLite(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = OFF");
  const insert = db.prepare(INSERT_EVENT);
  const rollups = new Rollups();
  const chunk = db.transaction((from, to) => {
    for (let i = from; i < to; i++) {
      const e = eventAt(i, start);
      rollups.add(e);
      insert.run(EVENT_COLUMNS.map((column) => e[column] ?? null));
    }
  });
  for (let from = 0; from < EVENTS; from += 200_000) {
    chunk(from, Math.min(EVENTS, from + 200_000));
    if (from % 2_000_000 === 0) log(`sqlite: ${from} events`);
  }
  const dim = db.prepare("insert into click_dims_hourly (hour, dim, value, bot, clicks) values (?,?,?,?,?)");
  const stat = db.prepare(
    "insert into click_stats_hourly (hour, code, clicks, bots, detailed) values (?, '', ?, ?, ?)",
  );
  const daily = db.prepare(
    "insert into click_stats_daily (day, code, clicks, bots, detailed) values (?, '', ?, ?, ?) on conflict (day, code) do update set clicks = clicks + excluded.clicks, bots = bots + excluded.bots, detailed = detailed + excluded.detailed",
  );
  db.transaction(() => {
    for (const [key, clicks] of rollups.dims) {
      const [hour, d, v, bot] = key.split("\t");
      dim.run(Number(hour), d, v, Number(bot), clicks);
    }
    for (const [hour, h] of rollups.hours) {
      stat.run(hour, h.clicks, h.bots, h.clicks);
      daily.run(hour - (hour % DAY), h.clicks, h.bots, h.clicks);
    }
  })();
  // Each link's exact counts, as the click flush keeps them: hourly for the last 7 days, daily for all 30.
  const boundary = end - (end % DAY) - 7 * DAY;
  db.exec(`insert into click_stats_hourly (hour, code, clicks)
    select hour, code, count(*) from click_events where hour >= ${boundary} group by hour, code`);
  db.exec(`insert into click_stats_daily (day, code, clicks)
    select hour - hour % ${DAY}, code, count(*) from click_events group by hour - hour % ${DAY}, code`);
  db.exec(
    "insert into links (code, target, created_at, updated_at) values ('c1', 'https://example.com/1', 0, 0)",
  );
  db.exec("analyze");
  db.close();
}

async function loadPostgres(url, start, end) {
  const store = openStore({ engine: "postgres", location: url });
  await migrateToLatest(store.db, "postgres");
  await store.close();
  const pg = (await import("pg")).default;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const arr = (list) => `array[${list.map((v) => (v === null ? "null" : `'${v}'`)).join(",")}]`;
  // The same deterministic events as SQLite's, generated by the server in slices of a million.
  for (let from = 0; from < EVENTS; from += 1_000_000) {
    const to = Math.min(EVENTS, from + 1_000_000);
    await client.query(`
      insert into click_events (code, clicked_at, hour, source, browser, os, device, is_bot, country, city, ip)
      select 'c' || ((i * 7919) % ${LINKS}), t, t - t % ${HOUR},
        (${arr(SOURCES)})[1 + (i * 3) % ${SOURCES.length}],
        (${arr(AGENTS.map((a) => a[0]))})[1 + (i * 7) % ${AGENTS.length}],
        (${arr(AGENTS.map((a) => a[1]))})[1 + (i * 7) % ${AGENTS.length}],
        (${arr(AGENTS.map((a) => a[2]))})[1 + (i * 7) % ${AGENTS.length}],
        (array[${AGENTS.map((a) => a[3]).join(",")}])[1 + (i * 7) % ${AGENTS.length}],
        (${arr(PLACES.map((p) => p[0]))})[1 + i % ${PLACES.length}],
        (${arr(PLACES.map((p) => p[1]))})[1 + i % ${PLACES.length}],
        '203.0.113.0'
      from generate_series(${from}::bigint, ${to - 1}::bigint) as i,
        lateral (select ${start}::bigint + (i * ${30 * DAY}::bigint) / ${EVENTS} as t) as times`);
    log(`postgres: ${to} events`);
  }
  for (const [dim, expr] of [
    ["source", "source"],
    ["geo", "case when city is null then country else country || '/' || city end"],
    ["browser", "browser"],
    ["os", "os"],
    ["device", "device"],
  ]) {
    await client.query(`insert into click_dims_hourly (hour, dim, value, bot, clicks)
      select hour, '${dim}', ${expr}, is_bot, count(*) from click_events where ${expr} is not null group by hour, ${expr}, is_bot`);
  }
  await client.query(`insert into click_stats_hourly (hour, code, clicks, bots, detailed)
    select hour, '', count(*), sum(is_bot), count(*) from click_events group by hour`);
  await client.query(`insert into click_stats_daily (day, code, clicks, bots, detailed)
    select hour - hour % ${DAY}, '', sum(clicks), sum(bots), sum(detailed) from click_stats_hourly group by hour - hour % ${DAY}`);
  const boundary = end - (end % DAY) - 7 * DAY;
  await client.query(`insert into click_stats_hourly (hour, code, clicks)
    select hour, code, count(*) from click_events where hour >= ${boundary} group by hour, code`);
  await client.query(`insert into click_stats_daily (day, code, clicks)
    select hour - hour % ${DAY}, code, count(*) from click_events group by hour - hour % ${DAY}, code`);
  await client.query(
    "insert into links (code, target, created_at, updated_at) values ('c1', 'https://example.com/1', 0, 0)",
  );
  await client.query("analyze");
  await client.end();
}

const ROUTES = [
  ["trends (30 days, by day)", "/admin/v1/analytics/trends", true],
  // Exact per-link counts summed over the range (up to a row per link and day): not a roll-up of all links.
  ["top links", "/admin/v1/analytics/top", false],
  ["referrers", "/admin/v1/analytics/referrers", true],
  ["geo", "/admin/v1/analytics/geo", true],
  ["devices", "/admin/v1/analytics/devices", true],
  ["summary (per-link counts)", "/admin/v1/analytics/summary", false],
  ["trends, exclude_bots", "/admin/v1/analytics/trends?exclude_bots=true", true],
  ["one link (c1)", "/admin/v1/links/c1/analytics", false],
  ["one link's devices (c1)", "/admin/v1/links/c1/analytics/devices", false],
  ["clicks, first page", "/admin/v1/analytics/clicks", false],
  ["referrers, country=DE (events)", "/admin/v1/analytics/referrers?country=DE", false],
];

async function timeRoutes(base) {
  const auth = { authorization: `Bearer ${TOKEN}` };
  const rows = [];
  for (const [name, route, judged] of ROUTES) {
    const get = async () => {
      const t = performance.now();
      const r = await fetch(base + route, { headers: auth });
      await r.text();
      if (r.status !== 200) throw new Error(`${route}: ${r.status}`);
      return performance.now() - t;
    };
    await get();
    const times = [];
    for (let i = 0; i < 5; i++) times.push(await get());
    rows.push({ route: name, ms: round(median(times), 1), judged });
  }
  return rows;
}

async function main() {
  const end = Date.now();
  const start = end - 30 * DAY;
  const report = { date: new Date().toISOString(), events: EVENTS, links: LINKS, engines: {} };
  for (const engine of ENGINES) {
    const dataDir = mkdtempSync(path.join(tmpdir(), "jmp-bench-analytics-"));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    let env = {};
    const loadStarted = Date.now();
    if (engine === "sqlite") {
      await loadSqlite(path.join(dataDir, "jmp.db"), start, end);
    } else {
      const db = await postgresDatabase();
      if (!db) {
        log("PostgreSQL not reachable; skipped");
        continue;
      }
      cleanups.push(db.drop);
      await loadPostgres(db.url, start, end);
      env = { JMP_DATABASE_URL: db.url };
    }
    const loadSeconds = round((Date.now() - loadStarted) / 1000);
    log(`${engine}: loaded ${EVENTS} events in ${loadSeconds} s`);
    const jmp = await startJmp(env, dataDir, TOKEN);
    const rows = await timeRoutes(jmp.base);
    await jmp.server.stop();
    report.engines[engine] = { load_s: loadSeconds, routes: rows };
  }
  mkdirSync(path.dirname(OUT), { recursive: true });
  writeFileSync(OUT, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\n${"ROUTE".padEnd(34)}${ENGINES.map((e) => e.toUpperCase().padEnd(12)).join("")}TARGET`);
  for (const [name, , judged] of ROUTES) {
    const cells = ENGINES.map((e) => {
      const row = report.engines[e]?.routes.find((r) => r.route === name);
      return String(row ? `${row.ms} ms` : "—").padEnd(12);
    });
    const met = ENGINES.every((e) => {
      const row = report.engines[e]?.routes.find((r) => r.route === name);
      return !row || row.ms < 100;
    });
    console.log(
      `${name.padEnd(34)}${cells.join("")}${judged ? `< 100 ms ${met ? "met" : "MISSED"}` : "report"}`,
    );
  }
  console.log(`\n${EVENTS} events over 30 days, ${LINKS} links; written to ${path.relative(ROOT, OUT)}`);
}

main()
  .then(runCleanups)
  .then(() => clearTimeout(deadline))
  .catch(async (err) => {
    console.error(`bench: ${err.stack ?? err}`);
    await runCleanups();
    process.exit(1);
  });
