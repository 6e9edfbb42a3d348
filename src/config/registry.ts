/**
 * The registry of runtime keys: each key is defined here once — name (Shortlinker's), category, wire type,
 * default, validation/normalisation, sensitivity, storage of secrets and actions. The config service, the API,
 * the CLI and the docs all read this list; nothing else may describe a key.
 *
 * Values travel and are stored as strings (the Shortlinker wire form: `"8"`, `"true"`, `"[\"a\"]"`).
 * `normalize` turns user input into the canonical stored string or throws a `ConfigValueError` with a reason;
 * `decode` turns a stored string into the typed value the rest of the code reads.
 *
 * Every key here applies live (the service re-reads values on every use), so none needs a restart.
 */
import { randomBytes } from "node:crypto";
import { isHttpUrl } from "../text.js";
import { isIpOrCidr } from "../text.js";

/** A cookie Domain attribute value (RFC 6265 4.1.1), the rule the `cookie` package enforces. */
const COOKIE_DOMAIN = /^\.?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

export type ValueType = "string" | "int" | "float" | "bool" | "json" | "enum" | "stringarray" | "enumarray";
export type Category =
  "auth" | "cookie" | "features" | "routes" | "cors" | "tracking" | "analytics" | "cache";

export class ConfigValueError extends Error {}

export interface EnumOption {
  value: string;
  label: string;
  description?: string;
}

export interface KeyDefinition<T = unknown> {
  key: string;
  category: Category;
  type: ValueType;
  description: string;
  /** Wire-form default; a function when each installation needs its own (random secrets). */
  defaultValue: string | (() => string);
  sensitive: boolean;
  /**
   * How a secret is kept: `argon2` (a human password, verified with Argon2id) or `sha256` (a high-entropy
   * bearer token, compared by digest). Input is hashed before it is stored.
   */
  storedAs?: "argon2" | "sha256";
  enumOptions?: readonly EnumOption[];
  action?: "generate_token";
  normalize(input: string): string;
  decode(stored: string): T;
}

function integer(min: number, max: number) {
  return (input: string): string => {
    const text = input.trim();
    if (!/^[+-]?\d+$/.test(text)) throw new ConfigValueError("must be an integer");
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new ConfigValueError(`must be an integer from ${min} to ${max}`);
    }
    return String(value);
  };
}

/** What a builder is given: the definition minus the parts the builder supplies; `key` keeps its literal type. */
type Spec<T, K extends string, Supplied extends keyof KeyDefinition> = Omit<
  KeyDefinition<T>,
  Supplied | "key"
> & {
  key: K;
};
type Defined<T, K extends string> = KeyDefinition<T> & { key: K };

function intKey<const K extends string>(
  def: Spec<number, K, "type" | "normalize" | "decode" | "sensitive">,
  min: number,
  max: number,
): Defined<number, K> {
  return { ...def, type: "int", sensitive: false, normalize: integer(min, max), decode: Number };
}

function boolKey<const K extends string>(
  def: Spec<boolean, K, "type" | "normalize" | "decode" | "sensitive" | "enumOptions">,
): Defined<boolean, K> {
  return {
    ...def,
    type: "bool",
    sensitive: false,
    enumOptions: [
      { value: "true", label: "Enabled" },
      { value: "false", label: "Disabled" },
    ],
    normalize(input) {
      if (input !== "true" && input !== "false") throw new ConfigValueError('must be "true" or "false"');
      return input;
    },
    decode: (stored) => stored === "true",
  };
}

function enumKey<T extends string, const K extends string>(
  def: Spec<T, K, "type" | "normalize" | "decode" | "sensitive" | "enumOptions">,
  options: readonly (EnumOption & { value: T })[],
): Defined<T, K> {
  return {
    ...def,
    type: "enum",
    sensitive: false,
    enumOptions: options,
    normalize(input) {
      const match = options.find((o) => o.value.toLowerCase() === input.trim().toLowerCase());
      if (!match) throw new ConfigValueError(`must be one of ${options.map((o) => o.value).join(", ")}`);
      return match.value;
    },
    decode: (stored) => stored as T,
  };
}

