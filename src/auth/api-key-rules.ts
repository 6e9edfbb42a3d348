/**
 * The rules of API keys, apart from the service that applies them: names, descriptions and expiries, the row a
 * new key gets, how a key is shown, and who may act on which key. Pure functions, no storage.
 */
import { randomBytes } from "node:crypto";
import { insufficientScope, invalidExpiry, invalidScope, validationFailed } from "../errors.js";
import { resolveExpiry } from "../util/time.js";
import type { KeyRow } from "../store/keys-store.js";
import { CONTROL_CHARS } from "../text.js";
import type { Principal } from "./credentials.js";
import { hasScope, isScope, normalizeScopes, type Scope } from "./scopes.js";

export const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const DIGEST = /^(?:sha256:)?([0-9a-f]{64})$/;
export const TOKEN_TAKEN =
  "Another active API key already has this token (its SHA-256); choose another token";

export interface KeyView {
  id: string;
  name: string;
  display: string;
  scopes: Scope[];
  description: string | null;
  expires_at: string | null;
  created_at: string | null;
  created_by: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
  source: string;
}

export interface KeyInput {
  name?: string | undefined;
  scopes?: string[] | undefined;
  description?: string | null | undefined;
  expires_at?: string | null | undefined;
  expires_in?: string | undefined;
}

export const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

/** How a key known only by its digest is shown. */
export function digestDisplay(digest: string): string {
  return `sha256:${digest.slice(0, 8)}…`;
}

export function newKeyRow(key: {
  name: string;
  digest: string;
  /** How the key is shown in lists; keys given by digest only show the digest's start. */
  display?: string;
  scopes: Scope[];
  description: string | null;
  expiresAt: number | null;
  createdBy: string;
  now: number;
}): KeyRow {
  return {
    id: `key_${randomBytes(12).toString("base64url")}`,
    name: key.name,
    active_name: key.name,
    token_sha256: key.digest,
    active_sha256: key.digest,
    display: key.display ?? digestDisplay(key.digest),
    scopes: JSON.stringify(key.scopes),
    description: key.description,
    expires_at: key.expiresAt,
    created_at: key.now,
    created_by: key.createdBy,
    updated_at: key.now,
    last_used_at: null,
    revoked_at: null,
    revoked_by: null,
    source: "api",
    previous_sha256: null,
    previous_valid_until: null,
    revision: 1,
  };
}

export function view(row: KeyRow): KeyView {
  return {
    id: row.id,
    name: row.name,
    display: row.display,
    scopes: parseScopes(row.scopes),
    description: row.description,
    expires_at: iso(row.expires_at),
    created_at: iso(row.created_at),
    created_by: row.created_by,
    last_used_at: iso(row.last_used_at),
    revoked_at: iso(row.revoked_at),
    source: row.source,
  };
}

export function etagOf(row: KeyRow): string {
  return `"${row.id}-${Number(row.revision)}"`;
}

export function parseScopes(stored: string): Scope[] {
  return (JSON.parse(stored) as string[]).filter(isScope);
}

export function revokedFields(caller: string, now: number): Partial<KeyRow> {
  return { revoked_at: now, revoked_by: caller, active_name: null, active_sha256: null, updated_at: now };
}

export function scopesBeyond(row: KeyRow, caller: Principal): Scope[] {
  return parseScopes(row.scopes).filter((scope) => !hasScope(caller.scopes, scope));
}

/** 403 unless the caller holds every scope of the stored key it wants to change. */
export function requireHeld(row: KeyRow, caller: Principal): void {
  const beyond = scopesBeyond(row, caller);
  if (beyond.length === 0) return;
  throw insufficientScope(`API key '${row.name}' has scope(s) you do not hold: ${beyond.join(", ")}`);
}

export function validName(name: string | undefined): string {
  if (!name || !NAME.test(name)) {
    throw validationFailed(
      "name must be 1-64 characters: letters, digits, '_', '.', '-' (starting with a letter or digit)",
    );
  }
  if (name.toLowerCase().startsWith("bootstrap"))
    throw validationFailed("names starting with 'bootstrap' are reserved");
  return name;
}

export function validDescription(description: string | null | undefined): string | null {
  if (description === undefined || description === null || description === "") return null;
  if (description.length > 512 || CONTROL_CHARS.test(description)) {
    throw validationFailed("description must be at most 512 characters without control characters");
  }
  return description;
}

export function validExpiry(input: KeyInput, now: number): number | null {
  const text = input.expires_in ?? input.expires_at ?? "";
  if (input.expires_in !== undefined && input.expires_at) {
    throw invalidExpiry("give expires_at or expires_in, not both");
  }
  let expiresAt: number | null;
  try {
    expiresAt = resolveExpiry(text, now);
  } catch (err) {
    throw invalidExpiry((err as Error).message.replace("expires_at", "expiry"));
  }
  if (expiresAt !== null && expiresAt <= now) {
    throw invalidExpiry("the expiry must be in the future");
  }
  return expiresAt;
}

/** The scopes a caller asked for, checked: known, non-empty, and held by the caller (no escalation). */
export function grantableScopes(requested: string[] | undefined, caller: Principal): Scope[] {
  if (!requested || requested.length === 0) {
    throw invalidScope("scopes must list at least one scope");
  }
  const unknown = requested.filter((s) => !isScope(s));
  if (unknown.length > 0) {
    throw invalidScope(`Unknown scope(s): ${unknown.join(", ").slice(0, 200)}`);
  }
  const scopes = normalizeScopes(requested as Scope[]);
  const beyond = scopes.filter((scope) => !hasScope(caller.scopes, scope));
  if (beyond.length > 0) {
    throw insufficientScope(`You cannot grant scope(s) you do not hold: ${beyond.join(", ")}`);
  }
  return scopes;
}
