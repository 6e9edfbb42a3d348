/**
 * Visitor locations from MaxMind-format database files (`JMP_GEOIP_DATABASE`, a comma-separated list: DB-IP's
 * city data comes as one IPv4 and one IPv6 file). Two record shapes are read: MaxMind's (GeoLite2/GeoIP2 Country
 * or City: `country.iso_code`, else `registered_country.iso_code`, and `city.names.en`) and the flat one of the
 * freely licensed ip-location-db files (DB-IP Lite, IPtoASN, …: `country_code`, `city`). Redirect rules ask for
 * the country (on the event loop, only when a rule has a `country` condition); the analytics worker opens its
 * own readers for country and city. Each reader keeps a small LRU.
 */
import maxmind, { type CityResponse, type Reader } from "maxmind";
import { SettingsError } from "../errors.js";

/** A record in either shape (see above). */
type LocationRecord = CityResponse & { country_code?: string; city?: string | { names?: { en?: string } } };

export type CountryLookup = (ip: string) => string | undefined;

export interface Location {
  country: string;
  city: string | null;
}

export type LocationLookup = (ip: string) => Location | undefined;

/** The files of `JMP_GEOIP_DATABASE`. */
export function geoIpFiles(setting: string): string[] {
  return setting
    .split(",")
    .map((file) => file.trim())
    .filter((file) => file !== "");
}

async function openReaders(setting: string): Promise<Reader<LocationRecord>[]> {
  return Promise.all(
    geoIpFiles(setting).map(async (file) => {
      try {
        return await maxmind.open<LocationRecord>(file, { cache: { max: 10_000 } });
      } catch (err) {
        throw new SettingsError(
          "JMP_GEOIP_DATABASE",
          `cannot open the GeoIP database ${file}: ${(err as Error).message}`,
        );
      }
    }),
  );
}

/** The first record any of the files has for the address. */
function recordOf(readers: Reader<LocationRecord>[], ip: string): LocationRecord | undefined {
  const address = ip.startsWith("::ffff:") ? ip.slice(7) : ip;
  if (!maxmind.validate(address)) return undefined;
  for (const reader of readers) {
    try {
      const found = reader.get(address);
      if (found) return found;
    } catch {
      // e.g. an IPv6 address against an IPv4-only file: try the next one.
    }
  }
  return undefined;
}

function countryOf(record: LocationRecord): string | undefined {
  return record.country?.iso_code ?? record.registered_country?.iso_code ?? record.country_code;
}

function cityOf(record: LocationRecord): string | null {
  const city = record.city;
  const name = typeof city === "string" ? city : city?.names?.en;
  return name ? name : null;
}

export async function openGeoIp(setting: string): Promise<CountryLookup> {
  const readers = await openReaders(setting);
  return (ip) => {
    const record = recordOf(readers, ip);
    return record && countryOf(record);
  };
}

export async function openLocations(setting: string): Promise<LocationLookup> {
  const readers = await openReaders(setting);
  return (ip) => {
    const record = recordOf(readers, ip);
    const country = record && countryOf(record);
    return country ? { country, city: cityOf(record) } : undefined;
  };
}
