// `npm run bench`: jmp's redirect path against baselines measured in the same run, on this machine, with the same
// load generator (wrk) and settings. Loopback only; bounded in time (a global deadline stops everything).
//
//   node bench/run.mjs [--links N] [--duration S] [--rounds R] [--connections C] [--targets a,b] [--smoke]
//                      [--out FILE]
//
// Method (docs/performance.md):
// - Every target runs at once on its own port, loaded with the same N links (c0 … cN-1).
// - Each jmp target first gets one request per code (a warm cache, as in steady state).
// - For each workload, the targets take turns, R rounds of S seconds each: slow drifts of a shared machine hit
//   every target alike. A target's figure is the median of its rounds.
// - Workloads: hits over all codes; misses (random codes that do not exist); hits with 1 % admin writes (jmp
//   only, compared with the Node baseline's hits).
// - Targets: a bare node:http + Map server (the Node baseline); nginx 302s from a map (when installed); jmp on
//   SQLite; the same with JMP_METRICS=off (metrics overhead) and with JMP_WORKERS=2 (scaling), sharing its
//   database; jmp on PostgreSQL + Redis (when reachable).
// - Scale checks on jmp-sqlite with N links: time to ready after start, list page 1, streaming CSV export
//   (memory growth), CSV import of up to 100 000 new rows, RSS.
// Prints a table and the targets of issue 7 (met or missed, by how much); writes JSON under bench/results/.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const CLI = path.join(ROOT, "dist/src/cli/main.js");
const DEADLINE_MS = 5 * 60_000;

function options(argv) {
  const smoke = argv.includes("--smoke");
  const value = (name, fallback) => {
    const i = argv.indexOf(name);
    return i === -1 ? fallback : argv[i + 1];
  };
  return {
    smoke,
    links: Number(value("--links", smoke ? 1000 : 100_000)),
    duration: Number(value("--duration", smoke ? 1 : 4)),
    rounds: Number(value("--rounds", smoke ? 1 : 3)),
    connections: Number(value("--connections", smoke ? 8 : 64)),
    /** Which targets to run (default all; the Node baseline always runs, every ratio needs it). */
    targets: value("--targets", smoke ? "jmp-sqlite" : "")
      .split(",")
      .filter(Boolean),
    out: value(
      "--out",
      path.join(ROOT, "bench/results", `${new Date().toISOString().replace(/[:.]/g, "-")}.json`),
    ),
  };
}

const opts = options(process.argv.slice(2));
const wanted = (target) => opts.targets.length === 0 || opts.targets.includes(target);
const children = new Set();
/** Each started server's output, shown when the bench fails. */
const outputs = [];
const cleanups = [];
const deadline = setTimeout(() => {
  console.error("bench: the 5-minute deadline passed; stopping");
  for (const child of children) signalGroup(child, "SIGKILL");
  process.exit(1);
}, DEADLINE_MS);

/** Signals a started process and everything in its group. */
function signalGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}
deadline.unref();

const log = (message) => console.error(`bench: ${message}`);

function have(command) {
  return spawnSync("sh", ["-c", `command -v ${command}`]).status === 0;
}

/** Installs a Debian package when missing and possible (root with apt-get); true when the command exists. */
function ensure(command, pkg) {
  if (have(command)) return true;
  if (process.getuid?.() !== 0 || !have("apt-get")) return false;
  log(`installing ${pkg} from Debian`);
  spawnSync("apt-get", ["install", "-y", "-q", pkg], { stdio: "ignore", timeout: 180_000 });
  return have(command);
}

function start(command, args, env = {}) {
  // Its own process group: the bench pauses a target with all its processes (cluster workers, nginx workers).
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  children.add(child);
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  child.on("exit", () => children.delete(child));
  outputs.push(() => output);
  return {
    child,
    output: () => output,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        signalGroup(child, "SIGCONT");
        child.kill("SIGTERM");
      }),
  };
}

async function waitFor(url, what, ok = (status) => status < 500, seconds = 10) {
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    try {
      const r = await fetch(url, { redirect: "manual" });
      if (ok(r.status)) return;
    } catch {
      // not listening yet
    }
    await sleep(10);
  }
  throw new Error(`${what} did not start`);
}

