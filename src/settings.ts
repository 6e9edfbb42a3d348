/**
 * Startup settings: everything that is fixed for the life of a process (listen address, database, logging,
 * bootstrap credentials). Read once from `JMP_*` environment variables; every variable `X` may instead be given
 * as `X_FILE` (a path whose content is the value — Docker and Kubernetes secrets). Setting both is an error.
 *
 * Invalid input never falls back to a default: `readSettings` throws a `SettingsError` naming the variable, and
 * the process stops. Secret values are never part of an error message.
 *
 * Runtime behaviour that can change while running lives in the runtime config registry (`src/config/`), not here.
 */
import type { AnalyticsStreamSettings } from "./analytics/stream.js";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import { type BootstrapKey, parseBootstrapKeys } from "./auth/bootstrap.js";
import { isArgon2idHash, MIN_PASSWORD_LENGTH } from "./util/password.js";
import { isScope, normalizeScopes, SCOPES, type Scope } from "./auth/scopes.js";
import { type ConfigKey, definitionOf } from "./config/registry.js";
import { parseRfc3339 } from "./util/time.js";
import { isIpOrCidr } from "./text.js";
import { SettingsError } from "./errors.js";
import type { LogFormat, LogLevel } from "./log.js";
import type { DatabaseSettings } from "./store/db.js";

export interface Settings {
  host: string;
  port: number;
  unixSocket: string | null;
  dataDir: string;
  database: DatabaseSettings;
  logLevel: LogLevel;
  logFormat: LogFormat;
  /** Proxies whose `X-Forwarded-For`/`X-Forwarded-Proto` are believed: IPs or CIDR ranges. */
  trustedProxies: string[];
  /** `JMP_ADMIN_PASSWORD`: plain text (≥ 8 chars) or an `$argon2id$` hash; pins `api.admin_token`. */
  adminPassword: string | null;
  bootstrapKeys: BootstrapKey[];
  /** `JMP_BOOTSTRAP_API_KEY_SCOPES` (default admin). */
  bootstrapScopes: Scope[];
  /** `JMP_BOOTSTRAP_API_KEY_EXPIRES_AT`, epoch ms. */
  bootstrapExpiresAt: number | null;
  /** Where a generated first-start admin password is written instead of stdout. */
  initialSecretsFile: string | null;
  /** `JMP_PROVISION_FILE`: an apply document (YAML/JSON) applied at every start, under a database lock. */
  provisionFile: string | null;
  /** `JMP_GEOIP_DATABASE`: a MaxMind DB (GeoLite2/GeoIP2 Country or City) for `country` redirect rules. */
  geoipDatabase: string | null;
  /** Redis for the cross-instance change feed (optional: without it instances poll the database). */
  redisUrl: string | null;
  /** `JMP_ANALYTICS_STREAM(_NAME)`: where each recorded click is also published (docs/analytics.md), or null. */
  analyticsStream: AnalyticsStreamSettings | null;
  /** `JMP_WORKERS`: HTTP worker processes (Node cluster) sharing the port; 1 = serve from this process. */
  workers: number;
  /** `JMP_METRICS`: Prometheus metrics at `<routes.health_prefix>/metrics` (default on). */
  metrics: boolean;
  /** `JMP_HEAP_GROWTH_PERCENT`: V8's old-generation growth between major GCs; 0 = V8's own heuristic. */
  heapGrowthPercent: number;
  /** `JMP_LINK_INDEX_MB`, in bytes: the link index's memory bound (redirect/link-index.ts); 0 holds no link. */
  linkIndexBytes: number;
  /** Runtime keys pinned by `JMP_CONFIG_<KEY>` (dots as `__`), validated here, hashed (secrets) at start. */
  configPins: ConfigPin[];
}

export interface ConfigPin {
  variable: string;
  key: ConfigKey;
  value: string;
}

type Env = Record<string, string | undefined>;

