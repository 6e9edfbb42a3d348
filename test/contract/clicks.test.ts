/**
 * Click-count flushes on every engine: counts land on the right rows whatever characters the code has, and two
 * instances flushing overlapping codes at the same time (in opposite orders) lose nothing and never deadlock.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { sql } from "kysely";
import type { Engine } from "../../src/store/db.js";
import { forEachEngine, twoInstances, type TestServer } from "../support/server.js";

const CODES = ["a", "b/c", "d.e-f_1", "Z", "z", "x/y/z.9", ...Array.from({ length: 300 }, (_, i) => `n${i}`)];

async function clickCounts(s: TestServer): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let page = 1; ; page++) {
    const r = await s.api.get(`/admin/v1/links?page=${page}&page_size=100`);
    assert.equal(r.status, 200, r.text);
    for (const link of r.json.data as { code: string; click_count: number }[]) {
      counts.set(link.code, link.click_count);
    }
    if (r.json.data.length < 100) return counts;
  }
}

forEachEngine("click flushes", (engine) => {
  let a: TestServer;
  let b: TestServer;
  twoInstances(engine, async (first, second) => {
    a = first;
    b = second;
    const links = CODES.map((code) => ({ code, target: `https://example.com/${code}` }));
    const r = await a.api.post("/admin/v1/links/batch", { links });
    assert.equal(r.status, 200, r.text);
  });

  it("adds each code's clicks to its own row, whatever characters the code has", async () => {
    CODES.forEach((code, i) => {
      for (let n = 0; n <= i % 3; n++) a.app.clicks.count(code);
    });
    await a.app.clicks.flush();
    const counts = await clickCounts(a);
    CODES.forEach((code, i) => assert.equal(counts.get(code), (i % 3) + 1, code));
  });

  it("adds every count of a code listed more than once in a flush", async () => {
    const before = await clickCounts(a);
    // Counted by code and on two cache entries (an entry replaced after a write): "a" is in the batch 3 times.
    a.app.clicks.count("a");
    for (const entry of [
      { code: "a", clicks: 0 },
      { code: "a", clicks: 0 },
      { code: "b/c", clicks: 0 },
    ]) {
      a.app.clicks.countSlot(entry);
      a.app.clicks.countSlot(entry);
    }
    await a.app.clicks.flush();
    const counts = await clickCounts(a);
    assert.equal(counts.get("a"), before.get("a")! + 5);
    assert.equal(counts.get("b/c"), before.get("b/c")! + 2);
  });

  it("two instances flushing overlapping codes at once lose no click", async () => {
    const before = await clickCounts(a);
    const reversed = [...CODES].reverse();
    for (let round = 0; round < 5; round++) {
      for (const code of CODES) a.app.clicks.count(code);
      for (const code of reversed) b.app.clicks.count(code);
      await Promise.all([a.app.clicks.flush(), b.app.clicks.flush()]);
    }
    assert.equal(a.app.clicks.size + b.app.clicks.size, 0, "a flush failed and kept its clicks");
    const counts = await clickCounts(a);
    for (const code of CODES) assert.equal(counts.get(code), before.get(code)! + 10, code);
  });

  it("admin writes succeed while click counts are being written", async () => {
    const many = Array.from({ length: 2000 }, (_, i) => `n${i % 300}`);
    for (let round = 0; round < 20; round++) {
      for (const code of many) a.app.clicks.count(code);
      const flushing = a.app.clicks.flush();
      const links = Array.from({ length: 100 }, (_, i) => ({
        code: `w${round}-${i}`,
        target: `https://example.com/w/${round}/${i}`,
      }));
      const [created] = await Promise.all([a.api.post("/admin/v1/links/batch", { links }), flushing]);
      assert.equal(created.status, 200, created.text);
      assert.equal(created.json.data.failed.length, 0, created.text);
    }
    assert.equal(a.app.clicks.size, 0, "a click flush failed");
  });

  it("a flush that fails part-way keeps the parts it committed and retries only the rest", async () => {
    // More codes than one part holds (2 000 or 2 048 a transaction); one in the second part is refused by a
    // trigger, a real failure of that part's transaction.
    const codes = Array.from({ length: 4500 }, (_, i) => `part${String(i).padStart(4, "0")}`);
    const now = Date.now();
    for (let i = 0; i < codes.length; i += 500) {
      const rows = codes
        .slice(i, i + 500)
        .map((code) => ({ code, target: "https://example.com/", created_at: now, updated_at: now }));
      await a.app.store.db.insertInto("links").values(rows).execute();
    }
    for (const statement of REFUSE_TRIGGER[engine]) await sql.raw(statement).execute(a.app.store.db);
    const expected = (i: number) => (i % 3) + 1;
    codes.forEach((code, i) => {
      for (let n = 0; n < expected(i); n++) a.app.clicks.count(code);
    });
    try {
      await a.app.clicks.flush();
      const failed = await clickCounts(a);
      const written = codes.filter((code) => failed.get(code) !== 0);
      // The first part was committed, and only whole counts were: no code is half counted.
      assert.ok(written.length >= 2000 && written.length < 3000, `${written.length} codes written`);
      codes.forEach((code, i) => assert.ok([0, expected(i)].includes(failed.get(code)!), code));
      assert.equal(failed.get("part3000"), 0);
      assert.equal(
        a.app.clicks.size,
        codes.slice(written.length).reduce((sum, _, k) => sum + expected(written.length + k), 0),
      );
    } finally {
      await sql
        .raw(`drop trigger refuse_part3000${engine === "postgres" ? " on links" : ""}`)
        .execute(a.app.store.db);
    }
    await a.app.clicks.flush();
    assert.equal(a.app.clicks.size, 0);
    const counts = await clickCounts(a);
    codes.forEach((code, i) => assert.equal(counts.get(code), expected(i), code));
  });
});

/** A trigger that refuses any change to the link part3000 (statements run one by one). */
const REFUSE_TRIGGER: Record<Engine, string[]> = {
  sqlite: [
    `create trigger refuse_part3000 before update on links when new.code = 'part3000'
     begin select raise(abort, 'refused for the test'); end`,
  ],
  postgres: [
    `create or replace function refuse_part3000() returns trigger language plpgsql as $$
     begin if new.code = 'part3000' then raise exception 'refused for the test'; end if; return new; end $$`,
    `create trigger refuse_part3000 before update on links for each row execute function refuse_part3000()`,
  ],
  mysql: [
    `create trigger refuse_part3000 before update on links for each row begin
     if new.code = 'part3000' then signal sqlstate '45000' set message_text = 'refused for the test'; end if; end`,
  ],
};
