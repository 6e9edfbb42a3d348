// The benchmark's report: one row per target and workload (medians of its rounds, ratios to the Node baseline),
// the checks against the performance targets, and the printed table.
import path from "node:path";
import { median, ROOT, round } from "./lib/processes.mjs";
import { PUT_CONNECTIONS } from "./lib/wrk.mjs";

/** The bare server's workload each of jmp's is judged against (none for admin PUTs). */
const BASELINE_OF = { hits: "hits", zipf: "zipf", misses: "misses", mixed: "hits", visits: "hits" };

/**
 * The CI guard against a slow change (issue 22), run by the smoke test on every CI run: the median, over hits,
 * Zipf and misses, of the bare server's CPU per request ÷ jmp's, each from its cheapest round. Single 1 s rounds
 * of one workload ranged 0.54–1.2 on this machine, and one fresh jmp process in a few costs ~30 % more for its
 * life (the guard read 0.77 on one; docs/performance.md, twelfth round). So: the best of three rounds, the
 * middle of three workloads, against a floor that fails a redirect costing over half again as much (1 ÷ 0.65), not the noise.
 */
export const REGRESSION_GUARD =
  "regression guard: node's CPU ÷ jmp's per redirect (best round, median workload)";
export const GUARD_FLOOR = 0.65;

function regressionGuard(rows) {
  const ratios = rows.filter((r) => r?.cpu_vs_node_best != null).map((r) => r.cpu_vs_node_best);
  return ratios.length === 3 ? median(ratios) : null;
}