/**
 * fetch, retried once: a pooled keep-alive connection may be closed by the server's idle timeout just as it is
 * reused ("other side closed") after a long wrk run.
 */
async function call(url, init) {
  try {
    return await fetch(url, init);
  } catch {
    return fetch(url, init);
  }
}

let nextPort = 18_100;
const port = () => nextPort++;

const TOKEN = `jmp_${randomBytes(30).toString("base64url").replace(/[-_]/g, "x").slice(0, 49)}`;
const AUTH = { authorization: `Bearer ${TOKEN}` };

async function loadLinks(base) {
  const batch = 5000;
  for (let from = 0; from < opts.links; from += batch) {
    const links = [];
    for (let i = from; i < Math.min(opts.links, from + batch); i++) {
      links.push({ code: `c${i}`, target: `https://example.com/p/${i}` });
    }
    const r = await call(`${base}/admin/v1/links/batch`, {
      method: "POST",
      headers: { ...AUTH, "content-type": "application/json" },
      body: JSON.stringify({ links }),
    });
    if (!r.ok) throw new Error(`loading links failed: ${r.status} ${await r.text()}`);
  }
}

const N = opts.links;
/**
 * Each wrk thread seeds its own generator. Seeded alike (`math.randomseed(os.time())` in the script), both
 * threads sent the same codes in the same order, so every code came twice in quick succession: half the "random"
 * hits were the second request of a pair, cached by the first (55 % cache hits at 1 000 000 links instead of 10 %).
 */
const SEED_PER_THREAD = `setup = function(thread) thread:set("id", __ID__) __ID__ = __ID__ + 1 end
init = function() math.randomseed(os.time() * 1000 + id * 7919) end`.replace(/__ID__/g, "_G.next_id");
const LUA = {
  // One request per code, each thread walking its own half: the warm-up.
  walk: `local counter, step = 0, 1
setup = function(thread) thread:set("id", __ID__) __ID__ = __ID__ + 1 end
init = function() counter = id * math.floor(${N} / 2) end
request = function() counter = (counter + 1) % ${N} return wrk.format("GET", "/c" .. counter) end`.replace(
    /__ID__/g,
    "_G.next_id",
  ),
  hits: `${SEED_PER_THREAD}
request = function() return wrk.format("GET", "/c" .. math.random(0, ${N - 1})) end`,
  misses: `${SEED_PER_THREAD}
request = function() return wrk.format("GET", "/m" .. math.random(0, 2000000000)) end`,
  mixed: `${SEED_PER_THREAD}
local headers = { ["Authorization"] = "Bearer ${TOKEN}", ["Content-Type"] = "application/json" }
request = function()
  local i = math.random(0, ${N - 1})
  if math.random(1, 100) == 1 then
    return wrk.format("PUT", "/admin/v1/links/c" .. i, headers, '{"target":"https://example.com/w/' .. i .. '"}')
  end
  return wrk.format("GET", "/c" .. i)
end`,
};
const DONE = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"socket_errors":%d,"status_4xx_5xx":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end`;

const scripts = mkdtempSync(path.join(tmpdir(), "jmp-bench-"));
cleanups.push(() => rmSync(scripts, { recursive: true, force: true }));
for (const [name, body] of Object.entries(LUA)) {
  const prelude = "_G.next_id = 0\n";
  writeFileSync(path.join(scripts, `${name}.lua`), prelude + body + DONE);
}

function wrk(base, workload, seconds) {
  const args = [
    "-t2",
    `-c${opts.connections}`,
    `-d${seconds}s`,
    "--latency",
    "-s",
    path.join(scripts, `${workload}.lua`),
    base,
  ];
  const run = spawnSync("wrk", args, { encoding: "utf8", timeout: (seconds + 30) * 1000 });
  const line = run.stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (!line) throw new Error(`wrk failed: ${run.stderr || run.stdout}`);
  const r = JSON.parse(line.slice(7));
  return {
    rps: Math.round(r.requests / (r.duration_us / 1e6)),
    p50_ms: r.p50_us / 1000,
    p99_ms: r.p99_us / 1000,
    requests: r.requests,
    errors: r.socket_errors,
  };
}

/**
 * Pause time of the main thread's garbage collections (prom-client's GC metric). Before V8's allocation-site
 * pretenuring was turned off (src/main.ts), some jmp processes ran a whole measurement with GC costing ten times
 * its usual share; this column shows whether a process's GC went bad, whatever the cause.
 */
const GC_SECONDS = "nodejs_gc_duration_seconds_sum";

/** A sample of jmp's Prometheus metrics (summed over label sets when `labels` is omitted). */
async function metric(base, name, labels) {
  const r = await call(`${base}/health/metrics`, { headers: AUTH });
  if (!r.ok) return null;
  const text = await r.text();
  let total = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const series = line.slice(0, line.lastIndexOf(" "));
    if (series !== name && !series.startsWith(`${name}{`)) continue;
    if (labels && series !== `${name}{${labels}}`) continue;
    total += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return total;
}

/**
 * Waits for jmp's start-up cache fill to end (its `links` layer stops growing); true when it holds all N links
 * in each worker. False sends the target through the walk, which is always correct, only slower.
 */
async function cacheHoldsAll(target) {
  const want = N * (target.workers ?? 1);
  let last = -1;
  for (let i = 0; i < 300; i++) {
    const entries = await metric(target.base, "jmp_cache_entries", 'layer="links"');
    if (entries === null) return false;
    if (entries >= want) return true;
    if (entries === last) return false;
    last = entries;
    await sleep(100);
  }
  return false;
}

function rssBytes(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) * 1024;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- targets

function nodeBaseline() {
  const p = port();
  const server = start(process.execPath, [path.join(ROOT, "bench/node-baseline.mjs"), String(N), String(p)]);
  cleanups.push(server.stop);
  const base = `http://127.0.0.1:${p}`;
  return {
    name: "node",
    base,
    process: server.child,
    ready: waitFor(`${base}/c0`, "the Node baseline"),
    workloads: ["hits", "misses"],
  };
}