/** Every variable jmp reads. Anything else starting with `JMP_` gets a warning (typos should not pass silently). */
export const KNOWN_VARIABLES = [
  "JMP_HOST",
  "JMP_PORT",
  "JMP_UNIX_SOCKET",
  "JMP_DATA_DIR",
  "JMP_DATABASE_URL",
  "JMP_LOG_LEVEL",
  "JMP_LOG_FORMAT",
  "JMP_TRUSTED_PROXIES",
  "JMP_ADMIN_PASSWORD",
  "JMP_BOOTSTRAP_API_KEY",
  "JMP_BOOTSTRAP_API_KEY_SCOPES",
  "JMP_BOOTSTRAP_API_KEY_EXPIRES_AT",
  "JMP_INITIAL_SECRETS_FILE",
  "JMP_PROVISION_FILE",
  "JMP_GEOIP_DATABASE",
  "JMP_REDIS_URL",
  "JMP_ANALYTICS_STREAM",
  "JMP_ANALYTICS_STREAM_NAME",
  "JMP_WORKERS",
  "JMP_METRICS",
  "JMP_HEAP_GROWTH_PERCENT",
  "JMP_LINK_INDEX_MB",
  // Read by the CLI's online commands and by the test suite, not by the server.
  "JMP_URL",
  "JMP_TOKEN",
] as const;

/** `JMP_CONFIG_<KEY>` pins a runtime key. */
const CONFIG_PREFIX = "JMP_CONFIG_";

const LOG_LEVELS: readonly LogLevel[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/**
 * Reads one variable, honouring its `_FILE` twin. A file's single trailing newline is dropped (editors and
 * `echo` add one); the rest of the content is the value as written.
 */
export function readVariable(env: Env, name: string): string | undefined {
  const direct = env[name];
  const file = env[`${name}_FILE`];
  if (direct !== undefined && file !== undefined) {
    throw new SettingsError(name, `both ${name} and ${name}_FILE are set; set only one`);
  }
  if (file !== undefined) {
    if (file === "") throw new SettingsError(`${name}_FILE`, "is empty; give the path of a readable file");
    let content: string;
    try {
      content = readFileSync(file, "utf8");
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code ?? "unreadable";
      throw new SettingsError(`${name}_FILE`, `cannot read ${file} (${reason})`);
    }
    return content.replace(/\r?\n$/, "");
  }
  return direct;
}

export function readSettings(env: Env = process.env): Settings {
  const dataDir = path.resolve(readVariable(env, "JMP_DATA_DIR") || "data");
  const configPins = parseConfigPins(env);
  const adminPin = configPins.find((pin) => pin.key === "api.admin_token");
  if (adminPin && (env.JMP_ADMIN_PASSWORD !== undefined || env.JMP_ADMIN_PASSWORD_FILE !== undefined)) {
    throw new SettingsError(
      adminPin.variable,
      "set the admin password with JMP_ADMIN_PASSWORD or this, not both",
    );
  }
  return {
    host: parseHost(readVariable(env, "JMP_HOST")),
    port: parsePort(readVariable(env, "JMP_PORT")),
    unixSocket: readVariable(env, "JMP_UNIX_SOCKET") || null,
    dataDir,
    database: parseDatabaseUrl(readVariable(env, "JMP_DATABASE_URL"), dataDir),
    logLevel: parseEnum("JMP_LOG_LEVEL", readVariable(env, "JMP_LOG_LEVEL"), LOG_LEVELS, "info"),
    logFormat: parseEnum("JMP_LOG_FORMAT", readVariable(env, "JMP_LOG_FORMAT"), ["json", "text"], "json"),
    trustedProxies: parseTrustedProxies(readVariable(env, "JMP_TRUSTED_PROXIES")),
    adminPassword: adminPin
      ? parseAdminPassword(adminPin.value, adminPin.variable)
      : parseAdminPassword(readVariable(env, "JMP_ADMIN_PASSWORD")),
    bootstrapKeys: parseBootstrapKeysSetting(readVariable(env, "JMP_BOOTSTRAP_API_KEY")),
    bootstrapScopes: parseScopes(readVariable(env, "JMP_BOOTSTRAP_API_KEY_SCOPES")),
    bootstrapExpiresAt: parseExpiresAt(readVariable(env, "JMP_BOOTSTRAP_API_KEY_EXPIRES_AT")),
    initialSecretsFile: readVariable(env, "JMP_INITIAL_SECRETS_FILE") || null,
    provisionFile: readVariable(env, "JMP_PROVISION_FILE") || null,
    geoipDatabase: readVariable(env, "JMP_GEOIP_DATABASE") || null,
    redisUrl: parseRedisUrl(readVariable(env, "JMP_REDIS_URL")),
    analyticsStream: parseAnalyticsStream(
      readVariable(env, "JMP_ANALYTICS_STREAM"),
      readVariable(env, "JMP_ANALYTICS_STREAM_NAME"),
    ),
    workers: parseWorkers(readVariable(env, "JMP_WORKERS")),
    metrics: parseEnum("JMP_METRICS", readVariable(env, "JMP_METRICS"), ["on", "off"], "on") === "on",
    heapGrowthPercent: parseHeapGrowthPercent(readVariable(env, "JMP_HEAP_GROWTH_PERCENT")),
    linkIndexBytes: parseLinkIndexMb(readVariable(env, "JMP_LINK_INDEX_MB")) * 2 ** 20,
    configPins: configPins.filter((pin) => pin !== adminPin),
  };
}

/** Names of `JMP_*` variables that jmp does not know: probably typos. */
export function unknownVariables(env: Env): string[] {
  const known = new Set<string>();
  for (const name of KNOWN_VARIABLES) known.add(name).add(`${name}_FILE`);
  return Object.keys(env)
    .filter(
      (name) =>
        name.startsWith("JMP_") &&
        !known.has(name) &&
        !name.startsWith("JMP_TEST_") &&
        !name.startsWith(CONFIG_PREFIX),
    )
    .sort();
}

function parseHost(value: string | undefined): string {
  if (value === undefined || value === "") return "127.0.0.1";
  if (/\s/.test(value))
    throw new SettingsError("JMP_HOST", "must be a host name or IP address without spaces");
  return value;
}

function parsePort(value: string | undefined): number {
  if (value === undefined || value === "") return 8080;
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) {
    throw new SettingsError("JMP_PORT", `must be an integer from 0 to 65535, got "${value}"`);
  }
  return Number(value);
}

