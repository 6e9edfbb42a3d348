/**
 * Concurrent writes on the same links, on every engine, repeated: every outcome must be one that some serial
 * order of the requests could give. A create without force succeeds for exactly one writer; an update never
 * brings back a link a delete removed; deadlocks and lost races are retried or answered 409, never 500; a write
 * without If-Match is never refused with 412.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { it } from "node:test";
import { forEachEngine, twoInstances, type TestServer } from "../support/server.js";

const ROUNDS = 8;

forEachEngine("races", (engine) => {
  let a: TestServer;
  let b: TestServer;
  // A second instance on the same database: requests race across processes' pools as they would in production.
  twoInstances(engine, (first, second) => {
    a = first;
    b = second;
  });

  it("a batch update racing a batch delete never brings a deleted link back", async () => {
    let resurrected = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const codes = Array.from({ length: 40 }, (_, i) => `ud-${round}-${i}`);
      const created = await a.api.post("/admin/v1/links/batch", {
        links: codes.map((code) => ({ code, target: "https://before.example" })),
      });
      assert.equal(created.json.data.success.length, codes.length);
      const [updated, deleted] = await Promise.all([
        a.api.put("/admin/v1/links/batch", {
          updates: codes.map((code) => ({ code, payload: { target: "https://after.example" } })),
        }),
        b.api.request("DELETE", "/admin/v1/links/batch", { json: { codes } }),
      ]);
      assert.equal(updated.status, 200, updated.text);
      assert.equal(deleted.status, 200, deleted.text);
      const page = await a.api.get(`/admin/v1/links?search=ud-${round}-&page_size=100`);
      const left = new Set(page.json.data.map((l: { code: string }) => l.code));
      for (const code of deleted.json.data.success as string[]) if (left.has(code)) resurrected++;
    }
    assert.equal(resurrected, 0, `${resurrected} deleted links came back`);
  });

  it("50 concurrent batch creates of one code without force: exactly one succeeds", async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const code = `once-${round}`;
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          (i % 2 ? a : b).api.post("/admin/v1/links/batch", {
            links: [{ code, target: `https://writer-${i}.example` }],
          }),
        ),
      );
      for (const r of answers) assert.equal(r.status, 200, r.text);
      const winners = answers.filter((r) => r.json.data.success.includes(code));
      assert.equal(
        winners.length,
        1,
        `round ${round}: ${winners.length} writers were told they created ${code}`,
      );
      const losers = answers.flatMap((r) => r.json.data.failed);
      assert.ok(losers.every((f: { error_code: number }) => f.error_code === 3001));
      const stored = (await a.api.get(`/admin/v1/links/${code}`)).json.data.target as string;
      const winner = answers.indexOf(winners[0]!);
      assert.match(
        stored,
        new RegExp(`^https://writer-${winner}\\.example/?$`),
        "the winner's link is stored",
      );
    }
  });

  it("concurrent apply, batch, import and single writes on the same codes: never a 500", async () => {
    const csv = (round: number) => {
      const form = new FormData();
      const rows = Array.from({ length: 30 }, (_, i) => `mix-${round}-${i},https://import.example/${i}`);
      form.set("file", new Blob([`code,target\n${rows.join("\n")}\n`]), "links.csv");
      return form;
    };
    const statuses: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const codes = Array.from({ length: 30 }, (_, i) => `mix-${round}-${i}`);
      const doc = {
        apiVersion: "jmp/v1",
        metadata: { owner: `mix${round}` },
        links: codes.map((code) => ({ code, target: "https://apply.example" })),
      };
      const answers = await Promise.all([
        a.api.post("/admin/v1/apply", doc),
        b.api.post("/admin/v1/apply", { ...doc, links: [...doc.links].reverse() }),
        a.api.post("/admin/v1/links/batch", {
          links: codes.map((code) => ({ code, target: "https://batch.example", force: true })),
        }),
        b.api.post("/admin/v1/links/batch", {
          links: codes.map((code) => ({ code, target: "https://b2.example" })),
        }),
        a.api.request("POST", "/admin/v1/links/import?mode=overwrite", { body: csv(round) }),
        b.api.request("POST", "/admin/v1/links/import", { body: csv(round) }),
        b.api.request("DELETE", "/admin/v1/links/batch", { json: { codes: codes.slice(0, 10) } }),
        ...codes
          .slice(0, 5)
          .map((code) => a.api.put(`/admin/v1/links/${code}`, { target: "https://put.example" })),
      ]);
      for (const r of answers) {
        statuses.push(r.status);
        assert.ok(r.status < 500, `${r.status} ${r.text.slice(0, 300)}`);
        assert.ok([200, 201, 404, 409].includes(r.status), `${r.status} ${r.text.slice(0, 300)}`);
      }
    }
    assert.ok(statuses.filter((s) => s === 200).length > ROUNDS * 4, "most writes went through");
  });

  it("identical PUT /keys/by-name on two instances at once: all 200/201, one key", async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const body = {
        token_sha256: createHash("sha256").update(`token-${round}-${Math.random()}`).digest("hex"),
        scopes: ["links:read"],
      };
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 ? a : b).api.put(`/admin/v1/keys/by-name/race-${round}`, body),
        ),
      );
      for (const r of answers) assert.ok(r.status === 200 || r.status === 201, `${r.status} ${r.text}`);
      assert.equal(answers.filter((r) => r.status === 201).length, 1);
      assert.equal(new Set(answers.map((r) => r.json.data.id)).size, 1);
    }
  });

  it("DELETE and PUT without If-Match racing updates: never 412", async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const code = `nomatch-${round}`;
      assert.equal((await a.api.post("/admin/v1/links", { code, target: "https://v0.example" })).status, 201);
      const writes = Array.from({ length: 12 }, (_, i) =>
        (i % 2 ? a : b).api.put(`/admin/v1/links/${code}`, { target: `https://v${i + 1}.example` }),
      );
      const answers = await Promise.all([...writes, b.api.delete(`/admin/v1/links/${code}`)]);
      for (const r of answers) assert.ok([200, 404].includes(r.status), `${r.status} ${r.text}`);
      assert.equal(answers.at(-1)!.status, 200, "the delete without If-Match went through");
      assert.equal((await a.api.get(`/admin/v1/links/${code}`)).status, 404);
    }
  });
});
