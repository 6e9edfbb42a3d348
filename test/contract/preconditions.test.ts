/** Idempotent link writes: ETag on every link read/write, If-Match, If-None-Match: *, and PUT ?upsert=true. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { forEachEngine, startServer, type TestServer } from "../support/server.js";

const ETAG = /^"[0-9]+\.[0-9a-z]+"$/;

forEachEngine("link preconditions", (engine) => {
  let s: TestServer;
  before(async () => {
    s = await startServer(engine);
  });
  after(() => s.close());

  describe("ETag", () => {
    it("is sent on create, read and update, and changes with every write", async () => {
      const created = await s.api.post("/admin/v1/links", { code: "et1", target: "https://a.example" });
      const tag1 = created.headers.get("etag");
      assert.match(tag1 ?? "", ETAG);
      const read = await s.api.get("/admin/v1/links/et1");
      assert.equal(read.headers.get("etag"), tag1);
      const updated = await s.api.put("/admin/v1/links/et1", { target: "https://b.example" });
      const tag2 = updated.headers.get("etag");
      assert.match(tag2 ?? "", ETAG);
      assert.notEqual(tag2, tag1);
      assert.equal((await s.api.get("/admin/v1/links/et1")).headers.get("etag"), tag2);
    });

    it("differs between a deleted link and its re-creation", async () => {
      const first = await s.api.post("/admin/v1/links", { code: "et2", target: "https://a.example" });
      await s.api.delete("/admin/v1/links/et2");
      await new Promise((r) => setTimeout(r, 5));
      const second = await s.api.post("/admin/v1/links", { code: "et2", target: "https://a.example" });
      assert.notEqual(second.headers.get("etag"), first.headers.get("etag"));
    });
    it("a read on another instance returns the ETag of a write made on this one", async () => {
      const other = await startServer(engine, {}, s.db);
      try {
        await s.api.post("/admin/v1/links", { code: "et3", target: "https://a.example" });
        const tag = (await other.api.get("/admin/v1/links/et3")).headers.get("etag");
        const written = await s.api.put(
          "/admin/v1/links/et3",
          { target: "https://b.example" },
          { "if-match": tag! },
        );
        const seen = await other.api.get("/admin/v1/links/et3");
        assert.equal(seen.headers.get("etag"), written.headers.get("etag"));
        assert.equal(seen.json.data.target, "https://b.example");
      } finally {
        await other.close();
      }
    });
  });

  describe("If-Match", () => {
    it("applies an update with the current tag and refuses a stale one with 412", async () => {
      const created = await s.api.post("/admin/v1/links", { code: "im1", target: "https://a.example" });
      const tag = created.headers.get("etag")!;
      const fresh = await s.api.put(
        "/admin/v1/links/im1",
        { target: "https://b.example" },
        { "if-match": tag },
      );
      assert.equal(fresh.status, 200);
      const stale = await s.api.put(
        "/admin/v1/links/im1",
        { target: "https://c.example" },
        { "if-match": tag },
      );
      assert.equal(stale.status, 412);
      assert.equal(stale.json.code, 7006);
      assert.equal(stale.json.error, "precondition_failed");
      assert.equal((await s.api.get("/admin/v1/links/im1")).json.data.target, "https://b.example");
    });

    it("guards DELETE the same way", async () => {
      const created = await s.api.post("/admin/v1/links", { code: "im2", target: "https://a.example" });
      const tag = created.headers.get("etag")!;
      await s.api.put("/admin/v1/links/im2", { target: "https://b.example" });
      const stale = await s.api.delete("/admin/v1/links/im2", undefined, { "if-match": tag });
      assert.equal(stale.status, 412);
      assert.equal((await s.api.get("/admin/v1/links/im2")).status, 200);
      const current = (await s.api.get("/admin/v1/links/im2")).headers.get("etag")!;
      const ok = await s.api.delete("/admin/v1/links/im2", undefined, { "if-match": current });
      assert.equal(ok.status, 200);
      assert.equal((await s.api.get("/admin/v1/links/im2")).status, 404);
    });

    it("accepts '*' and a list of tags", async () => {
      await s.api.post("/admin/v1/links", { code: "im3", target: "https://a.example" });
      const star = await s.api.put(
        "/admin/v1/links/im3",
        { target: "https://b.example" },
        { "if-match": "*" },
      );
      assert.equal(star.status, 200);
      const list = await s.api.put(
        "/admin/v1/links/im3",
        { target: "https://c.example" },
        { "if-match": `"1.x", ${star.headers.get("etag")}` },
      );
      assert.equal(list.status, 200);
    });
  });

  describe("PUT ?upsert=true", () => {
    it("creates a missing link with 201, then replaces it, and a repeat writes nothing", async () => {
      const created = await s.api.put("/admin/v1/links/up1?upsert=true", {
        target: "https://a.example",
        expires_at: "2099-01-01T00:00:00Z",
      });
      assert.equal(created.status, 201);
      assert.equal(created.json.data.code, "up1");
      assert.equal(created.json.data.expires_at, "2099-01-01T00:00:00.000Z");
      const tag = created.headers.get("etag");

      const again = await s.api.put("/admin/v1/links/up1?upsert=true", {
        target: "https://a.example",
        expires_at: "2099-01-01T00:00:00Z",
      });
      assert.equal(again.status, 200);
      assert.equal(again.headers.get("etag"), tag, "an identical upsert does not write");

      // Replace semantics: an absent expires_at means "no expiry".
      const replaced = await s.api.put("/admin/v1/links/up1?upsert=true", { target: "https://a.example" });
      assert.equal(replaced.status, 200);
      assert.equal(replaced.json.data.expires_at, null);
      assert.notEqual(replaced.headers.get("etag"), tag);
      assert.equal((await s.anon.get("/up1")).headers.get("location"), "https://a.example");
    });

    it("without upsert, PUT on a missing link stays Shortlinker's 404", async () => {
      const r = await s.api.put("/admin/v1/links/nope404", { target: "https://a.example" });
      assert.equal(r.status, 404);
    });

    it("validates like create: an invalid target is 400 and nothing is stored", async () => {
      const r = await s.api.put("/admin/v1/links/up2?upsert=true", { target: "javascript:alert(1)" });
      assert.equal(r.status, 400);
      assert.equal((await s.api.get("/admin/v1/links/up2")).status, 404);
    });
  });

  describe("If-None-Match: *", () => {
    it("creates when missing and answers 412 when the code exists", async () => {
      const created = await s.api.put(
        "/admin/v1/links/inm1",
        { target: "https://a.example" },
        { "if-none-match": "*" },
      );
      assert.equal(created.status, 201);
      const again = await s.api.put(
        "/admin/v1/links/inm1",
        { target: "https://b.example" },
        { "if-none-match": "*" },
      );
      assert.equal(again.status, 412);
      assert.equal(again.json.error, "precondition_failed");
      assert.equal((await s.api.get("/admin/v1/links/inm1")).json.data.target, "https://a.example");
    });

    it("rejects other If-None-Match values with 400", async () => {
      const r = await s.api.put(
        "/admin/v1/links/inm2",
        { target: "https://a.example" },
        { "if-none-match": '"1.a"' },
      );
      assert.equal(r.status, 400);
    });

    it("of many concurrent create-only requests exactly one wins", async () => {
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          s.api.put("/admin/v1/links/inm3", { target: `https://a${i}.example` }, { "if-none-match": "*" }),
        ),
      );
      const statuses = results.map((r) => r.status).sort();
      assert.deepEqual(statuses, [201, 412, 412, 412, 412, 412, 412, 412]);
    });
  });
});
