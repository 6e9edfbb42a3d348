/**
 * The rules of a valid link write, shared by single writes, batches, imports and apply documents (the same
 * validation everywhere): code syntax and reserved prefixes, targets, expiry, passwords and settings. Pure
 * checks and conversions; nothing here reads or writes the database.
 */
import type { ConfigService } from "../config/service.js";
import {
  AppError,
  invalidClickCount,
  invalidCode,
  invalidDate,
  invalidExpiresAt,
  invalidPassword,
  invalidUrl,
  reservedCode,
} from "../errors.js";
import { REDACTED } from "../text.js";
import { hashPassword, isArgon2idHash, verifyPassword } from "../util/password.js";
import { ExpiryError, parseRfc3339, resolveExpiry } from "../util/time.js";
import { checkCode, generateCode } from "./codes.js";
import type { ImportRow } from "./csv.js";
import type { Link, LinkWrite } from "./model.js";
import {
  DEFAULT_SETTINGS,
  invalidSettings,
  pickSettings,
  resolveSettings,
  SETTINGS_FIELDS,
  type SettingsInput,
  settingsResponse,
} from "./settings.js";
import { checkTarget } from "./target.js";

/** Placeholder during an import: take the password of the existing link. */
export const KEEP_PASSWORD = "\u0000keep";

/** How often a generated code is drawn again when the one drawn is taken. */
export const GENERATE_ATTEMPTS = 8;

export interface CreateLinkInput extends SettingsInput {
  code?: string | null | undefined;
  target: string;
  expires_at?: string | null | undefined;
  password?: string | null | undefined;
  force?: boolean | null | undefined;
}

export interface UpdateLinkInput extends SettingsInput {
  target: string;
  expires_at?: string | null | undefined;
  password?: string | null | undefined;
}

export class LinkWriteRules {
  constructor(private readonly config: ConfigService) {}

  validCode(code: string): string {
    const check = checkCode(code, this.config.reservedPrefixes());
    if (check.ok) return code;
    throw check.reserved ? reservedCode(check.reason) : invalidCode(check.reason);
  }

  randomCode(): string {
    const length = this.config.get("features.random_code_length");
    const reserved = this.config.reservedPrefixes();
    for (;;) {
      const code = generateCode(length);
      if (checkCode(code, reserved).ok) return code;
    }
  }

  async prepareCreate(input: CreateLinkInput, now: number): Promise<LinkWrite> {
    const code = input.code ? this.validCode(input.code) : this.randomCode();
    return {
      code,
      target: validTarget(input.target),
      expiresAt: validExpiry(input.expires_at ?? "", now),
      passwordHash: input.password ? await passwordHash(input.password) : null,
      createdAt: now,
      clickCount: 0,
      ...resolveSettings(input, DEFAULT_SETTINGS),
    };
  }

  async applyUpdate(current: LinkWrite, input: UpdateLinkInput, now: number): Promise<LinkWrite> {
    // Absent or null keeps the current value; "" removes it.
    const expiresAt =
      input.expires_at === undefined || input.expires_at === null
        ? current.expiresAt
        : validExpiry(input.expires_at, now);
    let passwordHashValue = current.passwordHash;
    if (input.password === "") passwordHashValue = null;
    else if (typeof input.password === "string") passwordHashValue = await passwordHash(input.password);
    return {
      code: current.code,
      target: input.target,
      expiresAt,
      passwordHash: passwordHashValue,
      createdAt: current.createdAt,
      clickCount: current.clickCount,
      ...resolveSettings(input, pickSettings(current)),
    };
  }

  async prepareImport(row: ImportRow, now: number): Promise<LinkWrite> {
    if (row.errors.length > 0) throw invalidSettings(row.errors);
    if (row.code === "") throw invalidCode("Empty code");
    const code = this.validCode(row.code);
    const createdAt = row.created_at === "" ? now : parseRfc3339(row.created_at);
    if (createdAt === null) {
      throw invalidDate(`Invalid created_at '${row.created_at}'`);
    }
    const clickCount = row.click_count === "" ? 0 : Number(row.click_count);
    if (!/^\d{1,15}$/.test(row.click_count || "0")) {
      throw invalidClickCount();
    }
    let hash: string | null = null;
    if (row.password === REDACTED) {
      hash = KEEP_PASSWORD;
    } else if (row.password.startsWith("$argon2")) {
      if (!isArgon2idHash(row.password)) {
        throw invalidPassword("password looks like a hash but is not a valid $argon2id$ string");
      }
      hash = row.password;
    } else if (row.password !== "") {
      hash = await hashPassword(row.password);
    }
    return {
      code,
      target: validTarget(row.target),
      expiresAt: validExpiry(row.expires_at, now),
      passwordHash: hash,
      createdAt,
      clickCount,
      ...resolveSettings(row.settings, DEFAULT_SETTINGS),
    };
  }

  /** Does `input` (plain, `$argon2id$` hash, `[REDACTED]` or "" for none) leave `stored` as it is? */
  async samePassword(stored: string | null, input: string): Promise<boolean> {
    if (input === REDACTED) return stored !== null;
    if (input === "" || stored === null) return input === "" && stored === null;
    if (isArgon2idHash(input)) return input === stored;
    return verifyPassword(stored, input);
  }
}

/** What the audit log keeps of a link: never the password hash. */
export function auditView(link: Link) {
  return {
    code: link.code,
    target: link.target,
    expires_at: link.expiresAt === null ? null : new Date(link.expiresAt).toISOString(),
    password: link.passwordHash === null ? null : REDACTED,
    ...settingsResponse(link),
  };
}

/** An upsert body as the whole link: every absent optional field means its default. */
export function wholeLink(input: UpdateLinkInput) {
  const settings: SettingsInput = {};
  for (const field of SETTINGS_FIELDS) (settings as Record<string, unknown>)[field] = input[field] ?? null;
  return {
    ...settings,
    target: input.target,
    expires_at: input.expires_at ?? "",
    password: input.password ?? "",
  };
}

export const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function messageOf(err: unknown): string {
  if (typeof err === "string") return err;
  if (err instanceof AppError) return err.message;
  throw err;
}

export function validTarget(input: string): string {
  const check = checkTarget(input);
  if (!check.ok) throw invalidUrl(check.reason);
  return check.target;
}

export function validExpiry(input: string, now: number): number | null {
  try {
    return resolveExpiry(input, now);
  } catch (err) {
    if (err instanceof ExpiryError) throw invalidExpiresAt(err.message);
    throw err;
  }
}

/** A valid `$argon2id$` hash is kept (moving links between instances); anything else is hashed. */
export async function passwordHash(input: string): Promise<string> {
  return isArgon2idHash(input) ? input : hashPassword(input);
}
