// `npm run bench`: jmp's redirect path against baselines measured in the same run, on this machine, with the same
// load generator (wrk) and settings. Loopback only; bounded in time (a global deadline stops everything).
//
//   node bench/run.mjs [--links N] [--duration S] [--rounds R] [--connections C] [--wrk-threads T]
//                      [--targets a,b] [--workloads w,x] [--smoke] [--out FILE]
//
// `--workloads visits` (or any of hits, zipf, misses, mixed, puts, visits) runs those alone, starting only the
// targets that take them: ~2 minutes for the analytics comparison instead of ~9.
//
// Method (docs/performance.md):
// - Every target runs at once on its own port, loaded with the same N links (c0 … cN-1).
// - Each jmp target first gets one request per code (a warm cache, as in steady state).
// - For each workload, the targets take turns, R rounds of S seconds each: slow drifts of a shared machine hit
//   every target alike. A target runs only in its own turns (the others are paused), and a jmp round ends once
//   SIGUSR2 has written the clicks it buffered (that write counts in its CPU). A figure is the median of rounds.
// - Workloads: hits over all codes; misses (random codes that do not exist); hits with 1 % admin writes (jmp
//   only, compared with the Node baseline's hits).
// - Targets: a bare node:http + Map server (the Node baseline); nginx 302s from a map (when installed); jmp on
//   SQLite; the same with JMP_METRICS=off (metrics overhead) and with JMP_WORKERS=2 (scaling), sharing its
//   database; jmp on PostgreSQL + Redis (when reachable).
// - Scale checks on jmp-sqlite with N links: time to ready after start, list page 1, streaming CSV export
//   (memory growth), CSV import of up to 100 000 new rows, RSS.
// Prints a table and the targets of issue 7 (met or missed, by how much); writes JSON under bench/results/.
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import {
  armDeadline,
  children,
  cleanups,
  cpuSeconds,
  ensure,
  log,
  median,
  outputs,
  ROOT,
  round,
  rssBytes,
  runCleanups,
  signalGroup,
} from "./lib/processes.mjs";
import { GC_SECONDS, metric as readMetric, prepareWrk } from "./lib/wrk.mjs";
import { print, summarise } from "./report.mjs";
import { scaleChecks } from "./scale.mjs";
import { classifyThroughput } from "./classify.mjs";
import {
  loadLinks as load,
  nginx,
  nodeBaseline,
  postgresDatabase,
  redisReachable,
  startJmp as start,
} from "./targets.mjs";

const DEADLINE_MS = 15 * 60_000;
const WORKLOADS = ["hits", "zipf", "misses", "mixed", "puts", "visits"];

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
    // Three in the smoke run too: its regression guard reads each side's cheapest round (report.mjs).
    rounds: Number(value("--rounds", 3)),
    connections: Number(value("--connections", smoke ? 8 : 64)),
    /**
     * wrk's threads. One (the default) leaves a core to the server under test: the bare baselines then run at
     * their real speed, which makes every ratio harder (docs/performance.md, sixth round). Two was the default
     * until then; `--wrk-threads 2` reproduces the earlier rounds.
     */
    wrkThreads: Number(value("--wrk-threads", 1)),
    /** Which targets to run (default all; the Node baseline always runs, every ratio needs it). */
    targets: value("--targets", smoke ? "jmp-sqlite" : "")
      .split(",")
      .filter(Boolean),
    /** Which workloads to run (default all): `--workloads visits` iterates on one; a target taking none is not started. */
    workloads: value("--workloads", WORKLOADS.join(",")).split(",").filter(Boolean),
    out: value(
      "--out",
      path.join(ROOT, "bench/results", `${new Date().toISOString().replace(/[:.]/g, "-")}.json`),
    ),
  };
}

const opts = options(process.argv.slice(2));
const wanted = (target) => opts.targets.length === 0 || opts.targets.includes(target);
const N = opts.links;
const TOKEN = `jmp_${randomBytes(30).toString("base64url").replace(/[-_]/g, "x").slice(0, 49)}`;
const AUTH = { authorization: `Bearer ${TOKEN}` };
const deadline = armDeadline(DEADLINE_MS);
const wrk = prepareWrk({ links: N, token: TOKEN, connections: opts.connections, threads: opts.wrkThreads });
const metric = (base, name, labels) => readMetric(base, name, labels, AUTH);
const startJmp = (env, dataDir) => start(env, dataDir, TOKEN);
const loadLinks = (base) => load(base, N, AUTH);

