/**
 * Visitor locations from MaxMind-format database files (`JMP_GEOIP_DATABASE`, a comma-separated list: DB-IP's
 * city data comes as one IPv4 and one IPv6 file). Two record shapes are read: MaxMind's (GeoLite2/GeoIP2 Country
 * or City: `country.iso_code`, else `registered_country.iso_code`, and `city.names.en`) and the flat one of the
 * freely licensed ip-location-db files (DB-IP Lite, IPtoASN, …: `country_code`, `city`). Redirect rules ask for
 * the country (on the event loop, only when a rule has a `country` condition); the analytics worker opens its
 * own readers for country and city. Each reader keeps a small LRU.
 */
import path from "node:path";
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

/** What the detailed health and the panel's About page say about each file (its licence may need credit). */
export interface GeoIpFile {
  file: string;
  database_type: string;
  /** When the file was built (its metadata), RFC 3339. */
  built_at: string;
  description: string | null;
}

export interface GeoIp {
  country: CountryLookup;
  files: GeoIpFile[];
}

/** mmdb-lib types the description as text; the format (and every file seen) has a map by language. */
function descriptionOf(description: unknown): string | null {
  if (typeof description === "string") return description || null;
  const english = (description as { en?: unknown } | null)?.en;
  return typeof english === "string" && english !== "" ? english : null;
}

export async function openGeoIp(setting: string): Promise<GeoIp> {
  const readers = await openReaders(setting);
  const files = geoIpFiles(setting).map((file, i) => {
    const metadata = readers[i]!.metadata;
    return {
      file: path.basename(file),
      database_type: metadata.databaseType,
      built_at: metadata.buildEpoch.toISOString(),
      description: descriptionOf(metadata.description),
    };
  });
  return {
    files,
    country: (ip) => {
      const record = recordOf(readers, ip);
      return record && countryOf(record);
    },
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
