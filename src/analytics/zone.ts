/**
 * Time zones for analytics buckets (`tz`, an IANA name such as `Europe/Berlin`): a zone is its UTC offset at
 * any instant, read from the platform's time-zone data through Intl (DST included). Counts are kept per UTC hour,
 * so local days, weeks and months are exact to the hour (in a zone with a :30 or :45 offset, an hour counts in
 * the local day its start falls in).
 */
import { badRequest } from "../errors.js";

export interface Zone {
  name: string;
  /** Milliseconds to add to a UTC instant to get the wall-clock time there (as if it were UTC). */
  offsetAt(time: number): number;
}

export const UTC: Zone = { name: "UTC", offsetAt: () => 0 };

const zones = new Map<string, Zone>();
/** Zones are few; a request naming many distinct ones must not grow the map without bound. */
const MAX_CACHED_ZONES = 64;

function makeZone(name: string): Zone {
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone: name,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
  });
  return {
    name,
    offsetAt(time) {
      const parts: Record<string, number> = {};
      for (const part of format.formatToParts(time)) parts[part.type] = Number(part.value);
      const wall = Date.UTC(
        parts.year!,
        parts.month! - 1,
        parts.day!,
        parts.hour!,
        parts.minute!,
        parts.second!,
      );
      return wall - (time - (time % 1000));
    },
  };
}

/** The zone a request names (default UTC); an unknown name is a 400. */
export function zoneOf(name: string | undefined): Zone {
  if (name === undefined || name === "" || name === "UTC" || name === "Etc/UTC") return UTC;
  let zone = zones.get(name);
  if (zone) return zone;
  try {
    zone = makeZone(name);
  } catch {
    throw badRequest(`Unknown time zone '${name.slice(0, 64)}': use an IANA name such as Europe/Berlin`);
  }
  if (zones.size >= MAX_CACHED_ZONES) zones.clear();
  zones.set(name, zone);
  return zone;
}

/** The UTC instant of a wall-clock time in the zone (the earlier one when DST makes it ambiguous). */
export function zonedTime(zone: Zone, wallAsUtc: number): number {
  const guess = wallAsUtc - zone.offsetAt(wallAsUtc);
  return wallAsUtc - zone.offsetAt(guess);
}
