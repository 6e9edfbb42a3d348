#!/usr/bin/env node
// `npm start`'s prestart: compiles only when dist/ is missing or older than a source file. `npm ci` builds once
// (the `prepare` script), so a start normally skips straight to the server (< 0.1 s here instead of ~9 s of tsc).
// A production install without devDependencies cannot compile: it must come with dist/ (the packed tarball, the
// image) — this says so instead of failing with "tsc: not found".
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const entry = path.join(root, "dist/src/cli/main.js");

function newestSource() {
  let newest = statSync(path.join(root, "tsconfig.json")).mtimeMs;
  for (const dir of ["src", "test", "web"]) {
    const base = path.join(root, dir);
    if (!existsSync(base)) continue;
    for (const file of readdirSync(base, { recursive: true })) {
      if (/\.(ts|tsx|css|html|svg)$/.test(String(file)))
        newest = Math.max(newest, statSync(path.join(base, String(file))).mtimeMs);
    }
  }
  return newest;
}

const panel = path.join(root, "dist/panel/index.html");
// The older of the two outputs: the server's entry and the panel's page.
const built =
  existsSync(entry) && existsSync(panel) ? Math.min(statSync(entry).mtimeMs, statSync(panel).mtimeMs) : 0;
const sourcesPresent = existsSync(path.join(root, "src"));
if (!sourcesPresent || (built > 0 && built >= newestSource())) process.exit(0);

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
} catch {
  if (built > 0) {
    console.error(
      "jmp: dist/ is older than src/, but TypeScript is not installed (npm ci --omit=dev): starting the existing build",
    );
    process.exit(0);
  }
  console.error(
    "jmp: dist/ is missing and TypeScript is not installed. Run `npm ci` (with devDependencies) once, or install the packed tarball (docs/deployment.md).",
  );
  process.exit(1);
}
console.error("jmp: sources changed since the last build; compiling…");
const compiled = spawnSync(process.execPath, [tsc, "-p", path.join(root, "tsconfig.json")], {
  stdio: "inherit",
});
if (compiled.status !== 0) process.exit(compiled.status ?? 1);
const panelBuilt = spawnSync(process.execPath, [path.join(root, "scripts/build-panel.mjs")], {
  stdio: "inherit",
});
process.exit(panelBuilt.status ?? 1);
