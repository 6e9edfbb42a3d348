import assert from "node:assert/strict";
import { test } from "node:test";
import { isoDate, parsePeerExport } from "./peer-import.js";

test("dates peers write become RFC 3339: Unix seconds and ms, naive times as UTC, zones kept", () => {
  assert.equal(isoDate("1568019600"), "2019-09-09T09:00:00.000Z");
  assert.equal(isoDate("1568019600000"), "2019-09-09T09:00:00.000Z");
  assert.equal(isoDate("2021-03-04 05:06:07"), "2021-03-04T05:06:07.000Z");
  assert.equal(isoDate("2023-05-06T07:08:09+02:00"), "2023-05-06T05:08:09.000Z");
  assert.equal(isoDate(""), "");
  assert.equal(
    isoDate("next tuesday"),
    "next tuesday",
    "unreadable: passed on, so its row fails with the reason",
  );
});

test("a YOURLS dump: rows of several statements with their line numbers, quotes and escapes", async () => {
  const dump = [
    "INSERT INTO `yourls_url` VALUES ('a', 'https://a.example/', 'It''s', '2020-01-01 00:00:00', '::1', 1),",
    "('b', 'https://b.example/?q=1;2', 'back\\\\slash \\'q\\'', '2020-01-01 00:00:00', '::1', 2);",
    "INSERT INTO `other_url` (`keyword`, `url`) VALUES",
    "('c', 'https://c.example/');",
  ].join("\n");
  const { rows, failures } = await parsePeerExport("yourls", Buffer.from(dump));
  assert.deepEqual(failures, []);
  assert.deepEqual(
    rows.map((r) => [r.line, r.code, r.target, r.settings.title ?? null, r.click_count]),
    [
      [1, "a", "https://a.example/", "It's", "1"],
      [2, "b", "https://b.example/?q=1;2", "back\\slash 'q'", "2"],
      [4, "c", "https://c.example/", null, ""],
    ],
  );
});

test("a dump of 100 000 rows is read in one pass", async () => {
  const tuples = Array.from(
    { length: 100_000 },
    (_, i) => `('k${i}', 'https://x.example/${i}', NULL, '2020-01-01 00:00:00', '::1', ${i})`,
  );
  const dump = `INSERT INTO yourls_url VALUES\n${tuples.join(",\n")};\n`;
  const { rows, failures } = await parsePeerExport("yourls", Buffer.from(dump));
  assert.equal(failures.length, 0);
  assert.equal(rows.length, 100_000);
  assert.deepEqual([rows[99_999]!.line, rows[99_999]!.code], [100_001, "k99999"]);
});
