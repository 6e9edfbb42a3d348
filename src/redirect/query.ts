/**
 * What a visitor's query string adds to a target: Shortlinker's global UTM passthrough (only `utm_*`), or a
 * link's `forward_query` (everything). Both keep the target's fragment and never let the visitor's text break
 * the `Location` header.
 */

const UTM_KEYS = new Set(["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"]);
/** Visible ASCII except `#`: nothing that could break the Location header or move the fragment. */
const SAFE_QUERY_PART = /^[\x21-\x22\x24-\x7e]+$/;

function parameterName(part: string): string {
  const eq = part.indexOf("=");
  return eq === -1 ? part : part.slice(0, eq);
}

function splitFragment(location: string): [base: string, fragment: string] {
  const hash = location.indexOf("#");
  return hash === -1 ? [location, ""] : [location.slice(0, hash), location.slice(hash)];
}

/**
 * UTM passthrough: the visitor's `utm_*` parameters (as sent, in their order) appended to the target's query,
 * before any fragment. Other parameters are dropped.
 */
export function withUtm(location: string, query: string): string {
  const utm = query
    .split("&")
    .filter((part) => UTM_KEYS.has(parameterName(part)) && SAFE_QUERY_PART.test(part));
  if (utm.length === 0) return location;
  const [base, fragment] = splitFragment(location);
  return `${base}${base.includes("?") ? "&" : "?"}${utm.join("&")}${fragment}`;
}

/**
 * Query forwarding: the target's own parameters (as stored), then the visitor's. A name the visitor sends
 * replaces the target's values for that name (the visitor's link is the more specific one); the fragment stays
 * last. The visitor's names and values are re-encoded, so nothing they send can break the header.
 */
export function withQuery(location: string, query: string): string {
  const visitor = [...new URLSearchParams(query)];
  if (visitor.length === 0) return location;
  const names = new Set(visitor.map(([name]) => name));
  const [base, fragment] = splitFragment(location);
  const question = base.indexOf("?");
  const own = question === -1 ? [] : base.slice(question + 1).split("&");
  const kept = own.filter((part) => part !== "" && !names.has(decodedName(part)));
  const added = visitor.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`);
  const path = question === -1 ? base : base.slice(0, question);
  return `${path}?${[...kept, ...added].join("&")}${fragment}`;
}

function decodedName(part: string): string {
  return new URLSearchParams(part).keys().next().value ?? "";
}