/**
 * Waits for jmp's start-up load to end (its link index built in every worker) and answers how many links it then
 * holds in memory (the index's held links and the bounded cache's). Fewer than N sends the target through the
 * walk, which is always correct, only slower. Also notes how long the build took.
 */
async function loadedLinks(target) {
  const workers = target.workers ?? 1;
  for (let i = 0; i < 600; i++) {
    const builds = await metric(target.base, "jmp_code_filter_rebuilds_total");
    if (builds === null) return null;
    if (builds >= workers) break;
    await sleep(100);
  }
  // The build's own duration (summed over the workers): the targets start one after another, so the time since
  // a target's start says more about the harness than about the build.
  target.indexBuildMs = round((1000 * (await metric(target.base, "jmp_link_index_build_seconds"))) / workers);
  const held =
    (await metric(target.base, "jmp_cache_entries", 'layer="index"')) +
    (await metric(target.base, "jmp_cache_entries", 'layer="links"'));
  return held / workers;
}

/**
 * Runs `work` in the target's turn: between turns every target is paused (SIGSTOP to its process group). An idle
 * server still polls, flushes and collects garbage, and on a 2-core machine that is noise in the measured one's
 * figures; and what a target owes from its last round (a click write) must land in its own turn, not in a gap.
 */
async function turn(target, work) {
  signalGroup(target.process, "SIGCONT");
  try {
    return await work();
  } finally {
    signalGroup(target.process, "SIGSTOP");
  }
}

/**
 * Ends a jmp target's round: SIGUSR2 has it write the click counts (and analytics events) it buffered, and this
 * waits until its processes are idle again (two 100 ms samples with at most a clock tick of CPU, at most 30 s).
 * Every round then pays for writing its own clicks, and none for another round's: without it a round carried a
 * write of the clicks before it or not, by chance of the flush timer (docs/performance.md, eleventh round).
 */
async function written(target) {
  signalGroup(target.process, "SIGUSR2");
  const pid = target.process.pid;
  let last = cpuSeconds(pid);
  for (let idle = 0, waited = 0; idle < 2 && waited < 30_000; waited += 100) {
    await sleep(100);
    const now = cpuSeconds(pid);
    idle = now - last <= 0.01 ? idle + 1 : 0;
    last = now;
  }
  if (target.name.includes("analytics")) await eventsWritten(target);
}

/** One measured round of a workload, in the target's turn; a jmp round includes writing its clicks. */
async function measuredRound(target, workload) {
  const jmp = target.name.startsWith("jmp");
  // jmp's own account of its main thread's GC pauses (null where metrics are off, and for the baselines).
  const gcBefore = jmp ? await metric(target.base, GC_SECONDS) : null;
  const before = cpuSeconds(target.process.pid);
  const result = wrk(target.base, workload, opts.duration);
  if (jmp) await written(target);
  result.cpu_us_per_request = round(((cpuSeconds(target.process.pid) - before) * 1e6) / result.requests, 1);
  const gcAfter = gcBefore === null ? null : await metric(target.base, GC_SECONDS);
  result.gc_us_per_request =
    gcAfter === null ? null : round(((gcAfter - gcBefore) * 1e6) / result.requests, 1);
  return result;
}