function parseEnum<T extends string>(
  name: string,
  value: string | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined || value === "") return fallback;
  const lower = value.toLowerCase() as T;
  if (!allowed.includes(lower)) {
    throw new SettingsError(name, `must be one of ${allowed.join(", ")}, got "${value}"`);
  }
  return lower;
}

/**
 * Accepted forms: unset (SQLite at `<data dir>/jmp.db`), `sqlite:<path>` / `sqlite://<path>` / `sqlite:///<abs>`
 * (a Shortlinker-style `?mode=rwc` suffix is ignored), a bare path ending in .db/.sqlite/.sqlite3, `:memory:`,
 * `postgres://` / `postgresql://`, and `mysql://` / `mariadb://`.
 */
export function parseDatabaseUrl(value: string | undefined, dataDir: string): DatabaseSettings {
  const name = "JMP_DATABASE_URL";
  if (value === undefined || value === "") {
    return { engine: "sqlite", location: path.join(dataDir, "jmp.db") };
  }
  if (value === ":memory:" || value === "sqlite::memory:") return { engine: "sqlite", location: ":memory:" };
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1]?.toLowerCase();
  if (scheme === "sqlite") {
    const rest = value.slice("sqlite:".length).replace(/\?.*$/, "");
    // sqlite:///abs → /abs, sqlite://rel → rel, sqlite:rel → rel
    const file = rest.startsWith("///") ? rest.slice(2) : rest.startsWith("//") ? rest.slice(2) : rest;
    if (file === "")
      throw new SettingsError(name, "the sqlite: form needs a file path, e.g. sqlite:data/jmp.db");
    return { engine: "sqlite", location: path.resolve(file) };
  }
  if (scheme === "postgres" || scheme === "postgresql") {
    assertParsableUrl(name, value);
    return { engine: "postgres", location: value };
  }
  if (scheme === "mysql" || scheme === "mariadb") {
    assertParsableUrl(name, value);
    return { engine: "mysql", location: `mysql:${value.slice(scheme.length + 1)}` };
  }
  if (scheme === undefined && /\.(db|sqlite3?)$/i.test(value)) {
    return { engine: "sqlite", location: path.resolve(value) };
  }
  throw new SettingsError(
    name,
    "unsupported database URL; use sqlite:<path>, postgres://…, mysql://… or mariadb://…",
  );
}