function stringKey<const K extends string>(
  def: Spec<string, K, "type" | "normalize" | "decode">,
  validate: (value: string) => string = (value) => value,
): Defined<string, K> {
  return { ...def, type: "string", normalize: validate, decode: (stored) => stored };
}

function floatKey<const K extends string>(
  def: Spec<number, K, "type" | "normalize" | "decode" | "sensitive">,
  min: number,
  max: number,
): Defined<number, K> {
  return {
    ...def,
    type: "float",
    sensitive: false,
    normalize(input) {
      const text = input.trim();
      const value = Number(text);
      if (text === "" || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) || !Number.isFinite(value)) {
        throw new ConfigValueError("must be a finite number");
      }
      if (value < min || value > max) throw new ConfigValueError(`must be from ${min} to ${max}`);
      return Number.isInteger(value) ? value.toFixed(1) : String(value);
    },
    decode: Number,
  };
}

/** Parses a JSON array of strings (the wire form of array keys is a JSON string, e.g. `["a","b"]`). */
function stringArray(input: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(input);
  } catch {
    throw new ConfigValueError('must be a JSON array of strings, like ["a","b"]');
  }
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === "string")) {
    throw new ConfigValueError('must be a JSON array of strings, like ["a","b"]');
  }
  if (parsed.length > 100) throw new ConfigValueError("must have at most 100 entries");
  return parsed.map((item) => item.trim());
}

function stringArrayKey<const K extends string>(
  def: Spec<string[], K, "type" | "normalize" | "decode" | "sensitive">,
  validateItem: (item: string) => void = () => {},
): Defined<string[], K> {
  return {
    ...def,
    type: "stringarray",
    sensitive: false,
    normalize(input) {
      const items = [...new Set(stringArray(input).filter((item) => item !== ""))];
      for (const item of items) validateItem(item);
      return JSON.stringify(items);
    },
    decode: (stored) => JSON.parse(stored) as string[],
  };
}

/** Values from a fixed set: case-insensitive input, de-duplicated, in the set's canonical order. */
function enumArrayKey<const K extends string>(
  def: Spec<string[], K, "type" | "normalize" | "decode" | "sensitive" | "enumOptions">,
  options: readonly string[],
): Defined<string[], K> {
  return {
    ...def,
    type: "enumarray",
    sensitive: false,
    enumOptions: options.map((value) => ({ value, label: value })),
    normalize(input) {
      const wanted = new Set(stringArray(input).map((item) => item.toUpperCase()));
      for (const item of wanted) {
        if (!options.includes(item))
          throw new ConfigValueError(`"${item}" is not one of ${options.join(", ")}`);
      }
      return JSON.stringify(options.filter((option) => wanted.has(option)));
    },
    decode: (stored) => JSON.parse(stored) as string[],
  };
}

function ipOrCidr(item: string): void {
  if (!isIpOrCidr(item)) throw new ConfigValueError(`"${item}" is not an IP address or CIDR range`);
}

function origin(item: string): void {
  if (item === "*") return;
  let url: URL;
  try {
    url = new URL(item);
  } catch {
    throw new ConfigValueError(`"${item}" is not an origin like https://panel.example`);
  }
  if (!["http:", "https:"].includes(url.protocol) || url.origin !== item) {
    throw new ConfigValueError(
      `"${item}" is not an origin like https://panel.example (scheme://host[:port])`,
    );
  }
}

/** A query parameter name for analytics.disable_track_param ("" = none). */
function trackParam(input: string): string {
  const name = input.trim();
  if (name !== "" && !/^[A-Za-z0-9_.~-]{1,64}$/.test(name))
    throw new ConfigValueError("must be a query parameter name (letters, digits, _ . ~ -; at most 64)");
  return name;
}

function headerName(item: string): void {
  if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(item))
    throw new ConfigValueError(`"${item}" is not a header name`);
}

const randomHex = (bytes: number) => () => randomBytes(bytes).toString("hex");