async function startJmp(env, dataDir) {
  const p = port();
  const server = start(process.execPath, [CLI, "serve"], {
    JMP_PORT: String(p),
    JMP_DATA_DIR: dataDir,
    JMP_BOOTSTRAP_API_KEY: TOKEN,
    JMP_LOG_LEVEL: "warn",
    ...env,
  });
  cleanups.push(server.stop);
  const base = `http://127.0.0.1:${p}`;
  const started = Date.now();
  try {
    await waitFor(`${base}/health/ready`, "jmp", (status) => status === 200);
  } catch (err) {
    throw new Error(`${err.message}\n${server.output()}`, { cause: err });
  }
  return { base, server, process: server.child, readyMs: Date.now() - started };
}

async function postgresDatabase() {
  const admin = process.env.JMP_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
  let pg;
  try {
    pg = (await import("pg")).default;
  } catch {
    return null;
  }
  const client = new pg.Client({ connectionString: admin, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
  } catch {
    return null;
  }
  const name = `jmp_bench_${randomBytes(4).toString("hex")}`;
  await client.query(`create database ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

async function redisReachable(url) {
  try {
    const { Redis } = await import("ioredis");
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    await redis.connect();
    await redis.ping();
    redis.disconnect();
    return true;
  } catch {
    return false;
  }
}

async function nginx() {
  if (!ensure("nginx", "nginx-light") && !have("nginx")) return null;
  const dir = mkdtempSync(path.join(tmpdir(), "jmp-bench-nginx-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(path.join(dir, "logs"));
  const entries = [];
  for (let i = 0; i < N; i++) entries.push(`  /c${i} https://example.com/p/${i};`);
  writeFileSync(path.join(dir, "links.map"), entries.join("\n"));
  const p = port();
  writeFileSync(
    path.join(dir, "nginx.conf"),
    `worker_processes 1;
error_log ${dir}/logs/error.log;
pid ${dir}/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  map_hash_max_size ${Math.max(2048, N * 2)};
  map_hash_bucket_size 128;
  map $uri $target {
    default "";
    include ${dir}/links.map;
  }
  server {
    listen 127.0.0.1:${p};
    location / {
      if ($target = "") { return 404; }
      return 302 $target;
    }
  }
}
`,
  );
  const server = start("nginx", ["-p", dir, "-c", path.join(dir, "nginx.conf"), "-g", "daemon off;"]);
  cleanups.push(server.stop);
  const base = `http://127.0.0.1:${p}`;
  // nginx builds its map hash before it listens: seconds for a million entries on a slow machine.
  await waitFor(`${base}/c0`, "nginx", undefined, 60);
  return { name: "nginx", base, process: server.child, workloads: ["hits", "misses"] };
}

// ---------------------------------------------------------------- scale checks

async function scaleChecks(base, pid) {
  const timed = async (fn) => {
    const t = performance.now();
    const result = await fn();
    return { ms: performance.now() - t, result };
  };
  const listTimes = [];
  for (let i = 0; i < 15; i++) {
    const { ms, result } = await timed(() =>
      call(`${base}/admin/v1/links?page=1&page_size=20`, { headers: AUTH }).then((r) => r.json()),
    );
    if (result.code !== 0) throw new Error(`list failed: ${JSON.stringify(result)}`);
    listTimes.push(ms);
  }
  listTimes.sort((a, b) => a - b);

  // Export: stream the CSV, count rows, sample the server's RSS meanwhile.
  const rssBefore = rssBytes(pid);
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssBytes(pid) ?? 0)), 20);
  // Flat memory means the second half of the rows adds nothing: buffers fill in the first half, then stay.
  let rssPeakAtHalf = null;
  const exported = await timed(async () => {
    const r = await call(`${base}/admin/v1/links/export`, { headers: AUTH });
    let rows = -1;
    const decoder = new TextDecoder();
    for await (const chunk of r.body) {
      const text = decoder.decode(chunk, { stream: true });
      for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) rows++;
      if (rssPeakAtHalf === null && rows >= N / 2) rssPeakAtHalf = rssPeak;
    }
    return rows;
  });
  clearInterval(sampler);
  rssPeak = Math.max(rssPeak, rssBytes(pid) ?? 0);

  // Import up to 100 000 new rows from CSV (Shortlinker's columns).
  const importRows = Math.min(100_000, N);
  const lines = ["code,target,created_at,expires_at,password,click_count"];
  const created = new Date().toISOString();
  for (let i = 0; i < importRows; i++) lines.push(`i${i},https://example.com/i/${i},${created},,,0`);
  const form = new FormData();
  form.append("file", new Blob([lines.join("\n")], { type: "text/csv" }), "links.csv");
  const imported = await timed(() =>
    call(`${base}/admin/v1/links/import`, { method: "POST", headers: AUTH, body: form }).then((r) =>
      r.json(),
    ),
  );
  if (imported.result.data?.success_count !== importRows) {
    throw new Error(`import failed: ${JSON.stringify(imported.result).slice(0, 300)}`);
  }
  return {
    list_page1_ms: round(listTimes[Math.floor(listTimes.length / 2)]),
    export_rows: exported.result,
    export_s: round(exported.ms / 1000),
    export_rss_growth_mb: round((rssPeak - rssBefore) / 2 ** 20),
    export_rss_growth_second_half_mb: round((rssPeak - (rssPeakAtHalf ?? rssPeak)) / 2 ** 20),
    import_rows: importRows,
    import_s: round(imported.ms / 1000),
  };
}