function assertParsableUrl(name: string, value: string): void {
  try {
    const url = new URL(value);
    if (!url.hostname && !url.searchParams.get("host")) throw new Error("no host");
  } catch {
    // The URL may hold a password: describe the problem without echoing it.
    throw new SettingsError(
      name,
      "is not a valid connection URL (expected scheme://user@host:port/database)",
    );
  }
}

export function parseTrustedProxies(value: string | undefined): string[] {
  if (value === undefined || value.trim() === "") return [];
  return value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "")
    .map((item) => {
      if (!isIpOrCidr(item)) {
        throw new SettingsError("JMP_TRUSTED_PROXIES", `"${item}" is not an IP address or CIDR range`);
      }
      return item;
    });
}

/** A count from 1 to 64, or `auto` (one per CPU core). */
function parseWorkers(value: string | undefined): number {
  if (value === undefined || value === "") return 1;
  if (value === "auto") return Math.max(1, Math.min(64, availableParallelism()));
  if (!/^\d{1,2}$/.test(value) || Number(value) < 1 || Number(value) > 64) {
    throw new SettingsError("JMP_WORKERS", `must be an integer from 1 to 64 or "auto", got "${value}"`);
  }
  return Number(value);
}

/**
 * The default, 0, leaves V8's own heuristic in place. That heuristic sizes the growth between full GCs by the heap
 * limit, which Node takes from the container's memory limit or else the machine's memory: on a host of 16 GB or
 * more with no limit it allows 4 × the live heap (1 000 000 links under random traffic: ~60 MB live, 267–420 MB of
 * RSS; 100 000 links: 210–325 MB); in a 512 MB container, ~1.3 × (1 000 000 links: ~220 MB).
 *
 * A fixed cap (50 = 1.5 ×, the default until 2026-12) held that large host near 260 MB but cost the redirect
 * path. In five fresh-process pairs of 100 000-link misses, every capped process was slower (31–65 µs of CPU per
 * request against 21–36), and two of the five fell into near-continuous marking for the whole run (a full GC
 * every ~0.25 s, V8's helper threads busy, p99 16 ms); 100 (2 ×) did the same in one of four. None of the
 * uncapped ones did. Setting it is for hosts without a memory limit where RSS matters more than throughput.
 */
export const DEFAULT_HEAP_GROWTH_PERCENT = 0;

function parseHeapGrowthPercent(value: string | undefined): number {
  if (value === undefined || value === "") return DEFAULT_HEAP_GROWTH_PERCENT;
  if (!/^\d{1,3}$/.test(value) || Number(value) > 300) {
    throw new SettingsError("JMP_HEAP_GROWTH_PERCENT", `must be an integer from 0 to 300, got "${value}"`);
  }
  return Number(value);
}

/**
 * The link index holds every plain link's redirect in memory within this bound: about 60 bytes a link plus the
 * text of its code and target, so 256 MiB holds ~2 million links with 60-character targets. Past it links are
 * known but not held, and served through the bounded cache and the database (docs/performance.md, fifth round).
 */
export const DEFAULT_LINK_INDEX_MB = 256;

function parseLinkIndexMb(value: string | undefined): number {
  if (value === undefined || value === "") return DEFAULT_LINK_INDEX_MB;
  if (!/^\d{1,6}$/.test(value)) {
    throw new SettingsError("JMP_LINK_INDEX_MB", `must be an integer from 0 to 999999, got "${value}"`);
  }
  return Number(value);
}

function parseRedisUrl(value: string | undefined): string | null {
  if (value === undefined || value === "") return null;
  if (!/^rediss?:\/\//i.test(value)) {
    throw new SettingsError("JMP_REDIS_URL", "must start with redis:// or rediss://");
  }
  assertParsableUrl("JMP_REDIS_URL", value);
  return value;
}

