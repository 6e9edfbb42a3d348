#!/usr/bin/env node
// Rewrites the generated parts of docs/ from the code (run after `npm run build`).
import { readFileSync, writeFileSync } from "node:fs";
import { withRuntimeKeysTable } from "../dist/src/config/docs.js";

const file = "docs/configuration.md";
writeFileSync(file, withRuntimeKeysTable(readFileSync(file, "utf8")));
console.log(`updated ${file}`);
