import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pino } from "pino";
import { ChangeFeed } from "../events/feed.js";
import { type IndexRow, isPlain, plainLink, type RedirectFields } from "../links/model.js";
import { type LinkSource, LinkIndex, NOT_A_LINK, NOT_HELD } from "./link-index.js";

const plain = (target: string): RedirectFields => plainLink(target, null);

/** Links by code, served in keyset pages like the database does; `gate` can hold a page back. */
function source(
  links: Map<string, RedirectFields>,
): LinkSource & { pages: number; gate: Promise<void> | null } {
  const s = {
    pages: 0,
    gate: null as Promise<void> | null,
    async count() {
      return links.size;
    },
    async indexRows(after: string, limit: number) {
      s.pages++;
      if (s.gate) await s.gate;
      return [...links.keys()]
        .sort()
        .filter((code) => code > after)
        .slice(0, limit)
        .map((code): IndexRow => {
          const link = links.get(code)!;
          return [code, link.target, link.expiresAt, isPlain(link)];
        });
    },
    async lookup(code: string) {
      return links.get(code);
    },
  };
  return s;
}

const log = pino({ level: "silent" });
const MB = 2 ** 20;
const options = { rebuildIntervalSeconds: () => 0, maxBytes: 64 * MB };

function linksOf(codes: string[]): Map<string, RedirectFields> {
  return new Map(codes.map((code) => [code, plain(`https://example.com/${code}`)]));
}

/** An index over `links` following a change feed of its own, built once. */
async function followingIndex(links: Map<string, RedirectFields>) {
  const feed = new ChangeFeed();
  const index = new LinkIndex(source(links), options, log);
  index.follow(feed);
  await index.rebuild();
  return { feed, index };
}

/** The `Location` the index serves for `code`, or what `lookup` answered. */
function served(index: LinkIndex, code: string): string | number {
  const entry = index.lookup(code);
  return entry >= 0 ? index.current.location(entry) : entry;
}

