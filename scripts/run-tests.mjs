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

// test/ship/ installs and builds whole copies of jmp (npm pack, the image script, other Node.js lines): heavy on
// CPU and disk, they run after the rest, one at a time, so they neither slow nor are slowed by timing-sensitive
// suites.
const isShip = (file) => file.includes(`${path.sep}ship${path.sep}`);
// The benchmark's smoke run judges CPU per request against a bare server (its regression guard): alone, so no
// other suite's load lands in some of its rounds and not others.
const isBench = (file) => path.basename(file) === "bench-smoke.test.js";
const passes = [
  { files: files.filter((file) => !isShip(file) && !isBench(file)), concurrency: 2, timeout: 240_000 },
  { files: files.filter(isBench), concurrency: 1, timeout: 240_000 },
  { files: files.filter(isShip), concurrency: 1, timeout: 900_000 },
];
let status = 0;
for (const pass of passes) {
  if (pass.files.length === 0) continue;
  const result = spawnSync(
    process.execPath,
    [
      "--test",
      `--test-concurrency=${pass.concurrency}`,
      `--test-timeout=${pass.timeout}`,
      "--test-reporter=spec",
      ...pass.files,
    ],
    { stdio: "inherit" },
  );
  status ||= result.status ?? 1;
}
process.exit(status);
