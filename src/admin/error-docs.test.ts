import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { it } from "node:test";
import { withErrorTable } from "./error-docs.js";

it("docs/api.md lists the errors exactly as src/errors.ts catalogues them (run `npm run docs`)", () => {
  const document = readFileSync("docs/api.md", "utf8");
  assert.equal(document, withErrorTable(document));
});
