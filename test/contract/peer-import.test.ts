/**
 * Migrating in: each peer's own export format (written here as those tools write them) through
 * `POST /links/import` with `from=…` and through `jmp import --from …`, on every engine.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, it } from "node:test";
import { BOOTSTRAP_KEY, forEachEngine, runJmp, startServer, type TestServer } from "../support/server.js";

function upload(s: TestServer, from: string, content: string, mode = "skip") {
  const form = new FormData();
  form.set("from", from);
  form.set("mode", mode);
  form.set("file", new Blob([content]), "export");
  return s.api.request("POST", "/admin/v1/links/import", { body: form });
}

const YOURLS_SQL = `-- phpMyAdmin SQL Dump
CREATE TABLE \`yourls_url\` (
  \`keyword\` varchar(100) NOT NULL, \`url\` text NOT NULL, \`title\` text, \`timestamp\` timestamp,
  \`ip\` varchar(41) NOT NULL, \`clicks\` int(10) unsigned NOT NULL
);
INSERT INTO \`yourls_options\` (\`option_id\`, \`option_name\`, \`option_value\`) VALUES (1, 'version', '1.9.2');
INSERT INTO \`yourls_url\` (\`keyword\`, \`url\`, \`title\`, \`timestamp\`, \`ip\`, \`clicks\`) VALUES
('y-ozh', 'https://ozh.org/', 'Ozh\\'s \\"site\\"', '2021-03-04 05:06:07', '127.0.0.1', 42),
('y-null', 'https://example.org/a,b;c', NULL, '2022-01-01 00:00:00', '::1', 0),
('y-bad', 'javascript:alert(1)', 'x', '2022-01-01 00:00:00', '::1', 3);
INSERT INTO \`yourls_log\` (\`click_id\`, \`shorturl\`) VALUES (1, 'y-ozh');
`;

const YOURLS_CSV = `keyword,url,title,timestamp,ip,clicks
yc-1,https://yourls.example/one,One,2020-02-02 10:00:00,1.2.3.4,7
`;

const SHLINK_CSV = `createdAt,domain,shortCode,shortUrl,longUrl,title,tags,visits
2023-05-06T07:08:09+02:00,s.example,s-docs,https://s.example/s-docs,https://docs.shlink.io/,Shlink docs,docs|shlink,12
2023-05-07T00:00:00+00:00,,s-plain,https://s.example/s-plain,https://shlink.io/,,,0
`;

const KUTT_JSON = JSON.stringify({
  limit: 10,
  skip: 0,
  total: 3,
  data: [
    {
      id: "1",
      address: "k-one",
      target: "https://kutt.it/",
      description: "Kutt",
      visit_count: 5,
      created_at: "2024-01-02T03:04:05.000Z",
      expire_in: null,
      password: false,
    },
    { id: "2", address: "k-secret", target: "https://private.example/", password: true, visit_count: 1 },
    {
      id: "3",
      address: "k-expiring",
      target: "https://soon.example/",
      expire_in: "2031-01-01T00:00:00Z",
      visit_count: 0,
    },
  ],
});

const BITLY_CSV = `Title,Bitlink,Long URL,Created,Tags,Clicks
Launch page,bit.ly/b-launch,https://launch.example/,2019-09-09 09:09:09,launch|2019,99
,https://go.acme.example/b-custom,https://acme.example/,1568019600,,1
`;

forEachEngine("import from other shorteners", (engine) => {
  let s: TestServer;
  before(async () => {
    s = await startServer(engine);
  });
  after(() => s.close());

  async function link(code: string) {
    const r = await s.api.get(`/admin/v1/links/${encodeURIComponent(code)}`);
    assert.equal(r.status, 200, `${code}: ${r.text}`);
    return r.json.data;
  }

  it("YOURLS: a SQL dump (only the links table, MySQL escapes) and its CSV", async () => {
    const r = await upload(s, "yourls", YOURLS_SQL);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.data.total_rows, 3);
    assert.equal(r.json.data.success_count, 2);
    assert.deepEqual(
      r.json.data.failed_items.map((f: { row: number; code: string }) => [f.row, f.code]),
      [[10, "y-bad"]],
    );
    const ozh = await link("y-ozh");
    assert.equal(ozh.target, "https://ozh.org/");
    assert.equal(ozh.title, `Ozh's "site"`);
    assert.equal(ozh.click_count, 42);
    assert.equal(ozh.created_at, "2021-03-04T05:06:07.000Z");
    assert.equal((await link("y-null")).title, null);

    const csv = await upload(s, "yourls", YOURLS_CSV);
    assert.equal(csv.json.data.success_count, 1, csv.text);
    assert.equal((await link("yc-1")).click_count, 7);
  });

  it("Shlink: the web client's CSV (tags split on |, visits as clicks)", async () => {
    const r = await upload(s, "shlink", SHLINK_CSV);
    assert.equal(r.json.data.success_count, 2, r.text);
    const docs = await link("s-docs");
    assert.deepEqual(
      [docs.target, docs.title, docs.tags, docs.click_count, docs.created_at],
      ["https://docs.shlink.io/", "Shlink docs", ["docs", "shlink"], 12, "2023-05-06T05:08:09.000Z"],
    );
    assert.deepEqual((await link("s-plain")).tags, []);
  });

  it("Kutt: the links API's JSON; a password-protected link fails its row instead of going public", async () => {
    const r = await upload(s, "kutt", KUTT_JSON);
    assert.equal(r.json.data.success_count, 2, r.text);
    assert.equal(r.json.data.failed_count, 1);
    assert.equal(r.json.data.failed_items[0].code, "k-secret");
    assert.match(r.json.data.failed_items[0].error, /password-protected in Kutt/);
    assert.equal((await s.api.get("/admin/v1/links/k-secret")).status, 404);
    const one = await link("k-one");
    assert.deepEqual([one.title, one.click_count, one.created_at], ["Kutt", 5, "2024-01-02T03:04:05.000Z"]);
    assert.equal((await link("k-expiring")).expires_at, "2031-01-01T00:00:00.000Z");
  });

  it("Bitly: the links CSV (the code is the bitlink's path, custom domains too)", async () => {
    const r = await upload(s, "bitly", BITLY_CSV);
    assert.equal(r.json.data.success_count, 2, r.text);
    const launch = await link("b-launch");
    assert.deepEqual(
      [launch.target, launch.title, launch.tags, launch.click_count, launch.created_at],
      ["https://launch.example/", "Launch page", ["2019", "launch"], 99, "2019-09-09T09:09:09.000Z"],
    );
    assert.equal((await link("b-custom")).created_at, "2019-09-09T09:00:00.000Z");
  });

  it("refuses an unknown format, and files that are not the format said, changing nothing", async () => {
    const unknown = await upload(s, "tinyurl", SHLINK_CSV);
    assert.equal(unknown.status, 400);
    assert.match(unknown.json.message, /from must be one of jmp, yourls, shlink, kutt, bitly/);
    const wrong = await upload(s, "shlink", BITLY_CSV);
    assert.equal(wrong.status, 200);
    assert.equal(wrong.json.data.success_count, 0);
    assert.match(wrong.json.data.failed_items[0].error, /must have a column shortcode/);
    const notJson = await upload(s, "kutt", "{nope");
    assert.equal(notJson.json.data.success_count, 0);
    assert.match(notJson.json.data.failed_items[0].error, /not JSON/);
    const noTable = await upload(s, "yourls", "INSERT INTO `wp_posts` VALUES (1, 'x');");
    assert.equal(noTable.json.data.success_count, 0);
    assert.match(noTable.json.data.failed_items[0].error, /no INSERT INTO …url statement/);
    const torn = await upload(s, "yourls", "INSERT INTO yourls_url VALUES ('t-1', 'https://t.example/");
    assert.equal(torn.json.data.success_count, 0, "a torn dump imports nothing");
    assert.equal((await s.api.get("/admin/v1/links/t-1")).status, 404);
  });

  it("jmp import --from reads the file and reports per-row results (exit 1 when a row failed)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "jmp-peer-"));
    const file = path.join(dir, "bitly.csv");
    writeFileSync(file, BITLY_CSV.replaceAll("b-", "cli-b-") + "x,bit.ly/cli-bad,ftp://nope/,,,\n");
    const env = { JMP_URL: s.url, JMP_TOKEN: BOOTSTRAP_KEY };
    const r = await runJmp(["import", "--from", "bitly", file, "--json"], env);
    assert.equal(r.code, 1, r.stderr);
    const result = JSON.parse(r.stdout);
    assert.equal(result.success_count, 2);
    assert.deepEqual(
      result.failed_items.map((f: { row: number; code: string }) => [f.row, f.code]),
      [[4, "cli-bad"]],
    );
    assert.match(r.stderr, /2 imported, 0 skipped, 1 failed/);
    assert.equal((await link("cli-b-launch")).click_count, 99);
    const bad = await runJmp(["import", "--from", "tinyurl", file], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--from must be jmp, yourls, shlink, kutt, bitly/);
  });
});
