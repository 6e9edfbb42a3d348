/**
 * The benchmark's CI guard (bench/report.mjs): judged from each side's cheapest round and the middle of three
 * workloads, so a noisy round or workload passes and a redirect path that got 60 % dearer fails.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

interface Round {
  rps: number;
  p50_ms: number;
  p99_ms: number;
  cpu_us_per_request: number;
  gc_us_per_request: number | null;
  errors: number;
  requests: number;
}
interface Check {
  name: string;
  value: number;
  met?: boolean;
}
interface Report {
  summarise(input: object): { checks: Check[] };
  REGRESSION_GUARD: string;
  GUARD_FLOOR: number;
}
const report = (await import(pathToFileURL(path.join(ROOT, "bench/report.mjs")).href)) as Report;

const rounds = (...cpus: number[]): Round[] =>
  cpus.map((cpu) => ({
    rps: 1e6 / cpu,
    p50_ms: 1,
    p99_ms: 2,
    cpu_us_per_request: cpu,
    gc_us_per_request: null,
    errors: 0,
    requests: 40_000,
  }));

/** The guard's check for jmp's rounds per workload against a bare server at 20 µs a request every round. */
function guard(jmp: Record<"hits" | "zipf" | "misses", number[]>): Check {
  const runs: Record<string, Round[]> = {};
  for (const [workload, cpus] of Object.entries(jmp)) {
    runs[`node/${workload}`] = rounds(20, 20, 20);
    runs[`jmp-sqlite/${workload}`] = rounds(...cpus);
  }
  const { checks } = report.summarise({ runs, dbLookups: {}, targets: [], report: {}, N: 1000 });
  const check = checks.find((c) => c.name === report.REGRESSION_GUARD);
  assert.ok(check, "the guard is reported");
  return check;
}

describe("the benchmark's regression guard", () => {
  it("passes a path as cheap as the bare server's, however noisy two of its rounds are", () => {
    const check = guard({ hits: [21, 35, 40], zipf: [22, 22, 45], misses: [20, 30, 31] });
    assert.equal(check.value, 0.95);
    assert.equal(check.met, true);
  });

  it("passes when one workload is slow in every round (noise), judging the middle one", () => {
    const check = guard({ hits: [22, 22, 23], zipf: [34, 36, 40], misses: [21, 22, 22] });
    assert.equal(check.met, true);
  });

  it("passes a process that costs ~30 % more for its life (one fresh process in a few does)", () => {
    const check = guard({ hits: [26, 27, 29], zipf: [26, 26.5, 30], misses: [25, 28, 28] });
    assert.equal(check.met, true);
  });

  it("fails a redirect path that costs 60 % more in every round of every workload", () => {
    const check = guard({ hits: [32, 33, 34], zipf: [32, 32, 40], misses: [32, 32.5, 33] });
    assert.ok(check.value < report.GUARD_FLOOR, `${check.value}`);
    assert.equal(check.met, false);
  });

  it("is not reported without all three workloads", () => {
    const runs = { "node/hits": rounds(20), "jmp-sqlite/hits": rounds(20) };
    const { checks } = report.summarise({ runs, dbLookups: {}, targets: [], report: {}, N: 1000 });
    assert.equal(
      checks.find((c) => c.name === report.REGRESSION_GUARD),
      undefined,
    );
  });
});