/** A route prefix: one path segment with a leading slash, e.g. `/admin`. */
function routePrefix(input: string): string {
  const value = input.trim();
  if (!/^\/[A-Za-z0-9_.~-]{1,64}$/.test(value) || value === "/." || value === "/..") {
    throw new ConfigValueError('must be one path segment with a leading slash, like "/admin"');
  }
  return value;
}

export const REGISTRY = [
  stringKey(
    {
      key: "api.admin_token",
      category: "auth",
      description:
        "Admin password (set it with `jmp reset-password` or JMP_ADMIN_PASSWORD). Empty, with no bootstrap API key configured, disables the Admin API.",
      defaultValue: "",
      sensitive: true,
      storedAs: "argon2",
    },
    (value) => {
      if (value !== "" && [...value].length < 8) throw new ConfigValueError("must be at least 8 characters");
      return value;
    },
  ),
  stringKey(
    {
      key: "api.health_token",
      category: "auth",
      description:
        "Bearer token for GET /health and /health/metrics, at least 16 characters. Empty: only admin credentials " +
        "may read them; with no admin password and no bootstrap key either, they answer 404.",
      defaultValue: "",
      sensitive: true,
      storedAs: "sha256",
      action: "generate_token",
    },
    (value) => {
      if (value !== "" && value.length < 16) throw new ConfigValueError("must be at least 16 characters");
      return value;
    },
  ),
  stringKey(
    {
      key: "api.jwt_secret",
      category: "auth",
      description: "HMAC secret for session JWTs. Changing it ends every admin session.",
      defaultValue: randomHex(32),
      sensitive: true,
      action: "generate_token",
    },
    (value) => {
      if (value.length < 32) throw new ConfigValueError("must be at least 32 characters");
      return value;
    },
  ),
  stringArrayKey(
    {
      key: "api.trusted_proxies",
      category: "auth",
      description:
        "Proxies (IPs or CIDR ranges, JSON array) whose X-Forwarded-For/-Proto are believed, in addition to JMP_TRUSTED_PROXIES.",
      defaultValue: "[]",
    },
    ipOrCidr,
  ),
  intKey(
    {
      key: "api.access_token_minutes",
      category: "auth",
      description: "Lifetime of an access token (and its cookie), in minutes.",
      defaultValue: "15",
    },
    1,
    1440,
  ),
  intKey(
    {
      key: "api.refresh_token_days",
      category: "auth",
      description: "Lifetime of a refresh token (and its cookie), in days.",
      defaultValue: "7",
    },
    1,
    365,
  ),
  boolKey({
    key: "api.cookie_secure",
    category: "cookie",
    description:
      "Mark session cookies Secure even on plain-HTTP requests. Cookies are Secure automatically whenever the request came over HTTPS (directly or via a trusted proxy's X-Forwarded-Proto).",
    defaultValue: "false",
  }),
  enumKey(
    {
      key: "api.cookie_same_site",
      category: "cookie",
      description:
        "SameSite attribute of the access and refresh cookies (the CSRF cookie is always Lax). None implies Secure.",
      defaultValue: "Lax",
    },
    [
      { value: "Strict", label: "Strict", description: "Never sent on cross-site requests" },
      { value: "Lax", label: "Lax", description: "Sent on top-level cross-site navigations" },
      { value: "None", label: "None", description: "Always sent (requires Secure)" },
    ],
  ),
  stringKey(
    {
      key: "api.cookie_domain",
      category: "cookie",
      description: "Domain attribute of session cookies; empty = host-only cookies.",
      defaultValue: "",
      sensitive: false,
    },
    (value) => {
      const domain = value.trim();
      // RFC 6265 labels, as the cookie serializer checks them: anything it would refuse must not be stored
      // (every login and logout would fail with a 500). Found by the fuzzer with "-1".
      if (domain !== "" && !COOKIE_DOMAIN.test(domain)) {
        throw new ConfigValueError("must be a domain name like example.com");
      }
      return domain;
    },
  ),
  intKey(
    {
      key: "features.random_code_length",
      category: "features",
      description: "Length of generated link codes (characters from A-Z, a-z, 0-9).",
      defaultValue: "6",
    },
    4,
    64,
  ),
  stringKey(
    {
      key: "features.default_url",
      category: "features",
      description:
        "Where `/` redirects to (your home page). Empty: `/` answers a small page saying that jmp runs here " +
        "(404, or 200 with a link to the admin panel when it is enabled).",
      defaultValue: "",
      sensitive: false,
    },
    (value) => {
      const url = value.trim();
      if (url === "") return url;
      if (!isHttpUrl(url)) throw new ConfigValueError("must be an absolute http or https URL");
      return url;
    },
  ),
  boolKey({
    key: "features.enable_admin_panel",
    category: "features",
    description:
      "Serve the web admin panel under routes.frontend_prefix (every page needs a login); false answers 404 there at once.",
    defaultValue: "true",
  }),
  boolKey({
    key: "click.enable_tracking",
    category: "tracking",
    description: "Count clicks on redirects.",
    defaultValue: "true",
  }),
  intKey(
    {
      key: "click.flush_interval",
      category: "tracking",
      description: "Seconds between writes of buffered click counts to the database.",
      defaultValue: "30",
    },
    1,
    3600,
  ),
  intKey(
    {
      key: "click.max_clicks_before_flush",
      category: "tracking",
      description:
        "Buffered clicks that trigger a write before the interval ends (under load such writes start at most every 5 seconds, and take at most a tenth of the time).",
      defaultValue: "100",
    },
    1,
    1_000_000,
  ),
  stringKey(
    {
      key: "routes.admin_prefix",
      category: "routes",
      description: "Path prefix of the Admin API (`<prefix>/v1/...`).",
      defaultValue: "/admin",
      sensitive: false,
    },
    routePrefix,
  ),
  stringKey(
    {
      key: "routes.health_prefix",
      category: "routes",
      description: "Path prefix of the health endpoints.",
      defaultValue: "/health",
      sensitive: false,
    },
    routePrefix,
  ),
  stringKey(
    {
      key: "routes.frontend_prefix",
      category: "routes",
      description: "Path prefix of the web admin panel.",
      defaultValue: "/panel",
      sensitive: false,
    },
    routePrefix,
  ),
  boolKey({
    key: "cors.enabled",
    category: "cors",
    description:
      "Answer cross-origin requests to the Admin and health APIs (for a panel served from another origin).",
    defaultValue: "false",
  }),
  stringArrayKey(
    {
      key: "cors.allowed_origins",
      category: "cors",
      description:
        'Origins allowed to call the API (JSON array); ["*"] allows any origin (without credentials).',
      defaultValue: "[]",
    },
    origin,
  ),
  enumArrayKey(
    {
      key: "cors.allowed_methods",
      category: "cors",
      description: "Methods allowed in cross-origin requests.",
      defaultValue: '["GET","POST","PUT","DELETE","PATCH","HEAD","OPTIONS"]',
    },
    ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"],
  ),
  stringArrayKey(
    {
      key: "cors.allowed_headers",
      category: "cors",
      description:
        "Request headers allowed in cross-origin requests (X-CSRF-Token is included so cookie writes work).",
      defaultValue: '["Content-Type","Authorization","Accept","X-CSRF-Token"]',
    },
    headerName,
  ),
  intKey(
    {
      key: "cors.max_age",
      category: "cors",
      description: "Seconds a browser may cache a preflight answer.",
      defaultValue: "3600",
    },
    0,
    86400,
  ),
  boolKey({
    key: "cors.allow_credentials",
    category: "cors",
    description: "Allow cookies in cross-origin requests (never together with the * origin).",
    defaultValue: "false",
  }),
  boolKey({
    key: "analytics.enable_detailed_logging",
    category: "analytics",
    description:
      "Record each click in detail (time, source, referrer, browser, OS, device, country, anonymised IP) for the breakdowns, filters and export of the analytics API. Click counts are exact either way.",

    defaultValue: "false",
  }),
  intKey(
    {
      key: "analytics.log_retention_days",
      category: "analytics",
      description: "Days detailed click records are kept (0 = forever).",

      defaultValue: "30",
    },
    0,
    36500,
  ),
  boolKey({
    key: "analytics.enable_ip_logging",
    category: "analytics",
    description:
      "Store the visitor's IP address in detailed click records (anonymised unless analytics.anonymize_ip is off).",

    defaultValue: "true",
  }),
  boolKey({
    key: "analytics.enable_geo_lookup",
    category: "analytics",
    description:
      "Record the visitor's country and city from the GeoIP database of JMP_GEOIP_DATABASE (looked up on the full address before it is anonymised).",

    defaultValue: "false",
  }),
  intKey(
    {
      key: "analytics.hourly_retention_days",
      category: "analytics",
      description:
        "Days hourly click counts are kept (0 = forever); analytics of older days are answered from the daily counts.",
      defaultValue: "7",
    },
    0,
    36500,
  ),
  intKey(
    {
      key: "analytics.daily_retention_days",
      category: "analytics",
      description: "Days daily click counts are kept (0 = forever).",
      defaultValue: "365",
    },
    0,
    36500,
  ),
  boolKey({
    key: "analytics.enable_auto_rollup",
    category: "analytics",
    description:
      "Keep hourly and daily click counts for analytics (trends, top links). Off: the click flush writes only each link's click_count.",
    defaultValue: "true",
  }),
  floatKey(
    {
      key: "analytics.sample_rate",
      category: "analytics",
      description: "Share of clicks recorded in detail, from 0 to 1 (click counts are always exact).",

      defaultValue: "1.0",
    },
    0,
    1,
  ),
  intKey(
    {
      key: "analytics.max_log_rows",
      category: "analytics",
      description:
        "Most detailed click records kept (0 = no limit); checked every 10 minutes, see analytics.max_rows_action.",

      defaultValue: "0",
    },
    0,
    Number.MAX_SAFE_INTEGER,
  ),
  enumKey(
    {
      key: "analytics.max_rows_action",
      category: "analytics",
      description: "What happens at analytics.max_log_rows.",

      defaultValue: "cleanup",
    },
    [
      { value: "cleanup", label: "Cleanup", description: "Delete oldest records when limit exceeded" },
      { value: "stop", label: "Stop", description: "Stop logging new clicks when limit exceeded" },
    ],
  ),
  boolKey({
    key: "analytics.anonymize_ip",
    category: "analytics",
    description:
      "Store IP addresses anonymised: IPv4 to its /24 (203.0.113.0), IPv6 to its /48. The country is looked up first.",
    defaultValue: "true",
  }),
  boolKey({
    key: "analytics.respect_dnt",
    category: "analytics",
    description:
      "Record no detailed event for a visitor who sends DNT: 1 or Sec-GPC: 1 (the click is still counted).",
    defaultValue: "true",
  }),
  stringKey(
    {
      key: "analytics.disable_track_param",
      category: "analytics",
      description:
        "A query parameter that opts a visit out of detailed recording when present (e.g. nostat); empty = none. The click is still counted.",
      defaultValue: "",
      sensitive: false,
    },
    trackParam,
  ),
  stringArrayKey(
    {
      key: "analytics.ignore_ips",
      category: "analytics",
      description:
        'IP addresses and CIDR ranges whose clicks are not recorded in detail (JSON array, e.g. ["203.0.113.0/24"]); they are still counted.',
      defaultValue: "[]",
    },
    ipOrCidr,
  ),
  enumKey(
    {
      key: "analytics.store_referrer",
      category: "analytics",
      description: "How much of the Referer detailed records keep.",
      defaultValue: "full",
    },
    [
      { value: "full", label: "Full", description: "The whole URL (up to 1024 characters)" },
      { value: "host", label: "Host", description: "Only its host name" },
      { value: "none", label: "None", description: "Nothing (the source is still derived)" },
    ],
  ),
  boolKey({
    key: "analytics.unique_visitors",
    category: "analytics",
    description:
      "Count unique visitors per day: each recorded click gets a hash of the day's salt, the full address and the User-Agent (the salt is random per UTC day and deleted after two days). Off: no hash is stored.",
    defaultValue: "false",
  }),
  boolKey({
    key: "analytics.record_bots",
    category: "analytics",
    description:
      "Record clicks of bots and link checkers in detail (flagged, and left out with exclude_bots=true). Off: they are only counted.",
    defaultValue: "true",
  }),
  boolKey({
    key: "utm.enable_passthrough",
    category: "analytics",
    description:
      "Append the visitor's utm_source, utm_medium, utm_campaign, utm_term and utm_content parameters to the target.",
    defaultValue: "false",
  }),
  intKey(
    {
      key: "cache.bloom_rebuild_interval",
      category: "cache",
      description:
        "Seconds between rebuilds of the filter of existing codes, which answers requests for codes that do not exist without a database query (0 = never). Deleted codes leave the filter at the next rebuild.",
      defaultValue: "14400",
    },
    0,
    604800,
  ),
  enumKey(
    {
      key: "features.default_redirect_status",
      category: "features",
      description: "HTTP status of redirects (jmp; Shortlinker always answers 307).",
      defaultValue: "307",
    },
    [
      { value: "301", label: "301 Moved Permanently" },
      { value: "302", label: "302 Found" },
      { value: "307", label: "307 Temporary Redirect" },
      { value: "308", label: "308 Permanent Redirect" },
    ],
  ),
  intKey(
    {
      key: "features.permanent_redirect_cache_seconds",
      category: "features",
      description:
        "How long browsers and proxies may keep a permanent redirect (301/308), in seconds (Cache-Control max-age). Other redirects are never cached.",
      defaultValue: "3600",
    },
    0,
    31_536_000,
  ),
  stringKey(
    {
      key: "features.public_base_url",
      category: "features",
      description:
        "The public address of short links (e.g. https://s.example), used for short_url in API answers and in QR codes. Empty: taken from each request's Host (and X-Forwarded-Proto from a trusted proxy).",
      defaultValue: "",
      sensitive: false,
    },
    (value) => {
      const url = value.trim().replace(/\/+$/, "");
      if (url === "") return "";
      if (!isHttpUrl(url) || /[?#]/.test(url)) {
        throw new ConfigValueError("must be an absolute http or https URL without query or fragment");
      }
      return url;
    },
  ),
  boolKey({
    key: "features.enable_public_qr",
    category: "features",
    description:
      "Answer /{code}/qr with the QR code of the short link to anyone (as PNG; ?format=svg for SVG).",
    defaultValue: "false",
  }),
  intKey(
    {
      key: "api.sessions_not_before",
      category: "auth",
      description:
        "Admin sessions issued at or before this time (epoch milliseconds) are refused. Set by POST /auth/logout-everywhere and by every admin password change; API keys are not affected.",
      defaultValue: "0",
    },
    0,
    Number.MAX_SAFE_INTEGER,
  ),
] as const satisfies readonly KeyDefinition[];

type Registry = typeof REGISTRY;
export type ConfigKey = Registry[number]["key"];
/** The typed value of each key, derived from the registry. */
export type ConfigValues = {
  [D in Registry[number] as D["key"]]: ReturnType<D["decode"]>;
};
export type SameSite = ConfigValues["api.cookie_same_site"];

const BY_KEY = new Map<string, KeyDefinition>(REGISTRY.map((d) => [d.key, d as KeyDefinition]));

export function definitionOf(key: string): KeyDefinition | undefined {
  return BY_KEY.get(key);
}

export function defaultOf(definition: KeyDefinition): string {
  return typeof definition.defaultValue === "function" ? definition.defaultValue() : definition.defaultValue;
}

/** The route prefixes, which must stay distinct from each other. */
export const ROUTE_PREFIX_KEYS = [
  "routes.admin_prefix",
  "routes.health_prefix",
  "routes.frontend_prefix",
] as const;