// ---------------------------------------------------------------- run

let allTargets = [];

/**
 * Runs `measure` with every other target paused (SIGSTOP to its process group): an idle server still polls,
 * flushes and collects garbage, and on a 2-core machine that is noise in the measured one's figures.
 */
function alone(target, measure) {
  const others = allTargets.filter((t) => t !== target && t.process);
  for (const other of others) signalGroup(other.process, "SIGSTOP");
  try {
    const before = cpuSeconds(target.process.pid);
    const result = measure();
    result.cpu_us_per_request = round(((cpuSeconds(target.process.pid) - before) * 1e6) / result.requests, 1);
    return result;
  } finally {
    for (const other of others) signalGroup(other.process, "SIGCONT");
  }
}

const TICKS_PER_SECOND = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout) || 100;

/**
 * CPU time (user + system, every thread) used so far by a process group: the server's cost per request,
 * whatever share of the machine the load generator took meanwhile. On a shared or virtual machine it varies
 * less than requests per second do.
 */
function cpuSeconds(group) {
  let ticks = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // After "pid (comm) ": state ppid pgrp … utime (11th) stime (12th)
      if (Number(fields[2]) === group) ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks / TICKS_PER_SECOND;
}

const round = (v, digits = 2) =>
  v === null || v === undefined ? null : Math.round(v * 10 ** digits) / 10 ** digits;
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

