import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { codesOf } from "../store/clicks.js";
import { ClickBatchWriter } from "./click-batch.js";

describe("click batch writer", () => {
  it("an empty batch has no codes", () => {
    const batch = new ClickBatchWriter().take(3_600_000, false);
    assert.equal(batch.codeList, "");
    assert.deepEqual(codesOf(batch), []);
    assert.equal(batch.counts.length, 0);
    assert.equal(batch.hour, 3_600_000);
    assert.equal(batch.stats, false);
  });

  it("keeps codes from strings and from bytes in the order added, with their counts", () => {
    const writer = new ClickBatchWriter();
    const held = Buffer.from("xxabc/dyy", "latin1");
    writer.add("first", 3);
    writer.addBytes(held, 2, 5, 7);
    writer.add("a.b-c_9", 1);
    const batch = writer.take(0, true);
    assert.deepEqual(codesOf(batch), ["first", "abc/d", "a.b-c_9"]);
    assert.deepEqual([...batch.counts], [3, 7, 1]);
  });

  it("grows past its first buffers, and starts over after a take", () => {
    const writer = new ClickBatchWriter();
    const long = "L".repeat(128);
    // 10 000 codes of 128 characters: past both the 64 KB of bytes and the 4 096 counts it starts with.
    for (let i = 0; i < 10_000; i++) writer.add(`${long.slice(0, 120)}${String(i).padStart(8, "0")}`, i);
    const batch = writer.take(0, true);
    const codes = codesOf(batch);
    assert.equal(codes.length, 10_000);
    assert.equal(codes[9_999], `${long.slice(0, 120)}00009999`);
    assert.equal(batch.counts[9_999], 9_999);
    writer.add("again", 1);
    const next = writer.take(0, true);
    assert.deepEqual(codesOf(next), ["again"]);
    assert.deepEqual([...next.counts], [1]);
    assert.equal(batch.counts[0], 0, "a taken batch's counts are its own copy");
  });
});
