import assert from "node:assert/strict";
import { it } from "node:test";
import { analyticsQueryOf, csvCell } from "./queries.js";

it("csvCell: quotes separators, quotes and line breaks; defuses what a spreadsheet would run", () => {
  assert.equal(csvCell(null), "");
  assert.equal(csvCell("plain"), "plain");
  assert.equal(csvCell("a,b"), '"a,b"');
  assert.equal(csvCell('say "hi"'), '"say ""hi"""');
  assert.equal(csvCell("line\nbreak"), '"line\nbreak"');
  assert.equal(csvCell('=HYPERLINK("x")'), '"\'=HYPERLINK(""x"")"');
  for (const lead of ["+", "-", "@", "\t", "\r"]) assert.ok(csvCell(`${lead}1`).includes(`'${lead}1`), lead);
});

it("analyticsQueryOf: the schema's rules for routes without one (400s, filters, exclude_bots)", () => {
  assert.deepEqual(analyticsQueryOf({ exclude_bots: "true", country: "DE", limit: "5" }), {
    start_date: undefined,
    end_date: undefined,
    group_by: undefined,
    limit: 5,
    tz: undefined,
    exclude_bots: true,
    code: undefined,
    tag: undefined,
    source: undefined,
    country: "DE",
    browser: undefined,
    os: undefined,
    device: undefined,
  });
  assert.throws(() => analyticsQueryOf({ exclude_bots: "yes" }), /exclude_bots must be true or false/);
  assert.throws(() => analyticsQueryOf({ limit: "-1" }), /limit must be a non-negative integer/);
  assert.throws(() => analyticsQueryOf({ source: "x".repeat(256) }), /source must be a short string/);
  assert.throws(() => analyticsQueryOf({ group_by: "year" }), /group_by must be one of/);
});