async function main() {
  if (!ensure("wrk", "wrk")) {
    log("wrk is needed (Debian: apt-get install wrk)");
    process.exit(2);
  }
  const started = Date.now();
  const targets = [];
  const node = nodeBaseline();
  await node.ready;
  targets.push(node);
  const report = { scale: null, ready_ms: {}, load_s: {} };
  let loaderRssMb;

  if (wanted("jmp-sqlite")) {
    const dataDir = mkdtempSync(path.join(tmpdir(), "jmp-bench-data-"));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const loader = await startJmp({}, dataDir);
    let t = Date.now();
    await loadLinks(loader.base);
    report.load_s["jmp-sqlite"] = round((Date.now() - t) / 1000);
    log(`loaded ${N} links into jmp-sqlite in ${report.load_s["jmp-sqlite"]} s`);
    // The RSS of the process that bulk-loaded N links through the API: V8 keeps the heap it grew for the load.
    loaderRssMb = round(rssBytes(loader.process.pid) / 2 ** 20);
    await loader.server.stop();
    // The measured instances start on the loaded database, as an instance does after a deploy; their start-up
    // is the "ready with N links" figure. Each gets its own copy of the file (made while no process has it
    // open): a paused process that shares the file can hold its write lock, or keep WAL checkpoints from
    // completing, while another target is measured.
    const copyOf = () => {
      const copy = mkdtempSync(path.join(tmpdir(), "jmp-bench-data-"));
      cleanups.push(() => rmSync(copy, { recursive: true, force: true }));
      cpSync(dataDir, copy, { recursive: true });
      return copy;
    };
    const variants = opts.smoke
      ? []
      : [
          { name: "jmp-sqlite-metrics-off", env: { JMP_METRICS: "off" }, dir: copyOf() },
          { name: "jmp-sqlite-2-workers", env: { JMP_WORKERS: "2" }, dir: copyOf() },
        ];
    // Two processes with identical code and data can differ here by 10–20 % in CPU per request for their whole
    // life, more than the 5 % the metrics cost is judged against: it is the median of three processes a side.
    // At N > 100 000 (jmp's cache size) each extra process needs a 30 s walk, which the deadline has no room for.
    if (!opts.smoke && N <= 100_000) {
      for (const suffix of ["b", "c"]) {
        variants.push(
          { name: `jmp-sqlite-${suffix}`, env: {}, dir: copyOf() },
          { name: `jmp-sqlite-metrics-off-${suffix}`, env: { JMP_METRICS: "off" }, dir: copyOf() },
        );
      }
    }
    const sqlite = await startJmp({}, dataDir);
    report.ready_ms["jmp-sqlite"] = sqlite.readyMs;
    targets.push({ name: "jmp-sqlite", ...sqlite, workloads: ["hits", "misses", "mixed"] });
    for (const variant of variants) {
      const started = await startJmp(variant.env, variant.dir);
      report.ready_ms[variant.name] = started.readyMs;
      targets.push({
        name: variant.name,
        ...started,
        workers: Number(variant.env.JMP_WORKERS ?? 1),
        workloads: ["hits"],
      });
    }
  }
  if (!opts.smoke && wanted("jmp-postgres-redis")) {
    const redisUrl = process.env.JMP_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
    const db = await postgresDatabase();
    if (db && (await redisReachable(redisUrl))) {
      cleanups.push(db.drop);
      const dataDir = mkdtempSync(path.join(tmpdir(), "jmp-bench-data-"));
      cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
      const env = { JMP_DATABASE_URL: db.url, JMP_REDIS_URL: redisUrl };
      const loader = await startJmp(env, dataDir);
      const t = Date.now();
      await loadLinks(loader.base);
      report.load_s["jmp-postgres-redis"] = round((Date.now() - t) / 1000);
      log(`loaded ${N} links into jmp-postgres-redis in ${report.load_s["jmp-postgres-redis"]} s`);
      await loader.server.stop();
      const pg = await startJmp(env, dataDir);
      report.ready_ms["jmp-postgres-redis"] = pg.readyMs;
      targets.push({ name: "jmp-postgres-redis", ...pg, workloads: ["hits", "misses", "mixed"] });
    } else {
      await db?.drop();
      log("PostgreSQL + Redis not reachable; skipped");
    }
  }
  if (!opts.smoke && wanted("nginx")) {
    const n = await nginx();
    if (n) targets.push(n);
    else log("nginx not available; skipped");
  }

  allTargets = targets;
  const jmpTargets = targets.filter((t) => t.name.startsWith("jmp"));
  // Steady state: every code cached that fits, and a process that has served a while. jmp fills its cache after
  // start; where that took in every link (N ≤ the cache size), 3 s of the walk stand in for the whole of it.
  // Otherwise one request per code: a 1 s probe measures the cold rate, then one walk long enough to reach every
  // code (at most 30 s).
  for (const target of jmpTargets) {
    // Without metrics a process cannot say what its cache holds; it fills it as jmp-sqlite (warmed first) did.
    const metricsOff = target.name.includes("metrics-off");
    target.cacheHoldsAll = metricsOff ? jmpTargets[0].cacheHoldsAll : await cacheHoldsAll(target);
    if (target.cacheHoldsAll) {
      wrk(target.base, "walk", 3);
      log(`warmed ${target.name} (its cache took in all ${N} links at start; walked for 3 s)`);
      continue;
    }
    const probe = wrk(target.base, "walk", 1);
    const seconds = Math.min(30, Math.ceil(N / Math.max(1000, probe.rps)) + 1);
    wrk(target.base, "walk", seconds);
    target.cachedLinks = await metric(target.base, "jmp_cache_entries", 'layer="links"');
    log(`warmed ${target.name} (cold: ${probe.rps} req/s; walked for ${seconds} s)`);
  }

  const runs = {};
  const dbLookups = {};
  for (const workload of ["hits", "misses", "mixed"]) {
    const taking = targets.filter((t) => t.workloads.includes(workload));
    for (const target of taking) wrk(target.base, workload, 1); // settle
    for (const target of taking) {
      if (workload === "misses" && target.name.startsWith("jmp")) {
        dbLookups[target.name] = -(await metric(target.base, "jmp_redirect_db_lookups_total"));
      }
    }
    for (let r = 0; r < opts.rounds; r++) {
      for (const target of taking) {
        // jmp's own account of its main thread's GC pauses (null where metrics are off, and for the baselines).
        const gcBefore = target.name.startsWith("jmp") ? await metric(target.base, GC_SECONDS) : null;
        const result = alone(target, () => wrk(target.base, workload, opts.duration));
        const gcAfter = gcBefore === null ? null : await metric(target.base, GC_SECONDS);
        result.gc_us_per_request =
          gcAfter === null ? null : round(((gcAfter - gcBefore) * 1e6) / result.requests, 1);
        (runs[`${target.name}/${workload}`] ??= []).push(result);
      }
    }
    for (const target of taking) {
      if (workload === "misses" && target.name.startsWith("jmp")) {
        dbLookups[target.name] += await metric(target.base, "jmp_redirect_db_lookups_total");
      }
    }
    log(
      `${workload}: ${taking.map((t) => `${t.name} ${median(runs[`${t.name}/${workload}`].map((x) => x.rps))}`).join(", ")}`,
    );
  }

  const sqlite = targets.find((t) => t.name === "jmp-sqlite");
  if (sqlite) {
    // Serving N links after every workload; the import below parses a whole 10 MB file, a passing peak.
    const rss = rssBytes(sqlite.server.child.pid);
    report.scale = await scaleChecks(sqlite.base, sqlite.server.child.pid);
    report.scale.rss_mb = round(rss / 2 ** 20);
    if (loaderRssMb !== undefined) report.scale.rss_loader_mb = loaderRssMb;
    report.scale.ready_ms = report.ready_ms["jmp-sqlite"] ?? null;
  }

  const rows = [];
  for (const [key, list] of Object.entries(runs)) {
    const [target, workload] = key.split("/");
    const rps = median(list.map((x) => x.rps));
    const baselineRuns = runs[`node/${workload === "mixed" ? "hits" : workload}`];
    const baseline = median(baselineRuns.map((x) => x.rps));
    const cpu = median(list.map((x) => x.cpu_us_per_request));
    rows.push({
      target,
      workload,
      rps,
      p50_ms: median(list.map((x) => x.p50_ms)),
      p99_ms: median(list.map((x) => x.p99_ms)),
      rounds: list.map((x) => x.rps),
      cpu_us_per_request: cpu,
      gc_us_per_request:
        list[0].gc_us_per_request === null ? null : median(list.map((x) => x.gc_us_per_request)),
      // Efficiency: the Node baseline's CPU per request ÷ this target's (1 = as cheap as the baseline).
      cpu_vs_node: round(median(baselineRuns.map((x) => x.cpu_us_per_request)) / cpu),
      errors: list.reduce((sum, x) => sum + x.errors, 0),
      vs_node: round(rps / baseline),
      ...(workload === "misses" && target in dbLookups
        ? { requests: list.reduce((sum, x) => sum + x.requests, 0), db_lookups: dbLookups[target] }
        : {}),
    });
  }
  const find = (target, workload) => rows.find((r) => r.target === target && r.workload === workload);
  const checks = [];
  const check = (name, value, target, met) => checks.push({ name, value, target, met });
  for (const name of ["jmp-sqlite", "jmp-postgres-redis"]) {
    const hits = find(name, "hits");
    const misses = find(name, "misses");
    const target = targets.find((t) => t.name === name);
    if (hits && target?.cacheHoldsAll === false) {
      // The cache is bounded on purpose (the 1 000 000-link RSS target): uniformly random hits over more links
      // than it holds are mostly database reads, which the bare Map server never does. Reported, not judged.
      const held = target.cachedLinks ? `cache holds ${target.cachedLinks} of ${N}` : "cache smaller than N";
      checks.push({ name: `${name} hits ÷ node (${held})`, value: hits.vs_node, target: "report" });
      checks.push({ name: `${name} hits p99 ms (${held})`, value: hits.p99_ms, target: "report" });
    } else if (hits) {
      check(`${name} hits ÷ node`, hits.vs_node, "≥ 0.80", hits.vs_node >= 0.8);
      check(`${name} hits p99 ms`, hits.p99_ms, "< 10", hits.p99_ms < 10);
    }
    if (hits)
      checks.push({ name: `${name} hits: node's CPU ÷ jmp's`, value: hits.cpu_vs_node, target: "report" });
    if (misses) check(`${name} misses ÷ node`, misses.vs_node, "≥ 0.80", misses.vs_node >= 0.8);
    if (misses) check(`${name} DB queries for misses`, misses.db_lookups, "0", misses.db_lookups === 0);
  }
  const on = find("jmp-sqlite", "hits");
  const off = find("jmp-sqlite-metrics-off", "hits");
  if (on && off) {
    // CPU per request is what metrics add; req/s differences of a few % between two processes are noise here.
    const ons = [on, find("jmp-sqlite-b", "hits"), find("jmp-sqlite-c", "hits")].filter(Boolean);
    const offs = ["", "-b", "-c"].map((s) => find(`jmp-sqlite-metrics-off${s}`, "hits")).filter(Boolean);
    const mid = (list, field) => median(list.map((r) => r[field]));
    const processes = ons.length > 1 ? `, median of ${ons.length} processes` : "";
    const cost = round(mid(ons, "cpu_us_per_request") / mid(offs, "cpu_us_per_request") - 1, 3);
    check(`metrics cost (CPU per hit, on ÷ off − 1${processes})`, cost, "≤ 0.05", cost <= 0.05);
    checks.push({
      name: `metrics cost (1 − req/s on ÷ off${processes})`,
      value: round(1 - mid(ons, "rps") / mid(offs, "rps"), 3),
      target: "report",
    });
  }
  const two = find("jmp-sqlite-2-workers", "hits");
  if (on && two)
    checks.push({ name: "2 workers ÷ 1 worker (hits)", value: round(two.rps / on.rps), target: "report" });
  if (report.scale) {
    const s = report.scale;
    check(`RSS serving ${N} links (MB)`, s.rss_mb, "≤ 300", s.rss_mb <= 300);
    if (s.rss_loader_mb !== undefined) {
      const mb = s.rss_loader_mb;
      check(`RSS of the process that loaded the ${N} links (MB)`, mb, "≤ 300", mb <= 300);
    }
    if (s.ready_ms !== null)
      check(`ready after start, ${N} links (ms)`, s.ready_ms, "≤ 3000", s.ready_ms <= 3000);
    check("list page 1 (ms)", s.list_page1_ms, "< 20", s.list_page1_ms < 20);
    checks.push({
      name: `export ${s.export_rows} rows: RSS growth (MB)`,
      value: s.export_rss_growth_mb,
      target: "report",
    });
    check(
      "export: RSS growth over its second half (MB)",
      s.export_rss_growth_second_half_mb,
      "flat (< 16)",
      s.export_rss_growth_second_half_mb < 16,
    );
    check(`import ${s.import_rows} rows (s)`, s.import_s, "< 30", s.import_s < 30);
  }

  const result = {
    date: new Date().toISOString(),
    machine: { cpus: (await import("node:os")).cpus().length, node: process.version },
    settings: {
      links: N,
      duration_s: opts.duration,
      rounds: opts.rounds,
      connections: opts.connections,
      threads: 2,
    },
    seconds: Math.round((Date.now() - started) / 1000),
    rows,
    ...report,
    checks,
  };
  mkdirSync(path.dirname(opts.out), { recursive: true });
  writeFileSync(opts.out, `${JSON.stringify(result, null, 2)}\n`);

  const pad = (v, n) => String(v).padEnd(n);
  console.log(
    `${pad("TARGET", 24)}${pad("WORKLOAD", 10)}${pad("REQ/S", 10)}${pad("P50 MS", 9)}${pad("P99 MS", 9)}${pad("÷ NODE", 8)}${pad("CPU µS/REQ", 12)}${pad("CPU ÷", 7)}${pad("GC µS", 7)}DB QUERIES`,
  );
  for (const r of rows) {
    console.log(
      `${pad(r.target, 24)}${pad(r.workload, 10)}${pad(r.rps, 10)}${pad(r.p50_ms.toFixed(2), 9)}${pad(r.p99_ms.toFixed(2), 9)}${pad(r.vs_node, 8)}${pad(r.cpu_us_per_request, 12)}${pad(r.cpu_vs_node, 7)}${pad(r.gc_us_per_request ?? "", 7)}${r.db_lookups ?? ""}`,
    );
  }
  if (checks.length > 0) {
    const width = Math.max(...checks.map((c) => c.name.length)) + 2;
    console.log(`\n${pad("CHECK", width)}${pad("VALUE", 10)}${pad("TARGET", 12)}`);
    for (const c of checks) {
      const verdict = c.met === undefined ? "" : c.met ? "met" : "MISSED";
      console.log(`${pad(c.name, width)}${pad(c.value, 10)}${pad(c.target, 12)}${verdict}`);
    }
  }
  console.log(
    `\n${N} links, ${opts.connections} connections, ${opts.rounds} × ${opts.duration} s per target and workload, ${result.seconds} s in all; written to ${path.relative(ROOT, opts.out)}`,
  );
}

async function cleanup() {
  for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch(() => {});
}

main()
  .then(cleanup)
  .then(() => clearTimeout(deadline))
  .catch(async (err) => {
    console.error(`bench: ${err.stack ?? err}${err.cause ? `\ncause: ${err.cause.stack ?? err.cause}` : ""}`);
    for (const output of outputs)
      if (output()) console.error(`--- a server's output:\n${output().slice(-3000)}`);
    for (const child of children) signalGroup(child, "SIGKILL");
    await cleanup();
    process.exit(1);
  });
