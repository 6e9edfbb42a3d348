/**
 * Visitor countries for `country` redirect rules, from a MaxMind-format DB file (`JMP_GEOIP_DATABASE`). Two
 * record shapes are read: MaxMind's (GeoLite2/GeoIP2 Country or City: `country.iso_code`, else
 * `registered_country.iso_code`) and the flat one of the freely licensed ip-location-db files (DB-IP Lite,
 * IPtoASN, …: `country_code`). Looked up only when a rule asks, with a small LRU in the reader. Without a
 * database there is no lookup and `country` conditions never match.
 */
import maxmind, { type CountryResponse } from "maxmind";

/** A record in either shape (see above). */
type CountryRecord = CountryResponse & { country_code?: string };
import { SettingsError } from "../errors.js";

export type CountryLookup = (ip: string) => string | undefined;

export async function openGeoIp(file: string): Promise<CountryLookup> {
  let reader: Awaited<ReturnType<typeof maxmind.open<CountryRecord>>>;
  try {
    reader = await maxmind.open<CountryRecord>(file, { cache: { max: 10_000 } });
  } catch (err) {
    throw new SettingsError(
      "JMP_GEOIP_DATABASE",
      `cannot open the GeoIP database: ${(err as Error).message}`,
    );
  }
  return (ip) => {
    const address = ip.startsWith("::ffff:") ? ip.slice(7) : ip;
    if (!maxmind.validate(address)) return undefined;
    try {
      const found = reader.get(address);
      return found?.country?.iso_code ?? found?.registered_country?.iso_code ?? found?.country_code;
    } catch {
      return undefined; // e.g. an IPv6 address against an IPv4-only database
    }
  };
}
