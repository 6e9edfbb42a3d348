/**
 * Expiry input: an RFC 3339 timestamp, or a relative duration made of `<int><unit>` pairs (`1d2h30m`, `7d`,
 * `1M`, `1y`). Units: s/sec/second(s), m/min/minute(s), h/hour(s), d/day(s), w/week(s), M/month(s) (30 days),
 * y/year(s) (365 days). Capital `M` is months, lowercase `m` minutes. A zero total is an error; dates in the past
 * are accepted (the link is simply expired: expiry is checked on every redirect).
 */
import { printable } from "../text.js";

const SECOND = 1000;
const UNIT_MS: Record<string, number> = {
  s: SECOND,
  sec: SECOND,
  secs: SECOND,
  second: SECOND,
  seconds: SECOND,
  m: 60 * SECOND,
  min: 60 * SECOND,
  mins: 60 * SECOND,
  minute: 60 * SECOND,
  minutes: 60 * SECOND,
  h: 3600 * SECOND,
  hour: 3600 * SECOND,
  hours: 3600 * SECOND,
  d: 86400 * SECOND,
  day: 86400 * SECOND,
  days: 86400 * SECOND,
  w: 7 * 86400 * SECOND,
  week: 7 * 86400 * SECOND,
  weeks: 7 * 86400 * SECOND,
  M: 30 * 86400 * SECOND,
  month: 30 * 86400 * SECOND,
  months: 30 * 86400 * SECOND,
  y: 365 * 86400 * SECOND,
  year: 365 * 86400 * SECOND,
  years: 365 * 86400 * SECOND,
};

/** Latest representable instant we accept: the end of year 9999. */
const MAX_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|([+-])(\d{2}):(\d{2}))$/;
const DURATION_PART = /(\d+)([A-Za-z]+)/gy;

export class ExpiryError extends Error {}

/** Parses a strict RFC 3339 timestamp to epoch ms, or returns null when the text is not one. */
export function parseRfc3339(text: string): number | null {
  const m = RFC3339.exec(text);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac, , sign, oh, om] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 60) return null;
  if (day > daysInMonth(year, month)) return null;
  if (oh !== undefined && (Number(oh) > 23 || Number(om) > 59)) return null;
  const millis = frac ? Math.floor(Number(`0${frac}`) * 1000) : 0;
  let time = Date.UTC(year, month - 1, day, hour, minute, Math.min(second, 59), millis);
  if (sign) time -= (sign === "+" ? 1 : -1) * (Number(oh) * 60 + Number(om)) * 60 * SECOND;
  return time;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Parses a relative duration to milliseconds, or returns null when the text is not one. */
export function parseDuration(text: string): number | null {
  if (!/^(\d+[A-Za-z]+)+$/.test(text)) return null;
  let total = 0;
  DURATION_PART.lastIndex = 0;
  for (let m = DURATION_PART.exec(text); m; m = DURATION_PART.exec(text)) {
    // Exact match first so that "M" (months) and "m" (minutes) stay distinct; other units ignore case.
    const unit = UNIT_MS[m[2]!] ?? UNIT_MS[m[2]!.toLowerCase()];
    if (unit === undefined) return null;
    total += Number(m[1]) * unit;
  }
  return total;
}

/**
 * Resolves an `expires_at` input to epoch ms. Empty string means "no expiry" (null).
 * @throws ExpiryError with a message meant for the API client.
 */
export function resolveExpiry(input: string, now: number): number | null {
  const text = input.trim();
  if (text === "") return null;
  const absolute = parseRfc3339(text);
  if (absolute !== null) {
    if (absolute > MAX_TIME || absolute < 0)
      throw new ExpiryError(`Invalid expires_at '${printable(text)}': out of range`);
    return absolute;
  }
  const duration = parseDuration(text);
  if (duration === null) {
    throw new ExpiryError(
      `Invalid expires_at '${printable(text)}'. Use RFC 3339 (2025-12-31T23:59:59Z) or a duration like 1d2h30m, 7d, 1M, 1y`,
    );
  }
  if (duration === 0) throw new ExpiryError("Invalid expires_at: the duration must be greater than zero");
  if (now + duration > MAX_TIME)
    throw new ExpiryError(`Invalid expires_at '${printable(text)}': out of range`);
  return now + duration;
}
