/** CSV export and import, on every engine. */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { Client } from "../support/http.js";
import { forEachEngine, startServer, type TestServer } from "../support/server.js";

function upload(s: TestServer, csv: string | Buffer, mode?: string) {
  const form = new FormData();
  if (mode) form.set("mode", mode);
  form.set("file", new Blob([csv], { type: "text/csv" }), "links.csv");
  return s.api.request("POST", "/admin/v1/links/import", { body: form });
}

forEachEngine("CSV import/export", (engine) => {
  let s: TestServer;
  before(async () => {
    s = await startServer(engine);
  });
  after(() => s.close());

  it("exports every link as streamed CSV with the Shortlinker columns", async () => {
    await s.api.post("/admin/v1/links/batch", {
      links: [
        { code: "e1", target: "https://e1.example/a,b", expires_at: "2030-01-01T00:00:00Z" },
        { code: "e2", target: 'https://e2.example/"q"', password: "pw-123456" },
      ],
    });
    const r = await s.api.get("/admin/v1/links/export");
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-type"), "text/csv; charset=utf-8");
    assert.match(
      r.headers.get("content-disposition") ?? "",
      /^attachment; filename="shortlinks_export_\d{8}_\d{6}\.csv"$/,
    );
    const lines = r.text.trim().split("\n");
    // Shortlinker's six columns first, then the link settings (defaults: only `enabled` and the flags are set).
    assert.equal(
      lines[0],
      "code,target,created_at,expires_at,password,click_count," +
        "redirect_status,enabled,max_clicks,valid_from,fallback_url,title,notes,tags,forward_query,crawlable,rules",
    );
    assert.match(
      lines[1]!,
      /^e1,"https:\/\/e1\.example\/a,b",\S+,2030-01-01T00:00:00\.000Z,,0,,true,,,,,,,false,false,$/,
    );
    assert.match(
      lines[2]!,
      /^e2,"https:\/\/e2\.example\/""q""",\S+,,\[REDACTED\],0,,true,,,,,,,false,false,$/,
    );
    assert.ok(!r.text.includes("argon2"), "hashes are not exported unless asked for");
  });

  it("exports password hashes only with include_secrets=true, for admins", async () => {
    const full = await s.api.get("/admin/v1/links/export?include_secrets=true");
    assert.match(full.text, /^e2,.*,"\$argon2id\$[^"]+",0,/m);
    const reader = await s.api.post("/admin/v1/keys", { name: "csv-reader", scopes: ["links:read"] });
    const client = new Client(s.url, { authorization: `Bearer ${reader.json.data.token}` });
    assert.equal((await client.get("/admin/v1/links/export")).status, 200);
    const denied = await client.get("/admin/v1/links/export?include_secrets=true");
    assert.equal(denied.status, 403);
    assert.equal(denied.json.code, 7007);
  });

  it("imports [REDACTED] passwords as 'keep the existing one', and refuses them for new links", async () => {
    const redacted = (await s.api.get("/admin/v1/links/export?search=e2")).text;
    const again = await upload(s, redacted, "overwrite");
    assert.equal(again.json.data.success_count, 1);
    assert.equal((await s.api.get("/admin/v1/links/e2")).json.data.password, "[REDACTED]", "still protected");
    const other = await startServer(engine);
    try {
      const r = await upload(other, redacted);
      assert.equal(r.json.data.success_count, 0);
      assert.match(r.json.data.failed_items[0].error, /include_secrets=true/);
    } finally {
      await other.close();
    }
  });

  it("filters the export like the list", async () => {
    const r = await s.api.get("/admin/v1/links/export?search=e2");
    assert.deepEqual(
      r.text
        .trim()
        .split("\n")
        .slice(1)
        .map((l) => l.split(",")[0]),
      ["e2"],
    );
  });

  it("round-trips: a full export imports back into an empty instance unchanged", async () => {
    const exported = (await s.api.get("/admin/v1/links/export?include_secrets=true")).text;
    const other = await startServer(engine);
    try {
      const r = await upload(other, exported);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.data.success_count, 2);
      const again = (await other.api.get("/admin/v1/links/export?include_secrets=true")).text;
      assert.equal(again, exported);
    } finally {
      await other.close();
    }
  });

  it("answers malformed rules cells with a failed row, never a 500", async () => {
    const cells = [
      '[{""target"":5,""conditions"":[]}]',
      "[1]",
      '{""a"":1}',
      '[{""target"":""https://r.example"",""conditions"":[null]}]',
    ];
    const csv = [
      "code,target,rules",
      ...cells.map((cell, i) => `bad-rules-${i},https://r.example,"${cell}"`),
    ].join("\n");
    const r = await upload(s, csv);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.data.failed_count, cells.length, r.text);
    assert.equal((await s.api.get("/admin/v1/links/bad-rules-0")).status, 404);
  });

  it("imports in skip mode by default, reporting per-row results with file line numbers", async () => {
    const csv = [
      "code,target,created_at,expires_at,password,click_count",
      "i1,https://i1.example,2024-01-01T00:00:00Z,,,5",
      "e1,https://other.example,,,,0",
      "i1,https://dup.example,,,,0",
      "bad code,https://x.example,,,,0",
      "admin/x,https://x.example,,,,0",
      "i2,javascript:alert(1),,,,0",
      "i3,https://i3.example,,not-a-date,,0",
      ",https://empty.example,,,,0",
      "i4,https://i4.example,,7d,plain-password,",
    ].join("\n");
    const r = await upload(s, csv);
    assert.equal(r.status, 200, r.text);
    const d = r.json.data;
    assert.equal(d.total_rows, 9);
    assert.equal(d.success_count, 2);
    assert.equal(d.skipped_count, 2, "existing e1 and the in-file duplicate of i1");
    assert.equal(d.failed_count, 5);
    assert.deepEqual(
      d.failed_items.map((f: { row: number; error_code: number }) => [f.row, f.error_code]),
      [
        [5, 3007],
        [6, 3008],
        [7, 3002],
        [8, 3003],
        [9, 3007],
      ],
    );
    assert.match(d.failed_items[2].error, /^Invalid URL: /);
    const i1 = (await s.api.get("/admin/v1/links/i1")).json.data;
    assert.equal(i1.click_count, 5);
    assert.equal(i1.created_at, "2024-01-01T00:00:00.000Z");
    assert.equal(
      (await s.api.get("/admin/v1/links/e1")).json.data.target,
      "https://e1.example/a,b",
      "skip keeps the existing link",
    );
    assert.equal((await s.api.get("/admin/v1/links/i4")).json.data.password, "[REDACTED]");
  });

  it("imports in error mode (existing codes fail with 3001) and overwrite mode (last row wins)", async () => {
    const header = "code,target";
    const errorMode = await upload(
      s,
      `${header}\ne1,https://changed.example\nnew-in-error,https://n.example\n`,
      "ERROR",
    );
    assert.equal(errorMode.json.data.success_count, 1);
    assert.deepEqual(errorMode.json.data.failed_items, [
      { row: 2, code: "e1", error: "Link already exists", error_code: 3001 },
    ]);
    const overwrite = await upload(
      s,
      `${header}\ne1,https://first.example\ne1,https://last.example\n`,
      "overwrite",
    );
    assert.equal(overwrite.json.data.success_count, 1);
    assert.equal((await s.api.get("/admin/v1/links/e1")).json.data.target, "https://last.example");
    assert.equal(
      (await s.anon.get("/e1")).headers.get("location"),
      "https://last.example",
      "import invalidates the cache",
    );
  });

  it("accepts reordered and extra columns and a UTF-8 BOM; needs code and target", async () => {
    const r = await upload(s, "\uFEFFtarget,note,code\nhttps://bom.example,hello,bom1\n");
    assert.equal(r.json.data.success_count, 1);
    assert.equal((await s.api.get("/admin/v1/links/bom1")).json.data.target, "https://bom.example");
    const noCode = await upload(s, "target\nhttps://x.example\n");
    assert.equal(noCode.json.data.success_count, 0);
    assert.equal(noCode.json.data.failed_items[0].error_code, 4005);
  });

  it("reports malformed CSV records as 4005 rows and imports the rest", async () => {
    const r = await upload(s, 'code,target\nok-row,https://ok.example\n"unterminated,https://x.example\n');
    assert.equal(r.status, 200);
    assert.equal((await s.api.get("/admin/v1/links/ok-row")).status, 200);
    assert.ok(r.json.data.failed_items.some((f: { error_code: number }) => f.error_code === 4005));
  });

  it("refuses a missing file (4004), a non-multipart body (4002) and files over 10 MiB (1011)", async () => {
    const form = new FormData();
    form.set("mode", "skip");
    const noFile = await s.api.request("POST", "/admin/v1/links/import", { body: form });
    assert.equal(noFile.status, 400);
    assert.equal(noFile.json.code, 4004);
    const empty = await upload(s, "");
    assert.equal(empty.json.code, 4004);
    const json = await s.api.post("/admin/v1/links/import", { file: "x" });
    assert.equal(json.status, 400);
    assert.equal(json.json.code, 4002);
    const huge = Buffer.alloc(10 * 1024 * 1024 + 10, "a");
    const big = await upload(s, huge);
    assert.equal(big.status, 400);
    assert.equal(big.json.code, 1011);
  });
});
