import assert from "node:assert/strict";
import { test } from "node:test";
import { AppError } from "../errors.js";
import { bucketLabel, bucketStart, parseRange, trendOf } from "./range.js";

const NOW = Date.parse("2026-12-06T21:30:00Z");
const DAY = 86_400_000;

test("ranges: both bounds, date-only ends covering their whole day, defaults of 30 days", () => {
  assert.deepEqual(parseRange("2024-01-01", "2024-01-31", NOW), {
    start: Date.parse("2024-01-01T00:00:00Z"),
    end: Date.parse("2024-02-01T00:00:00Z"),
  });
  assert.deepEqual(parseRange("2024-01-01T10:00:00+02:00", "2024-01-01T12:00:00Z", NOW), {
    start: Date.parse("2024-01-01T08:00:00Z"),
    end: Date.parse("2024-01-01T12:00:00Z") + 1,
  });
  assert.deepEqual(parseRange(undefined, undefined, NOW), { start: NOW + 1 - 30 * DAY, end: NOW + 1 });
  assert.deepEqual(parseRange("2026-12-01", undefined, NOW), {
    start: Date.parse("2026-12-01T00:00:00Z"),
    end: NOW + 1,
  });
  assert.deepEqual(parseRange(undefined, "2026-11-30", NOW), {
    start: Date.parse("2026-12-01T00:00:00Z") - 30 * DAY,
    end: Date.parse("2026-12-01T00:00:00Z"),
  });
});

test("ranges: unreadable bounds and a start after the end are 400 with code 6002", () => {
  for (const [start, end] of [
    ["yesterday", undefined],
    [undefined, "2024-13-01"],
    ["2024-02-30", undefined],
    ["2024-01-01T00:00:00", undefined],
    ["2024-02-01", "2024-01-01"],
  ] as const) {
    assert.throws(
      () => parseRange(start, end, NOW),
      (err: unknown) => err instanceof AppError && err.status === 400 && err.code === 6002,
      `${start} … ${end}`,
    );
  }
});

test("buckets: labels per group_by, ISO weeks across a year boundary, Monday starts", () => {
  const t = Date.parse("2026-12-06T21:45:00Z"); // a Sunday
  assert.equal(bucketLabel(bucketStart(t, "hour"), "hour"), "2026-12-06 21:00");
  assert.equal(bucketLabel(bucketStart(t, "day"), "day"), "2026-12-06");
  assert.equal(bucketLabel(bucketStart(t, "month"), "month"), "2026-12");
  assert.equal(new Date(bucketStart(t, "week")).toISOString(), "2026-11-30T00:00:00.000Z");
  assert.equal(bucketLabel(bucketStart(t, "week"), "week"), "2026-W49");
  // 2027-01-01 is a Friday: ISO week 53 of 2026. 2024-12-30 (Monday) starts 2025-W01.
  assert.equal(bucketLabel(bucketStart(Date.parse("2027-01-01T12:00:00Z"), "week"), "week"), "2026-W53");
  assert.equal(bucketLabel(bucketStart(Date.parse("2024-12-31T12:00:00Z"), "week"), "week"), "2025-W01");
});

test("trends are zero-filled, sum hours into their buckets, and refuse absurd bucket counts", () => {
  const range = parseRange("2024-01-01", "2024-01-03", NOW);
  const hour = (iso: string) => Date.parse(iso);
  const trend = trendOf(range, "day", [
    { hour: hour("2024-01-01T05:00:00Z"), clicks: 2 },
    { hour: hour("2024-01-01T23:00:00Z"), clicks: 3 },
    { hour: hour("2024-01-03T00:00:00Z"), clicks: 4 },
    { hour: hour("2024-01-04T00:00:00Z"), clicks: 100 },
  ]);
  assert.deepEqual(trend, { labels: ["2024-01-01", "2024-01-02", "2024-01-03"], values: [5, 0, 4] });
  assert.equal(trendOf(range, "hour", []).labels.length, 72);
  assert.throws(() => trendOf(parseRange("2000-01-01", "2026-01-01", NOW), "hour", []), /group_by/);
});
