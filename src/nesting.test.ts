import assert from "node:assert/strict";
import { it } from "node:test";
import { jsonTooDeep, MAX_NESTING, yamlTooDeep } from "./nesting.js";

it("measures JSON nesting outside strings", () => {
  const deep = (n: number) => "[".repeat(n) + "]".repeat(n);
  assert.equal(jsonTooDeep(deep(MAX_NESTING)), false);
  assert.equal(jsonTooDeep(deep(MAX_NESTING + 1)), true);
  assert.equal(jsonTooDeep(`{"a":"${"[".repeat(1000)}"}`), false, "brackets in strings do not count");
  assert.equal(jsonTooDeep(`{"a":"\\"${"{".repeat(1000)}"}`), false, "nor after an escaped quote");
  assert.equal(jsonTooDeep("[".repeat(16 * 1024 * 1024)), true);
});

it("measures YAML nesting: flow collections, compact block indicators, extreme indentation", () => {
  const legit = "apiVersion: jmp/v1\nlinks:\n  - code: a\n    target: https://a.example\n    tags: [x, y]\n";
  assert.equal(yamlTooDeep(legit), false);
  assert.equal(yamlTooDeep("[".repeat(MAX_NESTING + 1)), true);
  assert.equal(yamlTooDeep(`a: ${"{b: ".repeat(MAX_NESTING + 1)}`), true);
  assert.equal(yamlTooDeep(`${"- ".repeat(MAX_NESTING + 1)}x`), true);
  assert.equal(yamlTooDeep(`a:\n${" ".repeat(600)}b: c\n`), true);
  assert.equal(yamlTooDeep(`a: "${"[".repeat(1000)}"\n`), false, "brackets in a quoted scalar do not count");
  assert.equal(yamlTooDeep("[".repeat(16 * 1024 * 1024)), true);
});