describe("link index", () => {
  it("sends every code to the cache and database until built, then holds every plain link", async () => {
    const codes = Array.from({ length: 12_000 }, (_, i) => `c${i}`);
    const src = source(linksOf(codes));
    const index = new LinkIndex(src, options, log);
    assert.equal(index.lookup("c1"), NOT_HELD);
    assert.equal(index.lookup("nope"), NOT_HELD);
    await index.rebuild();
    assert.equal(src.pages, 3, "keyset pages of 5 000");
    for (const code of codes) assert.equal(served(index, code), `https://example.com/${code}`);
    for (let i = 0; i < 5_000; i++) assert.equal(index.lookup(`m${i}`), NOT_A_LINK);
    assert.deepEqual(
      { ...index.status(), bytes: 0, buildMs: 0 },
      { ready: true, codes: 12_000, held: 12_000, bytes: 0, rebuilds: 1, buildMs: 0 },
    );
  });

  it("knows links with settings without holding them, and hands them to the cache", async () => {
    const links = linksOf(["a"]);
    links.set("locked", { ...plain("https://example.com/l"), passwordHash: "$argon2id$x" });
    links.set("gone", { ...plain("https://example.com/g"), enabled: false });
    const cached = new Map<string, RedirectFields>();
    const overflow = {
      room: () => 1 - cached.size,
      add: (code: string, link: RedirectFields) => cached.set(code, link),
    };
    const index = new LinkIndex(source(links), { ...options, overflow }, log);
    await index.rebuild();
    assert.equal(served(index, "a"), "https://example.com/a");
    assert.equal(index.lookup("locked"), NOT_HELD);
    assert.equal(index.lookup("gone"), NOT_HELD);
    assert.deepEqual([...cached.keys()], ["gone"], "while the cache has room, with every setting");
    assert.equal(cached.get("gone")!.enabled, false);
  });

  it("releases a changed link at once and holds it again from a read made after the change", async () => {
    const { feed, index } = await followingIndex(linksOf(["a"]));
    const before = index.version;
    feed.emit({ kind: "links", codes: ["a", "new"] }, "remote");
    assert.equal(index.lookup("a"), NOT_HELD, "not served from the old row");
    assert.equal(index.lookup("new"), NOT_HELD, "a created code is known at once");
    assert.equal(
      index.hold("a", plain("https://example.com/stale"), before),
      false,
      "read before the change",
    );
    assert.equal(index.lookup("a"), NOT_HELD);
    assert.equal(index.hold("a", plain("https://example.com/a2"), index.version), true);
    assert.equal(served(index, "a"), "https://example.com/a2");
    assert.equal(index.hold("new", { ...plain("https://e.x/"), maxClicks: 3 }, index.version), false);
  });

  it("holds nothing read in a page that a change overtook, and keeps changes made while it builds", async () => {
    const feed = new ChangeFeed();
    const links = linksOf(["a", "b"]);
    const src = source(links);
    const index = new LinkIndex(src, options, log);
    index.follow(feed);
    let release!: () => void;
    src.gate = new Promise<void>((resolve) => (release = resolve));
    const building = index.rebuild();
    await new Promise((resolve) => setImmediate(resolve));
    links.set("a", plain("https://example.com/changed"));
    feed.emit({ kind: "links", codes: ["a", "during"] }, "remote");
    release();
    await building;
    assert.equal(index.lookup("a"), NOT_HELD, "the page may predate the change");
    assert.equal(index.lookup("b"), NOT_HELD);
    assert.equal(index.lookup("during"), NOT_HELD, "known");
    assert.equal(index.lookup("never"), NOT_A_LINK);
    src.gate = null;
    await index.rebuild();
    assert.equal(served(index, "a"), "https://example.com/changed");
  });

  it("switches off after a change of unknown codes, until rebuilt", async () => {
    const links = linksOf(["a"]);
    const { feed, index } = await followingIndex(links);
    assert.equal(index.lookup("b"), NOT_A_LINK);
    links.set("b", plain("https://example.com/b"));
    feed.emit({ kind: "links.all" }, "remote");
    assert.equal(index.lookup("a"), NOT_HELD, "off while rebuilding");
    await index.rebuild();
    assert.equal(served(index, "b"), "https://example.com/b");
    assert.equal(index.lookup("c"), NOT_A_LINK);
  });

  it("keeps the previous table when a rebuild fails", async () => {
    const src = source(linksOf(["a"]));
    const index = new LinkIndex(src, options, log);
    await index.rebuild();
    src.indexRows = async () => {
      throw new Error("database down");
    };
    await index.rebuild();
    assert.equal(served(index, "a"), "https://example.com/a");
    assert.equal(index.lookup("b"), NOT_A_LINK);
  });

  it("keeps only fingerprints of the codes when the bound cannot hold the links, and fills the cache instead", async () => {
    const codes = Array.from({ length: 12_000 }, (_, i) => `c${i}`);
    const cached = new Map<string, RedirectFields>();
    const overflow = {
      room: () => 100 - cached.size,
      add: (code: string, link: RedirectFields) => cached.set(code, link),
    };
    const index = new LinkIndex(source(linksOf(codes)), { ...options, maxBytes: 200_000, overflow }, log);
    await index.rebuild();
    for (const code of codes) assert.equal(index.lookup(code), NOT_HELD, code);
    for (let i = 0; i < 1000; i++) assert.equal(index.lookup(`m${i}`), NOT_A_LINK);
    const status = index.status();
    assert.equal(status.codes, 12_000);
    assert.equal(status.held, 0);
    assert.ok(
      status.bytes <= 32 * 12_000 && status.bytes >= 16 * 12_000,
      `16–32 bytes a code: ${status.bytes}`,
    );
    assert.equal(cached.size, 100, "the cache takes links while it has room");
    const feed = new ChangeFeed();
    index.follow(feed);
    feed.emit({ kind: "links", codes: ["new"] }, "remote");
    assert.equal(index.lookup("new"), NOT_HELD, "a created code is known at once");
    assert.equal(index.hold("new", plain("https://e.x/"), index.version), false);
  });

  it("with a budget of 0 holds no link but still knows every code", async () => {
    const cached = new Map<string, RedirectFields>();
    const overflow = { room: () => 10, add: (code: string, link: RedirectFields) => cached.set(code, link) };
    const index = new LinkIndex(source(linksOf(["a", "b"])), { ...options, maxBytes: 0, overflow }, log);
    await index.rebuild();
    assert.equal(index.lookup("a"), NOT_HELD);
    assert.equal(index.lookup("z"), NOT_A_LINK);
    assert.deepEqual([...cached.keys()], ["a", "b"], "the cache takes them");
    assert.equal(cached.get("b")!.target, "https://example.com/b");
  });
});