/** Starts every wanted target (the Node baseline always), each holding the same N links. */
async function prepareTargets(report) {
  const targets = [];
  const node = nodeBaseline(N);
  await node.ready;
  targets.push(node);
  if (!opts.smoke && wanted("jmp-sqlite")) {
    // JMP_WORKERS=2 is judged against a bare cluster of two (on two cores shared with wrk it gains little).
    const cluster = nodeBaseline(N, 2);
    await cluster.ready;
    targets.push(cluster);
  }

  if (wanted("jmp-sqlite")) {
    const dataDir = mkdtempSync(path.join(tmpdir(), "jmp-bench-data-"));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const loader = await startJmp({}, dataDir);
    let t = Date.now();
    await loadLinks(loader.base);
    report.load_s["jmp-sqlite"] = round((Date.now() - t) / 1000);
    log(`loaded ${N} links into jmp-sqlite in ${report.load_s["jmp-sqlite"]} s`);
    // The RSS of the process that bulk-loaded N links through the API: V8 keeps the heap it grew for the load.
    report.loaderRssMb = round(rssBytes(loader.process.pid) / 2 ** 20);
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
          // What the link index changes: the same process with the bounded cache alone (the path before it).
          {
            name: "jmp-sqlite-index-off",
            env: { JMP_LINK_INDEX_MB: "0" },
            dir: copyOf(),
            workloads: ["hits", "zipf"],
          },
          {
            name: "jmp-sqlite-analytics",
            env: { JMP_CONFIG_ANALYTICS__ENABLE_DETAILED_LOGGING: "true" },
            dir: copyOf(),
            workloads: ["visits"],
          },
        ];
    // Two processes with identical code and data can differ here by 10–20 % in CPU per request for their whole
    // life, more than the 5 % the metrics cost is judged against, and as much as the 15 % detailed analytics
    // may cost: both are the median of three processes a side.
    // At N > 100 000 (jmp's cache size) each extra process needs a 30 s walk, which the deadline has no room for.
    if (!opts.smoke && N <= 100_000) {
      for (const suffix of ["b", "c"]) {
        variants.push(
          { name: `jmp-sqlite-${suffix}`, env: {}, dir: copyOf(), workloads: ["hits", "visits"] },
          { name: `jmp-sqlite-metrics-off-${suffix}`, env: { JMP_METRICS: "off" }, dir: copyOf() },
          {
            name: `jmp-sqlite-analytics-${suffix}`,
            env: { JMP_CONFIG_ANALYTICS__ENABLE_DETAILED_LOGGING: "true" },
            dir: copyOf(),
            workloads: ["visits"],
          },
        );
      }
    }
    const sqlite = await startJmp({}, dataDir);
    report.ready_ms["jmp-sqlite"] = sqlite.readyMs;
    const visits = opts.smoke ? [] : ["visits"];
    targets.push({
      name: "jmp-sqlite",
      ...sqlite,
      workloads: ["hits", "zipf", "misses", "mixed", "puts", ...visits],
    });
    for (const variant of variants) {
      const workloads = variant.workloads ?? (variant.env.JMP_WORKERS ? ["hits", "zipf"] : ["hits"]);
      if (!workloads.some((w) => opts.workloads.includes(w))) continue;
      const started = await startJmp(variant.env, variant.dir);
      report.ready_ms[variant.name] = started.readyMs;
      targets.push({
        name: variant.name,
        ...started,
        workers: Number(variant.env.JMP_WORKERS ?? 1),
        workloads,
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
      targets.push({
        name: "jmp-postgres-redis",
        ...pg,
        workloads: ["hits", "zipf", "misses", "mixed", "puts"],
      });
    } else {
      await db?.drop();
      log("PostgreSQL + Redis not reachable; skipped");
    }
  }
  if (!opts.smoke && wanted("nginx")) {
    const n = await nginx(N);
    if (n) targets.push(n);
    else log("nginx not available; skipped");
  }

  return targets;
}

/**
 * Steady state: every code cached that fits, and a process that has served a while. jmp fills its cache after
 * start; where that took in every link (N ≤ the cache size), 3 s of the walk stand in for the whole of it.
 * Otherwise one request per code: a 1 s probe measures the cold rate, then one walk long enough to reach every
 * code (at most 30 s).
 */
async function warm(targets) {
  const jmpTargets = targets.filter((t) => t.name.startsWith("jmp"));
  for (const target of jmpTargets) {
    // Without metrics a process cannot say what it holds; it loads as jmp-sqlite (warmed first) did.
    const metricsOff = target.name.includes("metrics-off");
    if (metricsOff) {
      await sleep(Math.max(0, 2 * jmpTargets[0].indexBuildMs - (Date.now() - target.startedAt)));
      target.cachedLinks = jmpTargets[0].cachedLinks;
    } else {
      target.cachedLinks = await loadedLinks(target);
    }
    target.cacheHoldsAll = target.cachedLinks >= N;
    if (target.cacheHoldsAll) {
      wrk(target.base, "walk", 3);
      log(
        `warmed ${target.name} (it held all ${N} links in memory, built in ${target.indexBuildMs ?? "?"} ms; walked for 3 s)`,
      );
      continue;
    }
    const probe = wrk(target.base, "walk", 1);
    const seconds = Math.min(30, Math.ceil(N / Math.max(1000, probe.rps)) + 1);
    wrk(target.base, "walk", seconds);
    target.cachedLinks =
      (await metric(target.base, "jmp_cache_entries", 'layer="index"')) +
      (await metric(target.base, "jmp_cache_entries", 'layer="links"'));
    log(`warmed ${target.name} (cold: ${probe.rps} req/s; walked for ${seconds} s)`);
  }
}

/** Waits (at most 60 s) until the target's analytics worker has written every recorded click. */
async function eventsWritten(target) {
  const until = Date.now() + 60_000;
  while ((await metric(target.base, "jmp_click_events_pending")) > 0 && Date.now() < until) await sleep(200);
}

/**
 * Every workload on every target taking it: the targets take turns, R rounds each, each target running only in
 * its own turns.
 */
async function runWorkloads(targets) {
  const runs = {};
  const dbLookups = {};
  for (const target of targets) signalGroup(target.process, "SIGSTOP");
  try {
    for (const workload of WORKLOADS.filter((w) => opts.workloads.includes(w))) {
      const taking = targets.filter((t) => t.workloads.includes(workload));
      // Database reads of the redirect path during hits and misses: 0 when every link is in memory (hits) and
      // for codes that never existed (misses). Only targets with metrics can say.
      const queried = ["hits", "misses"].includes(workload);
      const lookups = (target) =>
        queried && target.name.startsWith("jmp")
          ? metric(target.base, "jmp_redirect_db_lookups_total")
          : null;
      for (const target of taking) {
        await turn(target, async () => {
          wrk(target.base, workload, 1); // settle
          if (target.name.startsWith("jmp")) await written(target);
          const before = await lookups(target);
          if (before !== null) dbLookups[`${target.name}/${workload}`] = -before;
        });
      }
      for (let r = 0; r < opts.rounds; r++) {
        for (const target of taking) {
          const result = await turn(target, () => measuredRound(target, workload));
          (runs[`${target.name}/${workload}`] ??= []).push(result);
        }
      }
      for (const target of taking) {
        const key = `${target.name}/${workload}`;
        if (key in dbLookups) dbLookups[key] += await turn(target, () => lookups(target));
      }
      log(
        `${workload}: ${taking.map((t) => `${t.name} ${median(runs[`${t.name}/${workload}`].map((x) => x.rps))}`).join(", ")}`,
      );
    }
  } finally {
    for (const target of targets) signalGroup(target.process, "SIGCONT");
  }
  return { runs, dbLookups };
}

async function main() {
  if (!ensure("wrk", "wrk")) {
    log("wrk is needed (Debian: apt-get install wrk)");
    process.exit(2);
  }
  const started = Date.now();
  const report = { scale: null, ready_ms: {}, load_s: {} };
  const targets = await prepareTargets(report);
  const loaderRssMb = report.loaderRssMb;
  delete report.loaderRssMb;
  await warm(targets);
  const { runs, dbLookups } = await runWorkloads(targets);
  // Summed over every process recording clicks (jmp-sqlite-analytics and its -b and -c).
  const recording = targets.filter((t) => /^jmp-sqlite-analytics(-[bc])?$/.test(t.name));
  if (recording.length > 0) {
    report.analytics = { events_dropped: 0, events_recorded: 0 };
    for (const target of recording) {
      report.analytics.events_dropped += await metric(target.base, "jmp_click_events_dropped_total");
      report.analytics.events_recorded += await metric(target.base, "jmp_click_events_recorded_total");
    }
  }
  report.classify_events_per_s = await classifyThroughput();
  const sqlite = targets.find((t) => t.name === "jmp-sqlite");
  if (sqlite) {
    // Serving N links after every workload; the import below parses a whole 10 MB file, a passing peak.
    const rss = rssBytes(sqlite.server.child.pid);
    report.scale = await scaleChecks(sqlite.base, sqlite.server.child.pid, N, AUTH);
    report.scale.rss_mb = round(rss / 2 ** 20);
    if (loaderRssMb !== undefined) report.scale.rss_loader_mb = loaderRssMb;
    report.scale.ready_ms = report.ready_ms["jmp-sqlite"] ?? null;
    report.scale.index_build_ms = sqlite.indexBuildMs ?? null;
  }

  const { rows, checks } = summarise({ runs, dbLookups, targets, report, N });
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, node: process.version },
    settings: {
      links: N,
      duration_s: opts.duration,
      rounds: opts.rounds,
      connections: opts.connections,
      threads: opts.wrkThreads,
    },
    seconds: Math.round((Date.now() - started) / 1000),
    rows,
    ...report,
    checks,
  };
  mkdirSync(path.dirname(opts.out), { recursive: true });
  writeFileSync(opts.out, `${JSON.stringify(result, null, 2)}\n`);

  print({ rows, checks, N, opts, seconds: result.seconds });
}

main()
  .then(runCleanups)
  .then(() => clearTimeout(deadline))
  .catch(async (err) => {
    console.error(`bench: ${err.stack ?? err}${err.cause ? `\ncause: ${err.cause.stack ?? err.cause}` : ""}`);
    for (const output of outputs)
      if (output()) console.error(`--- a server's output:\n${output().slice(-3000)}`);
    for (const child of children) signalGroup(child, "SIGKILL");
    await runCleanups();
    process.exit(1);
  });
