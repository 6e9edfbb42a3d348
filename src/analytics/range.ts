/**
 * The time side of the analytics API (Shortlinker's contract, its quirks fixed as docs/api.md#analytics says):
 * `start_date`/`end_date` as RFC 3339 or `YYYY-MM-DD`, `group_by` buckets with zero-filled labels, ISO weeks on
 * every engine, and `tz` for local days, weeks and months (zone.ts). Times are epoch ms, UTC; ranges are
 * half-open, `[start, end)`. Counts are kept per hour, so a range is exact to the hour: a bound inside an hour
 * takes that whole hour.
 */
import { invalidDateRange } from "../errors.js";
import { UTC, type Zone, zonedTime } from "./zone.js";

export const GROUP_BY = ["hour", "day", "week", "month"] as const;
export type GroupBy = (typeof GROUP_BY)[number];

export interface TimeRange {
  start: number;
  /** Exclusive. */
  end: number;
}

const DAY_MS = 86_400_000;
const DEFAULT_SPAN_MS = 30 * DAY_MS;
/** More buckets than this is not a chart (ten years by day is 3 653): refused with 400. */
export const MAX_BUCKETS = 10_000;

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** A bound: RFC 3339 (a zone required) → that instant; `YYYY-MM-DD` → that day's 00:00Z; else null. */
function parseBound(text: string): { time: number; dateOnly: boolean } | null {
  const day = DATE_ONLY.exec(text);
  if (day) {
    const time = Date.UTC(Number(day[1]), Number(day[2]) - 1, Number(day[3]));
    const valid = new Date(time).toISOString().startsWith(text);
    return valid ? { time, dateOnly: true } : null;
  }
  if (!RFC3339.test(text)) return null;
  const time = Date.parse(text);
  return Number.isNaN(time) ? null : { time, dateOnly: false };
}

/**
 * The range a request asks for. Both bounds absent: the last 30 days. A start alone: from it to now; an end
 * alone: the 30 days up to it (Shortlinker ignored a lone bound). A date-only bound is that day in `zone`; a
 * date-only end includes that whole day (Shortlinker's excluded it); an instant end includes that instant. An unreadable bound or a start after the end is a 400 (6002) —
 * Shortlinker fell back to its default without a word.
 */
export function parseRange(
  startText: string | undefined,
  endText: string | undefined,
  now: number,
  zone: Zone = UTC,
): TimeRange {
  const start = startText === undefined || startText === "" ? null : parseBound(startText);
  const end = endText === undefined || endText === "" ? null : parseBound(endText);
  if (startText && !start)
    throw invalidDateRange(`Invalid start_date '${startText}': use RFC 3339 or YYYY-MM-DD`);
  if (endText && !end) throw invalidDateRange(`Invalid end_date '${endText}': use RFC 3339 or YYYY-MM-DD`);
  // A date alone is that day in the request's zone: from its local midnight to the next.
  const local = (time: number) => zonedTime(zone, time);
  const endTime = end ? (end.dateOnly ? local(end.time + DAY_MS) : end.time + 1) : now + 1;
  const startTime = start ? (start.dateOnly ? local(start.time) : start.time) : endTime - DEFAULT_SPAN_MS;
  if (startTime >= endTime) throw invalidDateRange("start_date must be before end_date");
  return { start: startTime, end: endTime };
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** The start of the bucket `time` is in (UTC; weeks start on Monday, as ISO weeks do). */
export function bucketStart(time: number, groupBy: GroupBy): number {
  const date = new Date(time);
  switch (groupBy) {
    case "hour":
      return time - (time % 3_600_000);
    case "day":
      return time - (time % DAY_MS);
    case "week": {
      const day = time - (time % DAY_MS);
      const weekday = (date.getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
      return day - weekday * DAY_MS;
    }
    case "month":
      return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
  }
}

function nextBucket(start: number, groupBy: GroupBy): number {
  if (groupBy === "month") {
    const date = new Date(start);
    return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
  }
  return start + (groupBy === "hour" ? 3_600_000 : groupBy === "day" ? DAY_MS : 7 * DAY_MS);
}

/** `2026-12-06 21:00`, `2026-12-06`, `2026-W49` (ISO week-year), `2026-12`. */
export function bucketLabel(start: number, groupBy: GroupBy): string {
  const date = new Date(start);
  const ymd = `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`;
  switch (groupBy) {
    case "hour":
      return `${ymd} ${pad(date.getUTCHours())}:00`;
    case "day":
      return ymd;
    case "month":
      return ymd.slice(0, 7);
    case "week": {
      // The ISO week-year is the year of the week's Thursday.
      const thursday = new Date(start + 3 * DAY_MS);
      const year = thursday.getUTCFullYear();
      const week = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * DAY_MS)) + 1;
      return `${year}-W${pad(week)}`;
    }
  }
}

