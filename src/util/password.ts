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

/** Argon2id parameters jmp accepts in a given hash: enough for any real profile, too little for a DoS. */
const LIMITS = { m: 1_048_576, t: 64, p: 64 } as const;

/**
 * Why a well-formed `$argon2id$` string cannot serve as a password hash (parameters out of range, or the library
 * refuses it), or null when it can. A hash given by an operator is checked once, so a typo fails loudly instead
 * of locking everyone out.
 */
export async function hashProblem(value: string): Promise<string | null> {
  if (!isArgon2idHash(value)) return "is not an $argon2id$ PHC string";
  const [, m, t, p] = /m=(\d+),t=(\d+),p=(\d+)/.exec(value)!.map(Number) as [number, number, number, number];
  if (p < 1 || p > LIMITS.p) return `has p=${p}; it must be 1 to ${LIMITS.p}`;
  if (t < 1 || t > LIMITS.t) return `has t=${t}; it must be 1 to ${LIMITS.t}`;
  if (m < 8 * p || m > LIMITS.m) return `has m=${m}; it must be ${8 * p} to ${LIMITS.m} KiB`;
  try {
    await verify(value, "jmp: is this hash usable?");
    return null;
  } catch (err) {
    return `cannot be used: ${(err as Error).message}`;
  }
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
