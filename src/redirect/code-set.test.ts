import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CodeSet } from "./code-set.js";

describe("code set", () => {
  it("holds every added code, growing past its first size, and nothing else", () => {
    const set = new CodeSet(1000);
    for (let i = 0; i < 300_000; i++) set.add(`c${i}`);
    for (let i = 0; i < 300_000; i++) assert.ok(set.has(`c${i}`), `c${i}`);
    assert.equal(set.count, 300_000);
    let wrong = 0;
    for (let i = 0; i < 300_000; i++) {
      if (set.has(`m${i}`)) wrong++;
      if (set.has(`c${i + 300_000}`)) wrong++;
      if (set.has(Math.random().toString(36).slice(2))) wrong++;
    }
    assert.equal(wrong, 0, "no unknown code is taken for a known one");
  });

  it("counts a code added twice once, and tells near-identical codes apart", () => {
    const set = new CodeSet();
    set.add("abc");
    set.add("abc");
    assert.equal(set.count, 1);
    for (const other of ["ab", "abcd", "acb", "ABC", "abc ", "", "a/bc"])
      assert.equal(set.has(other), false, other);
    set.add("");
    set.add("日本語");
    assert.ok(set.has(""));
    assert.ok(set.has("日本語"));
    assert.equal(set.has("日本"), false);
  });

  it("stays at most half full: 16 to 32 bytes per code", () => {
    const set = new CodeSet(1_000_000);
    assert.equal(set.bytes, 2 * 4 * 2 ** 21);
    const grown = new CodeSet();
    for (let i = 0; i < 5000; i++) grown.add(String(i));
    assert.ok(grown.bytes >= 5000 * 16 && grown.bytes <= 5000 * 32, String(grown.bytes));
  });
});