export interface Trend {
  labels: string[];
  values: number[];
}

/**
 * Every bucket the range touches, in order, each with the sum of the hourly counts in it — zero-filled, so the
 * last two values are always today and yesterday (Shortlinker skipped empty buckets, and its panel's "vs
 * yesterday" compared the wrong days).
 */
export function trendOf(
  range: TimeRange,
  groupBy: GroupBy,
  hourly: readonly { hour: number; clicks: number }[],
  zone: Zone = UTC,
): Trend {
  if (zone !== UTC) return zonedTrend(range, groupBy, hourly, zone);
  const first = bucketStart(range.start, groupBy);
  const starts: number[] = [];
  for (let at = first; at < range.end; at = nextBucket(at, groupBy)) {
    if (starts.length === MAX_BUCKETS) {
      throw invalidDateRange(
        `the range has more than ${MAX_BUCKETS} ${groupBy} buckets: use a coarser group_by`,
      );
    }
    starts.push(at);
  }
  const index = new Map(starts.map((start, i) => [start, i]));
  const values = starts.map(() => 0);
  for (const { hour, clicks } of hourly) {
    const i = index.get(bucketStart(hour, groupBy));
    if (i !== undefined) values[i]! += clicks;
  }
  return { labels: starts.map((start) => bucketLabel(start, groupBy)), values };
}

/** Hours a zoned trend walks at most (ten years): each is converted to the zone's wall-clock time. */
const MAX_ZONED_HOURS = 87_660;

/**
 * A trend in another zone: every UTC hour of the range goes to the local bucket its start falls in, so the
 * buckets follow the zone's days, DST changes included (a local day may have 23 or 25 hours).
 */
function zonedTrend(
  range: TimeRange,
  groupBy: GroupBy,
  hourly: readonly { hour: number; clicks: number }[],
  zone: Zone,
): Trend {
  const localBucket = (hour: number) => bucketStart(hour + zone.offsetAt(hour), groupBy);
  const first = range.start - (range.start % 3_600_000);
  if ((range.end - first) / 3_600_000 > MAX_ZONED_HOURS) {
    throw invalidDateRange("a range in a time zone other than UTC may span at most ten years");
  }
  const index = new Map<number, number>();
  const labels: string[] = [];
  for (let hour = first; hour < range.end; hour += 3_600_000) {
    const bucket = localBucket(hour);
    if (index.has(bucket)) continue;
    if (labels.length === MAX_BUCKETS) {
      throw invalidDateRange(
        `the range has more than ${MAX_BUCKETS} ${groupBy} buckets: use a coarser group_by`,
      );
    }
    index.set(bucket, labels.length);
    labels.push(bucketLabel(bucket, groupBy));
  }
  const values = labels.map(() => 0);
  for (const { hour, clicks } of hourly) {
    const i = index.get(localBucket(hour));
    if (i !== undefined) values[i]! += clicks;
  }
  return { labels, values };
}
