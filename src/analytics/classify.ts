/**
 * What the analytics worker derives from a click's raw request fields (docs/analytics.md#what-is-stored): the
 * visitor's browser, OS, device class and bot flag from the User-Agent, the traffic source, the referrer as the
 * operator chose to keep it, and the anonymised address. Pure functions (the UA parser keeps an LRU), run in the
 * worker thread only: nothing here is on the redirect path.
 */
import { BlockList, isIPv4, isIPv6 } from "node:net";
import Bowser from "bowser";
import { isbot } from "isbot";

/** The device classes (Shortlinker used woothee's pc/smartphone/crawler; docs/analytics.md maps them). */
export type DeviceClass = "desktop" | "mobile" | "tablet" | "tv" | "bot" | "unknown";

export interface UserAgentClass {
  browser: string | null;
  os: string | null;
  device: DeviceClass;
  bot: boolean;
}

/** Longest stored values: visitors choose them (a `utm_source`, a Referer), so they are cut. */
export const MAX_SOURCE_LENGTH = 255;
export const MAX_REFERRER_LENGTH = 1024;
const MAX_NAME_LENGTH = 64;

/**
 * A click without a User-Agent comes from a script or a link checker, not a browser: it is flagged as a bot (isbot
 * says false for an empty string) with an unknown device.
 */
const NO_USER_AGENT: UserAgentClass = { browser: null, os: null, device: "unknown", bot: true };

const DEVICE_CLASSES = new Set<string>(["desktop", "mobile", "tablet", "tv", "bot"]);

function parseUserAgent(userAgent: string): UserAgentClass {
  const bot = isbot(userAgent);
  let parsed: Bowser.Parser.ParsedResult | undefined;
  try {
    parsed = Bowser.parse(userAgent);
  } catch {
    parsed = undefined; // bowser throws on strings it cannot take; the bot flag still stands
  }
  const type = parsed?.platform.type ?? "";
  return {
    browser: parsed?.browser.name ? parsed.browser.name.slice(0, MAX_NAME_LENGTH) : null,
    os: parsed?.os.name ? parsed.os.name.slice(0, MAX_NAME_LENGTH) : null,
    device: bot ? "bot" : DEVICE_CLASSES.has(type) ? (type as DeviceClass) : "unknown",
    bot,
  };
}

/**
 * Classifies User-Agents, each distinct one parsed once while it stays among the 10 000 most recently parsed. A
 * plain map dropping its oldest entry: per click it is one lookup (an LRU's bookkeeping on every hit cost more than
 * the rare re-parse it saves).
 */
export class UserAgentClassifier {
  private readonly cache = new Map<string, UserAgentClass>();

  classify(userAgent: string | undefined): UserAgentClass {
    if (!userAgent) return NO_USER_AGENT;
    let found = this.cache.get(userAgent);
    if (found === undefined) {
      found = parseUserAgent(userAgent);
      if (this.cache.size >= CACHED_AGENTS) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(userAgent, found);
    }
    return found;
  }
}

const CACHED_AGENTS = 10_000;

/** The host of an `http(s)://` Referer, lower-cased, without port or credentials; null for anything else. */
export function referrerHost(referrer: string | undefined): string | null {
  if (!referrer) return null;
  const scheme = /^https?:\/\//i.exec(referrer);
  if (!scheme) return null;
  let host = referrer.slice(scheme[0].length);
  const end = host.search(/[/?#]/);
  if (end !== -1) host = host.slice(0, end);
  const at = host.lastIndexOf("@");
  if (at !== -1) host = host.slice(at + 1);
  host = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.split(":")[0]!;
  return host === "" ? null : host.toLowerCase().slice(0, MAX_SOURCE_LENGTH - 4);
}

/** The first non-empty `utm_source` of a raw query string (percent-decoded; `+` is a space). */
function utmSource(query: string): string | null {
  for (const pair of query.split("&")) {
    if (!pair.startsWith("utm_source=")) continue;
    const raw = pair.slice("utm_source=".length).replaceAll("+", " ");
    let value: string;
    try {
      value = decodeURIComponent(raw);
    } catch {
      value = raw;
    }
    value = value.trim();
    if (value !== "") return value.slice(0, MAX_SOURCE_LENGTH);
  }
  return null;
}

/**
 * Where a click came from, by Shortlinker's rule: the `utm_source` parameter, else `ref:<host>` of the Referer,
 * else `direct`. Two changes: an empty `utm_source` is ignored and hosts are lower-cased, so one site is one
 * source. `url` is the request's path and query as received.
 */
export function sourceOf(url: string, referrer: string | undefined): string {
  const question = url.indexOf("?");
  if (question !== -1) {
    const utm = utmSource(url.slice(question + 1));
    if (utm !== null) return utm;
  }
  const host = referrerHost(referrer);
  return host === null ? "direct" : `ref:${host}`;
}

/** `analytics.store_referrer` */
export type ReferrerStorage = "full" | "host" | "none";

export function storedReferrer(referrer: string | undefined, storage: ReferrerStorage): string | null {
  if (!referrer || storage === "none") return null;
  if (storage === "host") return referrerHost(referrer);
  return referrer.slice(0, MAX_REFERRER_LENGTH);
}

/**
 * The address with its host part zeroed: IPv4 keeps its /24 (`203.0.113.0`), IPv6 its /48 (`2001:db8:1::`).
 * An IPv4-mapped IPv6 address is treated as the IPv4 one. Anything else is not an address: null.
 */
export function anonymizeIp(ip: string): string | null {
  const address = ip.startsWith("::ffff:") && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
  if (isIPv4(address)) return `${address.slice(0, address.lastIndexOf("."))}.0`;
  if (!isIPv6(address)) return null;
  const groups = ipv6Groups(address);
  return `${groups
    .slice(0, 3)
    .map((group) => group.toString(16))
    .join(":")}::`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a zone or IPv4 tail taken into account). */
function ipv6Groups(address: string): number[] {
  let text = address.split("%")[0]!;
  const tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (tail) {
    const [a, b, c, d] = tail.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = text.split("::") as [string, string | undefined];
  const left = head === "" ? [] : head.split(":");
  const right = rest === undefined || rest === "" ? [] : rest.split(":");
  const zeros = rest === undefined ? [] : new Array<string>(8 - left.length - right.length).fill("0");
  return [...left, ...zeros, ...right].map((group) => parseInt(group, 16));
}

/**
 * `analytics.ignore_ips`: addresses and CIDR ranges whose clicks are not recorded in detail. Entries were checked
 * when the key was set (config/registry.ts); one that still does not parse is skipped.
 */
export function ignoredAddresses(entries: readonly string[]): (ip: string) => boolean {
  if (entries.length === 0) return () => false;
  const list = new BlockList();
  for (const entry of entries) {
    const [address, bits] = entry.split("/") as [string, string | undefined];
    const family = isIPv4(address) ? "ipv4" : isIPv6(address) ? "ipv6" : null;
    if (family === null) continue;
    if (bits === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(bits), family);
  }
  return (ip) => {
    const address = ip.startsWith("::ffff:") && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
    if (isIPv4(address)) return list.check(address, "ipv4");
    return isIPv6(address) && list.check(address, "ipv6");
  };
}