/** Rows and checks from the measured rounds (`runs["target/workload"]`). */
export function summarise({ runs, dbLookups, targets, report, N }) {
  const rows = [];
  for (const [key, list] of Object.entries(runs)) {
    const [target, workload] = key.split("/");
    const rps = median(list.map((x) => x.rps));
    // Mixed and visits are hits with something more; admin PUTs have no bare counterpart.
    const baselineRuns = runs[`node/${BASELINE_OF[workload] ?? workload}`];
    const baseline = baselineRuns ? median(baselineRuns.map((x) => x.rps)) : null;
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
      cpu_vs_node: baselineRuns ? round(median(baselineRuns.map((x) => x.cpu_us_per_request)) / cpu) : null,
      // The same from each side's cheapest round: noise (a preempted round, a busy neighbour) only adds CPU, so the
      // minimum is the steadiest estimate of what a request costs; the regression guard reads it.
      cpu_vs_node_best: baselineRuns
        ? round(
            Math.min(...baselineRuns.map((x) => x.cpu_us_per_request)) /
              Math.min(...list.map((x) => x.cpu_us_per_request)),
          )
        : null,
      errors: list.reduce((sum, x) => sum + x.errors, 0),
      vs_node: baseline ? round(rps / baseline) : null,
      ...(key in dbLookups
        ? { requests: list.reduce((sum, x) => sum + x.requests, 0), db_lookups: dbLookups[key] }
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
    // Issue 22's targets: 0.90 of the bare server in req/s and in CPU per request; 0.80 at more than 100 000
    // links (the bare server's Map then misses the CPU caches as much as jmp's index does).
    const bar = N > 100_000 ? 0.8 : 0.9;
    for (const row of [hits, find(name, "zipf")]) {
      if (!row) continue;
      if (target?.cacheHoldsAll === false) {
        // Past the memory bound (JMP_LINK_INDEX_MB) uniformly random hits are mostly database reads, which the
        // bare Map server never does. Reported, not judged.
        const held = `memory holds ${target.cachedLinks ?? "?"} of ${N}`;
        checks.push({
          name: `${name} ${row.workload} ÷ node (${held})`,
          value: row.vs_node,
          target: "report",
        });
        checks.push({
          name: `${name} ${row.workload} p99 ms (${held})`,
          value: row.p99_ms,
          target: "report",
        });
        continue;
      }
      check(`${name} ${row.workload} ÷ node`, row.vs_node, `≥ ${bar}`, row.vs_node >= bar);
      if (row.db_lookups !== undefined) {
        // Structural, so it holds on any machine: a change that sends hits to the database fails the smoke test.
        check(`${name} DB queries for ${row.workload}`, row.db_lookups, "0", row.db_lookups === 0);
      }
      check(
        `${name} ${row.workload}: node's CPU ÷ jmp's`,
        row.cpu_vs_node,
        `≥ ${bar}`,
        row.cpu_vs_node >= bar,
      );
      check(`${name} ${row.workload} p99 ms`, row.p99_ms, "< 10", row.p99_ms < 10);
    }
    if (misses) {
      check(`${name} misses ÷ node`, misses.vs_node, "≥ 0.90", misses.vs_node >= 0.9);
      check(`${name} misses: node's CPU ÷ jmp's`, misses.cpu_vs_node, "≥ 0.90", misses.cpu_vs_node >= 0.9);
    }
    if (misses) check(`${name} DB queries for misses`, misses.db_lookups, "0", misses.db_lookups === 0);
    // Issue 22: hits with 1 % admin PUTs at ≥ 0.80 of the bare server's hits, hits p99 < 10 ms beside them, and a
    // PUT at ≤ 0.3 ms of jmp's CPU (the database server's own, on PostgreSQL, is not counted).
    const mixed = find(name, "mixed");
    if (mixed) {
      check(`${name} mixed (1 % PUTs) ÷ node hits`, mixed.vs_node, "≥ 0.80", mixed.vs_node >= 0.8);
      check(`${name} mixed p99 ms`, mixed.p99_ms, "< 10", mixed.p99_ms < 10);
    }
    const puts = find(name, "puts");
    if (puts) {
      const cpu = puts.cpu_us_per_request;
      check(`${name} admin PUT: CPU µs per PUT`, cpu, "≤ 300", cpu <= 300);
      checks.push({
        name: `${name} admin PUTs per s (${PUT_CONNECTIONS} connections)`,
        value: puts.rps,
        target: "report",
      });
    }
  }
  const guard = regressionGuard(["hits", "zipf", "misses"].map((w) => find("jmp-sqlite", w)));
  if (guard !== null) check(REGRESSION_GUARD, guard, `≥ ${GUARD_FLOOR}`, guard >= GUARD_FLOOR);
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
  // The spread between fresh processes with the same code and data (issue 22): CPU per hit of every single-worker
  // process started alike (metrics on or off; the metrics cost is a few % of it).
  const alike = rows.filter(
    (r) => r.workload === "hits" && /^jmp-sqlite(-metrics-off)?(-[bc])?$/.test(r.target),
  );
  if (alike.length >= 2) {
    const cpus = alike.map((r) => r.cpu_us_per_request).sort((a, b) => a - b);
    checks.push({
      name: `CPU µs per hit over ${cpus.length} fresh processes: min / median / max`,
      value: `${cpus[0]} / ${median(cpus)} / ${cpus[cpus.length - 1]}`,
      target: "report",
    });
  }
  // As the metrics cost: the median of up to three processes a side (jmp-sqlite, -b, -c against
  // jmp-sqlite-analytics, -b, -c), since one process against one judges the processes' spread as much as the cost.
  const plainVisits = ["", "-b", "-c"].map((s) => find(`jmp-sqlite${s}`, "visits")).filter(Boolean);
  const recorded = ["", "-b", "-c"].map((s) => find(`jmp-sqlite-analytics${s}`, "visits")).filter(Boolean);
  if (plainVisits.length > 0 && recorded.length > 0) {
    const mid = (list, field) => median(list.map((r) => r[field]));
    const processes = recorded.length > 1 ? `, median of ${recorded.length} processes` : "";
    const ratio = round(mid(recorded, "rps") / mid(plainVisits, "rps"));
    check(`detailed analytics on ÷ off (visits${processes})`, ratio, "≥ 0.85", ratio >= 0.85);
    const p99 = mid(recorded, "p99_ms");
    check(`detailed analytics on: visits p99 ms${processes}`, p99, "< 10", p99 < 10);
    const worst = Math.max(...recorded.map((r) => r.p99_ms));
    if (recorded.length > 1)
      checks.push({
        name: "detailed analytics on: visits p99 ms, worst process",
        value: worst,
        target: "report",
      });
    if (report.analytics) {
      const dropped = report.analytics.events_dropped;
      check("detailed analytics: events dropped", dropped, "0", dropped === 0);
    }
  }
  if (report.classify_events_per_s !== undefined) {
    const rate = report.classify_events_per_s;
    check("analytics worker: events classified per s", rate, "≥ 50000", rate >= 50_000);
  }
  for (const workload of ["hits", "zipf"]) {
    const without = find("jmp-sqlite-index-off", workload);
    const withIndex = find("jmp-sqlite", workload);
    if (without && withIndex) {
      checks.push({
        name: `link index on ÷ off, CPU per request (${workload})`,
        value: round(without.cpu_us_per_request / withIndex.cpu_us_per_request),
        target: "report",
      });
    }
    const two = find("jmp-sqlite-2-workers", workload);
    const one = find("jmp-sqlite", workload);
    const cluster = find("node-2-workers", workload);
    if (two && cluster) {
      const ratio = round(two.rps / cluster.rps);
      check(`2 workers ÷ node cluster of two (${workload})`, ratio, "≥ 0.95", ratio >= 0.95);
    }
    if (two && one) {
      const ratio = round(two.rps / one.rps);
      check(`2 workers ÷ 1 worker (${workload})`, ratio, "≥ 1", ratio >= 1);
    }
  }
  if (report.scale) {
    const s = report.scale;
    check(`RSS serving ${N} links (MB)`, s.rss_mb, "≤ 300", s.rss_mb <= 300);
    if (s.rss_loader_mb !== undefined) {
      const mb = s.rss_loader_mb;
      check(`RSS of the process that loaded the ${N} links (MB)`, mb, "≤ 300", mb <= 300);
    }
    if (s.ready_ms !== null)
      check(`ready after start, ${N} links (ms)`, s.ready_ms, "≤ 1500", s.ready_ms <= 1500);
    if (s.index_build_ms != null) {
      checks.push({
        name: `link index build, ${N} links (ms)`,
        value: s.index_build_ms,
        target: "report",
      });
    }
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
  return { rows, checks };
}

/** Prints the table and the checks. */
export function print({ rows, checks, N, opts, seconds }) {
  const pad = (v, n) => String(v).padEnd(n);
  console.log(
    `${pad("TARGET", 24)}${pad("WORKLOAD", 10)}${pad("REQ/S", 10)}${pad("P50 MS", 9)}${pad("P99 MS", 9)}${pad("÷ NODE", 8)}${pad("CPU µS/REQ", 12)}${pad("CPU ÷", 7)}${pad("GC µS", 7)}DB QUERIES`,
  );
  for (const r of rows) {
    console.log(
      `${pad(r.target, 24)}${pad(r.workload, 10)}${pad(r.rps, 10)}${pad(r.p50_ms.toFixed(2), 9)}${pad(r.p99_ms.toFixed(2), 9)}${pad(r.vs_node ?? "", 8)}${pad(r.cpu_us_per_request, 12)}${pad(r.cpu_vs_node ?? "", 7)}${pad(r.gc_us_per_request ?? "", 7)}${r.db_lookups ?? ""}`,
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
    `\n${N} links, ${opts.connections} connections (wrk -t${opts.wrkThreads}), ${opts.rounds} × ${opts.duration} s per target and workload, ${seconds} s in all; written to ${path.relative(ROOT, opts.out)}`,
  );
}
