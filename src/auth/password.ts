/**
 * Admin and link passwords: Argon2id PHC strings (RFC 9106 "second recommended" profile — 64 MiB, t=3, p=4 —
 * the same strength as Shortlinker, so hashes move between the two). Verification reads the parameters from the
 * stored hash, so older or differently tuned hashes keep working.
 */
import { hash, verify } from "@node-rs/argon2";

export const MIN_PASSWORD_LENGTH = 8;

const ARGON2ID_PARAMS = { memoryCost: 65536, timeCost: 3, parallelism: 4 } as const;
const ARGON2ID_PHC = /^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]{16,}\$[A-Za-z0-9+/]{16,}$/;

export function isArgon2idHash(value: string): boolean {
  return ARGON2ID_PHC.test(value);
}

export function hashPassword(plain: string): Promise<string> {
  return hash(plain, ARGON2ID_PARAMS);
}

/** False for a wrong password and for a stored value that is not a valid hash (never throws). */
export async function verifyPassword(storedHash: string, plain: string): Promise<boolean> {
  if (!storedHash.startsWith("$argon2")) return false;
  try {
    return await verify(storedHash, plain);
  } catch {
    return false;
  }
}
