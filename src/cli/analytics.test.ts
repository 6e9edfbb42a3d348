import assert from "node:assert/strict";
import { test } from "node:test";
import { sparkline } from "./analytics.js";

test("a sparkline scales to the largest value; all zero is flat", () => {
  assert.equal(sparkline([0, 1, 2, 4, 8]), "▁▂▃▅█");
  assert.equal(sparkline([0, 0, 0]), "▁▁▁");
  assert.equal(sparkline([]), "");
});
