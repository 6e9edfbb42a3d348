import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pino } from "pino";
import { ChangeFeed } from "../events/feed.js";
import { type CodeSource, CodeMembership } from "./membership.js";

/** Codes in a sorted array, served in keyset pages like the database does; `gate` can hold a page back. */
function source(codes: string[]): CodeSource & { pages: number; gate: Promise<void> | null } {
  const s = {
    pages: 0,
    gate: null as Promise<void> | null,
    async count() {
      return codes.length;
    },
    async codesAfter(after: string, limit: number) {
      s.pages++;
      if (s.gate) await s.gate;
      return [...codes]
        .sort()
        .filter((code) => code > after)
        .slice(0, limit);
    },
  };
  return s;
}

const log = pino({ level: "silent" });
const options = { rebuildIntervalSeconds: () => 0 };

describe("code membership", () => {
  it("lets every code through until the first build, then only codes that exist", async () => {
    const codes = Array.from({ length: 25_000 }, (_, i) => `c${i}`);
    const src = source(codes);
    const members = new CodeMembership(src, options, log);
    assert.equal(members.mayExist("nope"), true);
    await members.rebuild();
    assert.equal(src.pages, 3, "keyset pages of 10 000");
    for (const code of codes) assert.equal(members.mayExist(code), true);
    for (let i = 0; i < 10_000; i++) assert.equal(members.mayExist(`m${i}`), false);
    assert.deepEqual(members.status().ready, true);
  });

  it("adds codes written while it is built, and after", async () => {
    const feed = new ChangeFeed();
    const src = source(["a"]);
    const members = new CodeMembership(src, options, log);
    members.follow(feed);
    let release!: () => void;
    src.gate = new Promise((resolve) => (release = resolve));
    const building = members.rebuild();
    await new Promise((resolve) => setImmediate(resolve));
    feed.emit({ kind: "links", codes: ["during"] }, "remote");
    release();
    await building;
    feed.emit({ kind: "links", codes: ["later"] }, "local");
    assert.equal(members.mayExist("a"), true);
    assert.equal(members.mayExist("during"), true, "written during the scan");
    assert.equal(members.mayExist("later"), true);
    assert.equal(members.mayExist("never"), false);
  });

  it("lets everything through after a change of unknown codes, until rebuilt", async () => {
    const feed = new ChangeFeed();
    const codes = ["a"];
    const members = new CodeMembership(source(codes), options, log);
    members.follow(feed);
    await members.rebuild();
    assert.equal(members.mayExist("b"), false);
    codes.push("b");
    feed.emit({ kind: "links.all" }, "remote");
    assert.equal(members.mayExist("b"), true, "off while rebuilding");
    await members.rebuild();
    assert.equal(members.mayExist("b"), true);
    assert.equal(members.mayExist("c"), false);
  });

  it("keeps the previous filter when a rebuild fails", async () => {
    const src = source(["a"]);
    const members = new CodeMembership(src, options, log);
    await members.rebuild();
    src.codesAfter = async () => {
      throw new Error("database down");
    };
    await members.rebuild();
    assert.equal(members.mayExist("a"), true);
    assert.equal(members.mayExist("b"), false);
  });
});
