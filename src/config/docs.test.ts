import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { it } from "node:test";
import { withRuntimeKeysTable } from "./docs.js";

it("docs/configuration.md lists the runtime keys exactly as the registry defines them (run `npm run docs`)", () => {
  const document = readFileSync("docs/configuration.md", "utf8");
  assert.equal(document, withRuntimeKeysTable(document));
});

it("docs/configuration.md documents every startup variable", async () => {
  const { KNOWN_VARIABLES } = await import("../settings.js");
  const document = readFileSync("docs/configuration.md", "utf8");
  for (const name of KNOWN_VARIABLES.filter((v) => v !== "JMP_URL" && v !== "JMP_TOKEN")) {
    assert.ok(document.includes(`\`${name}\``), `${name} is not documented`);
  }
});
