/**
 * The `jmp_` API key format: `jmp_` + 43 base62 characters (32 random bytes) + 6 base62 characters of the
 * CRC32 of everything before them. The prefix lets secret scanners find leaked keys; the checksum lets us
 * reject a mistyped or truncated key before any lookup.
 */
import { createHash, randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const PREFIX = "jmp_";
const BODY_LENGTH = 43;
const CHECKSUM_LENGTH = 6;
const FORMAT = /^jmp_[0-9A-Za-z]{49}$/;

function toBase62(value: bigint, length: number): string {
  let out = "";
  let rest = value;
  for (let i = 0; i < length; i++) {
    out = BASE62[Number(rest % 62n)] + out;
    rest /= 62n;
  }
  return out;
}

function checksum(text: string): string {
  return toBase62(BigInt(crc32(text)), CHECKSUM_LENGTH);
}

export function generateApiKey(): string {
  const body = toBase62(BigInt(`0x${randomBytes(32).toString("hex")}`), BODY_LENGTH);
  return PREFIX + body + checksum(PREFIX + body);
}

/** True when the token has the jmp_ shape and its checksum matches. */
export function isWellFormedApiKey(token: string): boolean {
  if (!FORMAT.test(token)) return false;
  const head = token.slice(0, -CHECKSUM_LENGTH);
  return checksum(head) === token.slice(-CHECKSUM_LENGTH);
}

export function sha256Hex(value: string): string {
  return createHash("sha256").update(value, "utf8").digest("hex");
}