/** `redis://…` publishes to a Redis Stream (default key `jmp:clicks`), `nats://…` to a JetStream subject (`jmp.clicks`). */
function parseAnalyticsStream(
  url: string | undefined,
  name: string | undefined,
): AnalyticsStreamSettings | null {
  if (url === undefined || url === "") {
    if (name) throw new SettingsError("JMP_ANALYTICS_STREAM_NAME", "needs JMP_ANALYTICS_STREAM");
    return null;
  }
  const kind = /^rediss?:\/\//i.test(url) ? "redis" : /^(nats|tls):\/\//i.test(url) ? "nats" : null;
  if (kind === null) {
    throw new SettingsError("JMP_ANALYTICS_STREAM", "must start with redis://, rediss://, nats:// or tls://");
  }
  assertParsableUrl("JMP_ANALYTICS_STREAM", url);
  const fallback = kind === "redis" ? "jmp:clicks" : "jmp.clicks";
  const stream = name || fallback;
  const valid = kind === "redis" ? /^[\x21-\x7e]{1,200}$/ : /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
  if (!valid.test(stream) || stream.length > 200) {
    throw new SettingsError(
      "JMP_ANALYTICS_STREAM_NAME",
      kind === "redis"
        ? "must be a Redis key of printable characters (at most 200)"
        : "must be a NATS subject without wildcards (letters, digits, _ and -, separated by dots)",
    );
  }
  return { kind, url, name: stream };
}

/** `JMP_CONFIG_FEATURES__RANDOM_CODE_LENGTH=8` pins `features.random_code_length` (also via `…_FILE`). */
function parseConfigPins(env: Env): ConfigPin[] {
  const variables = new Set(
    Object.keys(env)
      .filter((name) => name.startsWith(CONFIG_PREFIX))
      .map((name) => name.replace(/_FILE$/, "")),
  );
  return [...variables].sort().map((variable) => {
    const key = variable.slice(CONFIG_PREFIX.length).toLowerCase().replaceAll("__", ".");
    const definition = definitionOf(key);
    if (!definition) throw new SettingsError(variable, `there is no runtime key "${key}"`);
    const value = readVariable(env, variable) ?? "";
    const hashed = definition.storedAs && (isArgon2idHash(value) || /^sha256:[0-9a-f]{64}$/.test(value));
    if (!hashed) {
      try {
        definition.normalize(value);
      } catch (err) {
        throw new SettingsError(variable, `invalid value for '${key}': ${(err as Error).message}`);
      }
    }
    return { variable, key: key as ConfigKey, value };
  });
}

function parseAdminPassword(value: string | undefined, variable = "JMP_ADMIN_PASSWORD"): string | null {
  if (value === undefined || value === "") return null;
  if (value.startsWith("$argon2")) {
    if (!isArgon2idHash(value)) {
      throw new SettingsError(variable, "looks like a hash but is not a valid $argon2id$ PHC string");
    }
    return value;
  }
  if ([...value].length < MIN_PASSWORD_LENGTH) {
    throw new SettingsError(
      variable,
      `must be at least ${MIN_PASSWORD_LENGTH} characters (or an $argon2id$ hash)`,
    );
  }
  return value;
}

function parseScopes(value: string | undefined): Scope[] {
  if (value === undefined || value.trim() === "") return ["admin"];
  const scopes = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = scopes.filter((s) => !isScope(s));
  if (unknown.length > 0 || scopes.length === 0) {
    throw new SettingsError(
      "JMP_BOOTSTRAP_API_KEY_SCOPES",
      `unknown scope(s): ${unknown.join(", ")}; known: ${SCOPES.join(", ")}`,
    );
  }
  return normalizeScopes(scopes as Scope[]);
}

function parseExpiresAt(value: string | undefined): number | null {
  if (value === undefined || value === "") return null;
  const time = parseRfc3339(value);
  if (time === null)
    throw new SettingsError(
      "JMP_BOOTSTRAP_API_KEY_EXPIRES_AT",
      "must be an RFC 3339 time, e.g. 2027-01-01T00:00:00Z",
    );
  return time;
}

function parseBootstrapKeysSetting(value: string | undefined): BootstrapKey[] {
  if (value === undefined || value === "") return [];
  try {
    return parseBootstrapKeys(value);
  } catch (err) {
    throw new SettingsError("JMP_BOOTSTRAP_API_KEY", (err as Error).message);
  }
}
