// `npm run bench`: jmp's redirect path against baselines measured in the same run, on this machine, with the same
// load generator (wrk) and settings. Loopback only; bounded in time (a global deadline stops everything).
//
//   node bench/run.mjs [--links N] [--duration S] [--connections C] [--smoke] [--out FILE]
//
// Targets: a bare node:http + Map server (the Node baseline), jmp on SQLite, jmp on PostgreSQL + Redis (when
// reachable), nginx answering 302s from a map (when installed; the HTTP baseline).
// Workloads: hits over all codes, misses (random codes that do not exist), hits with 1 % admin writes (jmp only;
// the baselines have no writes, so their hit figures stand in).
// Prints req/s, p50/p99 and jmp ÷ Node-baseline ratios; writes the result as JSON under bench/results/.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
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
    duration: Number(value("--duration", smoke ? 1 : 10)),
    warmup: smoke ? 1 : 3,
    connections: Number(value("--connections", smoke ? 8 : 64)),
    out: value(
      "--out",
      path.join(ROOT, "bench/results", `${new Date().toISOString().replace(/[:.]/g, "-")}.json`),
    ),
  };
}

const opts = options(process.argv.slice(2));
const children = new Set();
const deadline = setTimeout(() => {
  console.error("bench: the 5-minute deadline passed; stopping");
  for (const child of children) child.kill("SIGKILL");
  process.exit(1);
}, DEADLINE_MS);
deadline.unref();

function have(command) {
  return spawnSync("sh", ["-c", `command -v ${command}`]).status === 0;
}

/** Installs a Debian package when missing and possible (root with apt-get); true when the command exists. */
function ensure(command, pkg) {
  if (have(command)) return true;
  if (process.getuid?.() !== 0 || !have("apt-get")) return false;
  console.error(`bench: installing ${pkg} from Debian`);
  spawnSync("apt-get", ["install", "-y", "-q", pkg], { stdio: "ignore", timeout: 180_000 });
  return have(command);
}

function start(command, args, env = {}) {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  child.on("exit", () => children.delete(child));
  return {
    child,
    output: () => output,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

async function waitFor(url, what) {
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(url, { redirect: "manual" });
      if (r.status < 500) return;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`${what} did not start`);
}

let nextPort = 18_100;
const port = () => nextPort++;

const TOKEN = `jmp_${randomBytes(30).toString("base64url").replace(/[-_]/g, "x").slice(0, 49)}`;

async function loadLinks(base) {
  const batch = 5000;
  for (let from = 0; from < opts.links; from += batch) {
    const links = [];
    for (let i = from; i < Math.min(opts.links, from + batch); i++) {
      links.push({ code: `c${i}`, target: `https://example.com/p/${i}` });
    }
    const r = await fetch(`${base}/admin/v1/links/batch`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ links }),
    });
    if (!r.ok) throw new Error(`loading links failed: ${r.status} ${await r.text()}`);
  }
}

const LUA = {
  hits: `math.randomseed(os.time())
request = function() return wrk.format("GET", "/c" .. math.random(0, ${opts.links - 1})) end`,
  misses: `math.randomseed(os.time())
request = function() return wrk.format("GET", "/m" .. math.random(0, 2000000000)) end`,
  mixed: `math.randomseed(os.time())
local headers = { ["Authorization"] = "Bearer ${TOKEN}", ["Content-Type"] = "application/json" }
request = function()
  local i = math.random(0, ${opts.links - 1})
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
for (const [name, body] of Object.entries(LUA)) writeFileSync(path.join(scripts, `${name}.lua`), body + DONE);

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
    socket_errors: r.socket_errors,
    status_4xx_5xx: r.status_4xx_5xx,
  };
}

async function measure(name, base, workloads) {
  const results = {};
  for (const workload of workloads) {
    wrk(base, workload, opts.warmup);
    results[workload] = wrk(base, workload, opts.duration);
    console.error(`bench: ${name} ${workload}: ${results[workload].rps} req/s`);
  }
  return results;
}

async function nodeBaseline() {
  const p = port();
  const server = start(process.execPath, [
    path.join(ROOT, "bench/node-baseline.mjs"),
    String(opts.links),
    String(p),
  ]);
  try {
    await waitFor(`http://127.0.0.1:${p}/c0`, "the Node baseline");
    return await measure("node", `http://127.0.0.1:${p}`, ["hits", "misses"]);
  } finally {
    await server.stop();
  }
}

