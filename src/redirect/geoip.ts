/**
 * Visitor countries for `country` redirect rules, from a MaxMind DB file (`JMP_GEOIP_DATABASE`: GeoLite2 or
 * GeoIP2, Country or City). Looked up only when a rule asks, with a small LRU in the reader. Without a database
 * there is no lookup and `country` conditions never match.
 */
import maxmind, { type CountryResponse } from "maxmind";
import { SettingsError } from "../errors.js";

export type CountryLookup = (ip: string) => string | undefined;

export async function openGeoIp(file: string): Promise<CountryLookup> {
  let reader: Awaited<ReturnType<typeof maxmind.open<CountryResponse>>>;
  try {
    reader = await maxmind.open<CountryResponse>(file, { cache: { max: 10_000 } });
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
      return found?.country?.iso_code ?? found?.registered_country?.iso_code;
    } catch {
      return undefined; // e.g. an IPv6 address against an IPv4-only database
    }
  };
}
