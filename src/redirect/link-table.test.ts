import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { codesOf } from "../store/clicks.js";
import { ClickBatchWriter } from "./click-batch.js";
import { ABSENT, LinkTable } from "./link-table.js";

const MB = 2 ** 20;

describe("link table", () => {
  it("knows every added code, growing past its first size, and nothing else", () => {
    const table = new LinkTable(1000, 64 * MB);
    for (let i = 0; i < 300_000; i++) table.add(`c${i}`);
    for (let i = 0; i < 300_000; i++) assert.notEqual(table.find(`c${i}`), ABSENT, `c${i}`);
    assert.equal(table.size, 300_000);
    let wrong = 0;
    for (let i = 0; i < 300_000; i++) {
      if (table.find(`m${i}`) !== ABSENT) wrong++;
      if (table.find(`c${i + 300_000}`) !== ABSENT) wrong++;
    }
    assert.equal(wrong, 0, "membership is exact: codes are compared, not only hashed");
    for (let i = 0; i < 1000; i++) assert.equal(table.code(table.find(`c${i}`)), `c${i}`);
  });

  it("adds a code once, tells near-identical codes apart, and does not store codes no request can ask for", () => {
    const table = new LinkTable(0, MB);
    const a = table.add("abc");
    assert.equal(table.add("abc"), a);
    assert.equal(table.size, 1);
    for (const other of ["ab", "abcd", "acb", "ABC", "abc ", "", "a/bc"])
      assert.equal(table.find(other), ABSENT);
    assert.equal(table.add("日本語"), ABSENT);
    assert.equal(table.add("a".repeat(129)), ABSENT);
    assert.equal(table.add("sp ace"), ABSENT);
    assert.equal(table.hold("日本語", "https://e.x/", Infinity), false);
    assert.equal(table.size, 1);
  });

  it("holds a plain link's Location and expiry, and releases it when the link changes", () => {
    const table = new LinkTable(0, MB);
    assert.equal(table.hold("gh", "https://github.com/jmp", 1234), true);
    const entry = table.find("gh");
    assert.equal(table.isHeld(entry), true);
    assert.equal(table.location(entry), "https://github.com/jmp");
    assert.equal(table.expiresAt(entry), 1234);
    assert.equal(table.held, 1);
    table.release(entry);
    assert.equal(table.isHeld(entry), false);
    assert.equal(table.find("gh"), entry, "still known");
    assert.equal(table.held, 0);
    assert.equal(table.hold("gh", "https://example.com/other", Infinity), true);
    assert.equal(table.location(entry), "https://example.com/other");
    assert.equal(table.expiresAt(entry), Infinity);
    assert.equal(table.hold("x", "https://e.x/\u0100", Infinity), false, "not one byte a character");
    assert.equal(table.isHeld(table.find("x")), false);
  });

  it("reclaims released bytes, so a link rewritten again and again does not grow the table", () => {
    const table = new LinkTable(100, MB);
    for (let i = 0; i < 100; i++) table.hold(`c${i}`, `https://example.com/${i}`, Infinity);
    let settled = 0;
    for (let round = 0; round < 5000; round++) {
      const i = round % 100;
      assert.equal(table.hold(`c${i}`, `https://example.com/${i}/round/${round}`, Infinity), true);
      if (round === 999) settled = table.bytes;
    }
    assert.equal(table.bytes, settled, "no growth after the first thousand rewrites");
    for (let i = 0; i < 100; i++) {
      assert.equal(table.location(table.find(`c${i}`)), `https://example.com/${i}/round/${4900 + i}`);
    }
  });

  it("stays within its memory bound: past it codes are known but links are not held", () => {
    const table = new LinkTable(20_000, 2 * MB);
    const target = `https://example.com/${"x".repeat(200)}/`;
    let held = 0;
    for (let i = 0; i < 20_000; i++) if (table.hold(`c${i}`, target + i, Infinity)) held++;
    assert.ok(table.bytes <= 2 * MB, String(table.bytes));
    assert.ok(held > 3000 && held < 20_000, String(held));
    assert.equal(table.held, held);
    assert.equal(table.size, 20_000, "every code is known");
    const last = table.find("c19999");
    assert.equal(table.isHeld(last), false);
    assert.equal(table.location(table.find("c0")), `${target}0`);

    // The codes' arrays of a million links take ~49 MB; the location buffer gets what the bound leaves.
    const small = new LinkTable(1_000_000, 60 * MB);
    assert.ok(small.bytes <= 60 * MB && small.bytes > 55 * MB, `sized within the bound: ${small.bytes}`);

    const none = new LinkTable(10, 0);
    assert.equal(none.hold("a", "https://e.x/", Infinity), false, "0 holds no link");
    assert.notEqual(none.find("a"), ABSENT);
  });

  it("counts clicks per entry and hands them over once", () => {
    const table = new LinkTable(0, MB);
    const a = table.add("a");
    const b = table.add("b/c");
    assert.equal(table.countClick(a), true, "the first click since a drain");
    assert.equal(table.countClick(a), false);
    assert.equal(table.countClick(b), false);
    const writer = new ClickBatchWriter();
    table.drainClicks(writer);
    const batch = writer.take(0, true);
    assert.deepEqual(codesOf(batch), ["a", "b/c"]);
    assert.deepEqual([...batch.counts], [2, 1]);
    table.drainClicks(writer);
    assert.equal(writer.take(0, true).counts.length, 0, "nothing left");
    assert.equal(table.countClick(b), true);
  });

  it("lists more clicked entries than its first dirty list holds, each once", () => {
    const table = new LinkTable(5000, 4 * MB);
    const entries = Array.from({ length: 5000 }, (_, i) => table.add(`c${i}`));
    for (const entry of entries) table.countClick(entry);
    for (const entry of entries.slice(0, 100)) table.countClick(entry);
    const writer = new ClickBatchWriter();
    table.drainClicks(writer);
    const batch = writer.take(0, true);
    const codes = codesOf(batch);
    assert.equal(codes.length, 5000);
    assert.equal(codes[4999], "c4999");
    assert.equal(batch.counts[0], 2);
    assert.equal(batch.counts[4999], 1);
  });

  it("costs about 60 bytes a link plus its text", () => {
    const table = new LinkTable(1_000_000, 256 * MB);
    for (let i = 0; i < 1_000_000; i++) table.hold(`c${i}`, `https://example.com/p/${i}`, Infinity);
    const perLink = table.bytes / 1_000_000;
    // Slots (8 bytes, 2 per link), entries (25), code (~7) and target (~27) bytes, the buffers rounded up.
    assert.ok(perLink > 70 && perLink < 120, `${perLink} bytes per link`);
  });
});
