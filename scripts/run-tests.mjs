#!/usr/bin/env node
// Runs every compiled test file (dist/**/*.test.js) with Node's test runner. `npm test -- <filter>` runs only the
// files whose path contains one of the given words. Which engines run is set by JMP_TEST_ENGINES (see
// test/support/engines.ts).
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";

const filters = process.argv.slice(2);
const files = readdirSync("dist", { recursive: true })
  .map(String)
  .filter((file) => file.endsWith(".test.js"))
  .map((file) => path.join("dist", file))
  .filter((file) => filters.length === 0 || filters.some((word) => file.includes(word)))
  .sort();

if (files.length === 0) {
  console.error("no test files matched");
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  ["--test", "--test-concurrency=2", "--test-timeout=240000", "--test-reporter=spec", ...files],
  { stdio: "inherit" },
);
process.exit(result.status ?? 1);