async function jmp(name, env) {
  const p = port();
  const dataDir = mkdtempSync(path.join(tmpdir(), "jmp-bench-data-"));
  const server = start(process.execPath, [CLI, "serve"], {
    JMP_PORT: String(p),
    JMP_DATA_DIR: dataDir,
    JMP_BOOTSTRAP_API_KEY: TOKEN,
    JMP_LOG_LEVEL: "warn",
    ...env,
  });
  const base = `http://127.0.0.1:${p}`;
  try {
    await waitFor(`${base}/health/live`, `jmp (${name})`);
    await loadLinks(base);
    return await measure(name, base, ["hits", "misses", "mixed"]);
  } catch (err) {
    throw new Error(`${err.message}\n${server.output()}`, { cause: err });
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
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
  mkdirSync(path.join(dir, "logs"));
  const entries = [];
  for (let i = 0; i < opts.links; i++) entries.push(`  /c${i} https://example.com/p/${i};`);
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
  map_hash_max_size ${Math.max(2048, opts.links * 2)};
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
  try {
    await waitFor(`http://127.0.0.1:${p}/c0`, "nginx");
    return await measure("nginx", `http://127.0.0.1:${p}`, ["hits", "misses"]);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function ratio(a, b) {
  return a && b ? Math.round((a / b) * 100) / 100 : null;
}

async function main() {
  if (!ensure("wrk", "wrk")) {
    console.error("bench: wrk is needed (Debian: apt-get install wrk)");
    process.exit(2);
  }
  const started = Date.now();
  const results = { node: await nodeBaseline() };
  results["jmp-sqlite"] = await jmp("jmp-sqlite", {});
  if (!opts.smoke) {
    const redisUrl = process.env.JMP_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
    const db = await postgresDatabase();
    if (db && (await redisReachable(redisUrl))) {
      try {
        results["jmp-postgres-redis"] = await jmp("jmp-postgres-redis", {
          JMP_DATABASE_URL: db.url,
          JMP_REDIS_URL: redisUrl,
        });
      } finally {
        await db.drop();
      }
    } else {
      await db?.drop();
      console.error("bench: PostgreSQL + Redis not reachable; skipped");
    }
    const n = await nginx();
    if (n) results.nginx = n;
    else console.error("bench: nginx not available; skipped");
  }

  const rows = [];
  for (const [target, workloads] of Object.entries(results)) {
    for (const [workload, r] of Object.entries(workloads)) {
      const baseline = results.node[workload === "mixed" ? "hits" : workload];
      rows.push({ target, workload, ...r, vs_node: ratio(r.rps, baseline?.rps) });
    }
  }
  const report = {
    date: new Date().toISOString(),
    machine: { cpus: (await import("node:os")).cpus().length, node: process.version },
    settings: { links: opts.links, duration_s: opts.duration, connections: opts.connections, threads: 2 },
    seconds: Math.round((Date.now() - started) / 1000),
    rows,
  };
  mkdirSync(path.dirname(opts.out), { recursive: true });
  writeFileSync(opts.out, `${JSON.stringify(report, null, 2)}\n`);

  const pad = (v, n) => String(v).padEnd(n);
  console.log(
    `${pad("TARGET", 20)}${pad("WORKLOAD", 10)}${pad("REQ/S", 10)}${pad("P50 MS", 9)}${pad("P99 MS", 9)}÷ NODE`,
  );
  for (const r of rows) {
    console.log(
      `${pad(r.target, 20)}${pad(r.workload, 10)}${pad(r.rps, 10)}${pad(r.p50_ms.toFixed(2), 9)}${pad(r.p99_ms.toFixed(2), 9)}${r.vs_node ?? "-"}`,
    );
  }
  console.log(
    `\n${opts.links} links, ${opts.connections} connections, ${opts.duration} s per workload; written to ${path.relative(ROOT, opts.out)}`,
  );
  rmSync(scripts, { recursive: true, force: true });
  clearTimeout(deadline);
}

main().catch((err) => {
  console.error(`bench: ${err.stack ?? err}`);
  for (const child of children) child.kill("SIGKILL");
  process.exit(1);
});
