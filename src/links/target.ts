/**
 * Link targets: absolute http/https URLs only. The raw input is checked before parsing because the WHATWG URL
 * parser silently drops tabs and newlines ("https://exa\nmple.com" parses) — a hostile string must be refused,
 * not repaired. Every target also gets a `Location`-safe ASCII form, so a redirect header can never be split or
 * rejected by Node.
 */
import { CONTROL_CHARS, isHttpUrl } from "../text.js";

export const MAX_TARGET_LENGTH = 8192;

export type TargetCheck = { ok: true; target: string } | { ok: false; reason: string };

export function checkTarget(input: string): TargetCheck {
  const target = input.trim();
  if (target === "") return { ok: false, reason: "target URL cannot be empty" };
  if (target.length > MAX_TARGET_LENGTH) {
    return { ok: false, reason: `target URL is longer than ${MAX_TARGET_LENGTH} characters` };
  }
  if (CONTROL_CHARS.test(target)) return { ok: false, reason: "target URL contains control characters" };
  if (!isHttpUrl(target))
    return { ok: false, reason: "target URL must use http or https and include a host" };
  return { ok: true, target };
}

const HEADER_SAFE = /^[\x21-\x7e]+$/;

/**
 * The value for a `Location` header: the target itself when it is plain visible ASCII (so users see exactly
 * what they stored), else its WHATWG serialisation (percent-encoded path, punycode host).
 */
export function locationFor(target: string): string {
  return HEADER_SAFE.test(target) ? target : new URL(target).href;
}
