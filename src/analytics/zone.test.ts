import assert from "node:assert/strict";
import { test } from "node:test";
import { AppError } from "../errors.js";
import { parseRange, trendOf } from "./range.js";
import { UTC, zonedTime, zoneOf } from "./zone.js";

const at = Date.parse;
const H = 3_600_000;

test("zones: offsets with DST, UTC by default, an unknown name is a 400", () => {
  const berlin = zoneOf("Europe/Berlin");
  assert.equal(berlin.offsetAt(at("2026-01-15T12:00:00Z")), H);
  assert.equal(berlin.offsetAt(at("2026-07-15T12:00:00Z")), 2 * H);
  assert.equal(zoneOf("Asia/Kolkata").offsetAt(at("2026-07-15T12:00:00Z")), 5.5 * H);
  assert.equal(zoneOf(undefined), UTC);
  assert.equal(zoneOf("Europe/Berlin"), berlin, "cached");
  assert.throws(
    () => zoneOf("Mars/Olympus_Mons"),
    (err: unknown) => err instanceof AppError && err.status === 400,
  );
  assert.equal(zonedTime(berlin, at("2026-12-06T00:00:00Z")), at("2026-12-05T23:00:00Z"));
});

test("a date-only range is the local day; day buckets follow the zone, DST days included", () => {
  const berlin = zoneOf("Europe/Berlin");
  assert.deepEqual(parseRange("2026-12-06", "2026-12-06", Date.now(), berlin), {
    start: at("2026-12-05T23:00:00Z"),
    end: at("2026-12-06T23:00:00Z"),
  });
  // 2026-03-29 has 23 hours in Berlin (clocks go from 02:00 to 03:00).
  const range = parseRange("2026-03-28", "2026-03-30", Date.now(), berlin);
  const trend = trendOf(
    range,
    "day",
    [
      { hour: at("2026-03-28T22:00:00Z"), clicks: 1 }, // 23:00 on the 28th
      { hour: at("2026-03-28T23:00:00Z"), clicks: 2 }, // 00:00 on the 29th
      { hour: at("2026-03-29T21:00:00Z"), clicks: 4 }, // 23:00 on the 29th (summer time)
      { hour: at("2026-03-29T22:00:00Z"), clicks: 8 }, // 00:00 on the 30th
    ],
    berlin,
  );
  assert.deepEqual(trend, { labels: ["2026-03-28", "2026-03-29", "2026-03-30"], values: [1, 6, 8] });
  const kolkata = trendOf(
    { start: at("2026-07-15T00:00:00Z"), end: at("2026-07-16T00:00:00Z") },
    "day",
    [
      { hour: at("2026-07-15T18:00:00Z"), clicks: 1 }, // 23:30 local
      { hour: at("2026-07-15T19:00:00Z"), clicks: 2 }, // 00:30 the next day
    ],
    zoneOf("Asia/Kolkata"),
  );
  assert.deepEqual(kolkata, { labels: ["2026-07-15", "2026-07-16"], values: [1, 2] });
  assert.equal(trendOf(range, "hour", [], berlin).labels.length, 71, "24 + 23 + 24 local hours");
});
