/**
 * The bootstrap API key (`JMP_BOOTSTRAP_API_KEY`): an always-valid admin credential taken from the environment,
 * so automation can drive a fresh instance with no human step. It is never written to the database; only its
 * SHA-256 digest is kept in memory. Up to two values may be configured at once so a key can be rotated without
 * downtime (deploy new+old, then new only).
 */
import { timingSafeEqual } from "node:crypto";
import { isWellFormedApiKey, sha256Hex } from "./api-key-format.js";

export interface BootstrapKey {
  digest: Buffer;
  /** First 8 hex characters of the digest: safe to log and to show in key lists. */
  fingerprint: string;
  /** The value was given as a plain token that is not in the jmp_ format (secret scanners will miss it). */
  nonStandardFormat: boolean;
}

const MAX_KEYS = 2;
const PLAIN_TOKEN = /^[\x21-\x7e]{32,256}$/;
const DIGEST_FORM = /^sha256:([0-9a-fA-F]{64})$/;

/** Parses 1–2 entries separated by newlines or commas. Error messages never contain the secret. */
export function parseBootstrapKeys(value: string): BootstrapKey[] {
  const entries = value.split(/[\n,]/).map((entry) => entry.replace(/\r$/, ""));
  if (entries.length > MAX_KEYS) throw new Error(`at most ${MAX_KEYS} keys may be given (for rotation)`);
  return entries.map((entry, index) => {
    const position = `entry ${index + 1}`;
    const digestMatch = DIGEST_FORM.exec(entry);
    if (digestMatch) {
      const hex = digestMatch[1]!.toLowerCase();
      return { digest: Buffer.from(hex, "hex"), fingerprint: hex.slice(0, 8), nonStandardFormat: false };
    }
    if (entry.startsWith("sha256:"))
      throw new Error(`${position}: sha256: must be followed by 64 hex digits`);
    if (!PLAIN_TOKEN.test(entry)) {
      throw new Error(`${position}: a token must be 32–256 printable ASCII characters without spaces`);
    }
    const hex = sha256Hex(entry);
    return {
      digest: Buffer.from(hex, "hex"),
      fingerprint: hex.slice(0, 8),
      nonStandardFormat: !isWellFormedApiKey(entry),
    };
  });
}

/**
 * Compares the presented token's digest with every configured digest, without an early exit, so the time taken
 * does not reveal which (if any) matched.
 */
export function matchBootstrapKey(keys: readonly BootstrapKey[], token: string): BootstrapKey | null {
  if (keys.length === 0) return null;
  const presented = Buffer.from(sha256Hex(token), "hex");
  let found: BootstrapKey | null = null;
  for (const key of keys) {
    if (timingSafeEqual(key.digest, presented) && found === null) found = key;
  }
  return found;
}
