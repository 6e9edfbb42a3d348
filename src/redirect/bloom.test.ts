import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BloomFilter } from "./bloom.js";

describe("Bloom filter", () => {
  it("never forgets an added item", () => {
    const filter = new BloomFilter(200_000, 0.001);
    for (let i = 0; i < 200_000; i++) filter.add(`c${i}`);
    for (let i = 0; i < 200_000; i++) assert.ok(filter.has(`c${i}`), `c${i}`);
    assert.equal(filter.count, 200_000);
    assert.equal(filter.saturated, false);
  });

  it("has about the false-positive rate it was sized for, on short similar keys and on random ones", () => {
    const filter = new BloomFilter(100_000, 0.01);
    for (let i = 0; i < 100_000; i++) filter.add(`c${i}`);
    let similar = 0;
    let random = 0;
    for (let i = 0; i < 100_000; i++) {
      if (filter.has(`m${i}`)) similar++;
      if (filter.has(Math.random().toString(36).slice(2, 10))) random++;
    }
    // Sized for 1 %; allow noise, but a broken hash (all bits set, or correlated hashes) lands far above.
    assert.ok(similar / 100_000 < 0.02, `similar keys: ${similar / 1000} %`);
    assert.ok(random / 100_000 < 0.02, `random keys: ${random / 1000} %`);
  });

  it("is about 1.8 bytes per item at 0.1 %, and reports saturation past its capacity", () => {
    const filter = new BloomFilter(1_000_000, 0.001);
    assert.ok(filter.bytes > 1_700_000 && filter.bytes < 1_900_000, String(filter.bytes));
    const small = new BloomFilter(10, 0.01);
    for (let i = 0; i < 11; i++) small.add(String(i));
    assert.equal(small.saturated, true);
  });

  it("answers for the empty string and non-ASCII codes", () => {
    const filter = new BloomFilter(100, 0.001);
    filter.add("");
    filter.add("日本語");
    assert.ok(filter.has(""));
    assert.ok(filter.has("日本語"));
    assert.equal(filter.has("日本"), false);
  });
});
