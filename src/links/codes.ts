/**
 * Link codes: `[A-Za-z0-9_.\-/]{1,128}`, case-sensitive. The same check runs for single creates, batches,
 * imports and the redirect path, so no code can be stored that visitors cannot reach.
 */
import { randomInt } from "node:crypto";
import { printable } from "../text.js";

export const MAX_CODE_LENGTH = 128;
const CODE_PATTERN = /^[A-Za-z0-9_.\-/]{1,128}$/;
const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/**
 * Sub-paths of `/links/…` in the Admin API. A link with such a code could not be addressed there (Shortlinker's
 * route-shadowing bug), so these codes are refused as reserved instead.
 */
const ADMIN_ROUTE_WORDS = new Set(["batch", "export", "import"]);
const ADMIN_ROUTE_SUFFIXES = ["/analytics", "/analytics/devices", "/qr"];

/** Top-level paths jmp serves itself besides the route prefixes. */
const RESERVED_PATHS = new Set(["robots.txt"]);

/** Fast charset/length test used on the redirect hot path. */
export function isValidCodeSyntax(code: string): boolean {
  return CODE_PATTERN.test(code);
}

export type CodeCheck = { ok: true } | { ok: false; reserved: boolean; reason: string };

/**
 * @param reservedPrefixes route prefixes without the leading slash, e.g. ["admin", "health", "panel"].
 */
export function checkCode(code: string, reservedPrefixes: readonly string[]): CodeCheck {
  if (!CODE_PATTERN.test(code)) {
    return {
      ok: false,
      reserved: false,
      reason: `Invalid short code '${printable(code)}'. Use 1-128 characters: letters, digits, underscore, hyphen, dot and slash.`,
    };
  }
  // Browsers resolve "." and ".." segments before sending a request, so such codes would be unreachable.
  if (code.split("/").some((segment) => segment === "." || segment === "..")) {
    return {
      ok: false,
      reserved: false,
      reason: `Invalid short code '${code}'. Segments "." and ".." are not allowed.`,
    };
  }
  const lower = code.toLowerCase();
  const clash =
    reservedPrefixes.some((prefix) => code === prefix || code.startsWith(`${prefix}/`)) ||
    RESERVED_PATHS.has(lower) ||
    ADMIN_ROUTE_WORDS.has(code) ||
    ADMIN_ROUTE_SUFFIXES.some((suffix) => code.endsWith(suffix));
  if (clash) {
    return { ok: false, reserved: true, reason: `Short code '${code}' conflicts with reserved routes` };
  }
  return { ok: true };
}

export function generateCode(length: number): string {
  let code = "";
  for (let i = 0; i < length; i++) code += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return code;
}
