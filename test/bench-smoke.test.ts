/**
 * The benchmark harness must not rot: a small, fast run (1 000 links, 1 s per workload, SQLite only) checks that
 * every target and workload produces figures, and that hits and misses are answered from memory (0 database
 * reads) — a regression guard that, unlike timing ratios, holds on a shared machine. The full benchmark (`npm run bench`) runs on demand; its figures
 * are published in docs/performance.md. Needs wrk (Debian: apt-get install wrk); skipped without it.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const hasWrk = spawnSync("sh", ["-c", "command -v wrk"]).status === 0;

describe("npm run bench (smoke)", () => {
  it(
    "measures the Node baseline and jmp on every workload, and writes the JSON report",
    { skip: !hasWrk },
    () => {
      const out = path.join(mkdtempSync(path.join(tmpdir(), "jmp-bench-smoke-")), "result.json");
      const run = spawnSync(process.execPath, [path.join(ROOT, "bench/run.mjs"), "--smoke", "--out", out], {
        encoding: "utf8",
        timeout: 150_000,
      });
      assert.equal(run.status, 0, run.stdout + run.stderr);
      const report = JSON.parse(readFileSync(out, "utf8")) as {
        settings: { links: number };
        rows: {
          target: string;
          workload: string;
          rps: number;
          p99_ms: number;
          vs_node: number | null;
          db_lookups?: number;
          cpu_us_per_request: number;
          gc_us_per_request: number | null;
        }[];
        scale: Record<string, number | null>;
        checks: { name: string; value: number; met?: boolean }[];
      };
      assert.equal(report.settings.links, 1000);
      const seen = report.rows.map((r) => `${r.target}/${r.workload}`).sort();
      assert.deepEqual(seen, [
        "jmp-sqlite/hits",
        "jmp-sqlite/misses",
        "jmp-sqlite/mixed",
        "jmp-sqlite/puts",
        "jmp-sqlite/zipf",
        "node/hits",
        "node/misses",
        "node/zipf",
      ]);
      for (const row of report.rows) {
        assert.ok(row.rps > 0 && row.p99_ms > 0, `${row.target}/${row.workload} measured`);
        // Admin PUTs have no bare counterpart: no ratio, only their cost.
        if (row.workload === "puts") assert.equal(row.vs_node, null);
        else assert.ok(row.vs_node !== null && row.vs_node > 0, `${row.target}/${row.workload} has a ratio`);
        assert.ok(row.cpu_us_per_request > 0, `${row.target}/${row.workload} CPU per request`);
        // jmp reports its GC pauses through its metrics; the baseline has none to report.
        if (row.target === "node") assert.equal(row.gc_us_per_request, null);
        else assert.ok(row.gc_us_per_request! >= 0, `${row.target}/${row.workload} GC per request`);
      }
      // The query counter is read from jmp's own metrics around the misses workload.
      const misses = report.rows.find((r) => r.target === "jmp-sqlite" && r.workload === "misses");
      assert.equal(typeof misses?.db_lookups, "number");
      const fields = [
        "list_page1_ms",
        "export_rows",
        "export_rss_growth_mb",
        "export_rss_growth_second_half_mb",
        "import_s",
        "rss_mb",
        "rss_loader_mb",
      ];
      for (const field of fields) {
        assert.equal(typeof report.scale[field], "number", field);
      }
      assert.equal(report.scale.export_rows, 1000, "every link exported");
      assert.ok(report.checks.some((c) => c.name === "jmp-sqlite DB queries for misses"));
      const putCost = report.checks.find((c) => c.name === "jmp-sqlite admin PUT: CPU µs per PUT");
      assert.ok(putCost && putCost.value > 0, `the PUT's cost is measured: ${JSON.stringify(putCost)}`);
      // The CI guard that holds on a noisy machine (timing ratios do not: docs/performance.md): with every link
      // held in memory by the link index, neither hits nor misses may read the database.
      for (const name of ["jmp-sqlite DB queries for hits", "jmp-sqlite DB queries for misses"]) {
        const check = report.checks.find((c) => c.name === name);
        assert.equal(check?.value, 0, `${name}: ${JSON.stringify(check)}`);
        assert.equal(check?.met, true, name);
      }
      // The guard against a slow change (bench/report.mjs, test/bench-guard.test.ts): fails the run when every
      // redirect costs about a third more than the bare server's, judged so that noise does not.
      const guard = report.checks.find((c) => c.name.startsWith("regression guard:"));
      assert.ok(guard, "the regression guard is reported");
      assert.equal(guard.met, true, `regression guard: ${JSON.stringify(guard)}`);
      assert.match(
        run.stdout,
        /^TARGET\s+WORKLOAD\s+REQ\/S\s+P50 MS\s+P99 MS\s+÷ NODE\s+CPU µS\/REQ\s+CPU ÷\s+GC µS\s+DB QUERIES$/m,
      );
      assert.match(run.stdout, /^CHECK\s+VALUE\s+TARGET/m);
    },
  );
});
