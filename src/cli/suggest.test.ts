import assert from "node:assert/strict";
import { test } from "node:test";
import { closestName, editDistance } from "./suggest.js";

const COMMANDS = [
  "serve",
  "migrate",
  "links",
  "login",
  "logout",
  "config",
  "keys",
  "apply",
  "export",
  "backup",
];

test("edit distance counts insertions, deletions, substitutions and swaps", () => {
  assert.equal(editDistance("links", "links"), 0);
  assert.equal(editDistance("lnks", "links"), 1);
  assert.equal(editDistance("lniks", "links"), 1);
  assert.equal(editDistance("", "abc"), 3);
  assert.equal(editDistance("kitten", "sitting"), 3);
});

test("a typo finds the command it was meant to be; another word finds nothing", () => {
  assert.equal(closestName("lnks", COMMANDS), "links");
  assert.equal(closestName("cnfig", COMMANDS), "config");
  assert.equal(closestName("Migrat", COMMANDS), "migrate");
  assert.equal(closestName("frobnicate", COMMANDS), null);
  assert.equal(closestName("x", COMMANDS), null);
});
