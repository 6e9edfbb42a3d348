#!/usr/bin/env node
// Rewrites the generated parts of docs/ from the code (run after `npm run build`).
import { readFileSync, writeFileSync } from "node:fs";
import { withErrorTable } from "../dist/src/admin/error-docs.js";
import { withRuntimeKeysTable } from "../dist/src/config/docs.js";

for (const [file, render] of [
  ["docs/configuration.md", withRuntimeKeysTable],
  ["docs/api.md", withErrorTable],
]) {
  writeFileSync(file, render(readFileSync(file, "utf8")));
  console.log(`updated ${file}`);
}
