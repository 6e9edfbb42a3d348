/**
 * Who is calling: resolves the credential of an Admin API or health request.
 * Order (Shortlinker's, plus the bootstrap key): `Authorization: Bearer` with the bootstrap API key, then
 * `Authorization: Bearer` with an access JWT, then the `jmp_access` cookie. An invalid bearer falls through to
 * the cookie. Only a cookie-authenticated request needs a CSRF token on writes.
 */
import { timingSafeEqual } from "node:crypto";
import type { BootstrapKey } from "./bootstrap.js";
import { matchBootstrapKey } from "./bootstrap.js";
import type { Scope } from "./scopes.js";
import type { SessionTokens } from "./sessions.js";

export const ACCESS_COOKIE = "jmp_access";
export const REFRESH_COOKIE = "jmp_refresh";
export const CSRF_COOKIE = "csrf_token";
export const CSRF_HEADER = "x-csrf-token";

export type Principal =
  | { kind: "session"; via: "bearer" | "cookie"; scopes: readonly Scope[] }
  | { kind: "bootstrap"; fingerprint: string; scopes: readonly Scope[] }
  | { kind: "api_key"; id: string; name: string; scopes: readonly Scope[]; expiresAt: number | null }
  /** jmp itself: the provisioning file applied at start. */
  | { kind: "system"; what: string; scopes: readonly Scope[] };

/** Checks a bearer token that looks like an API key (`jmp_…`). */
export type KeyVerifier = (token: string) => Promise<Principal | null>;

export interface BootstrapAccess {
  keys: readonly BootstrapKey[];
  scopes: readonly Scope[];
  expiresAt: number | null;
}

export interface CredentialSource {
  authorization: string | undefined;
  cookies: Record<string, string | undefined>;
}

export function bearerToken(authorization: string | undefined): string | null {
  if (!authorization) return null;
  const match = /^Bearer[ ]+([^\s]+)\s*$/i.exec(authorization);
  return match ? match[1]! : null;
}

export async function resolvePrincipal(
  request: CredentialSource,
  bootstrap: BootstrapAccess,
  sessions: SessionTokens,
  verifyKey: KeyVerifier,
): Promise<Principal | null> {
  const bearer = bearerToken(request.authorization);
  if (bearer !== null) {
    const key = matchBootstrapKey(bootstrap.keys, bearer);
    if (key && (bootstrap.expiresAt === null || bootstrap.expiresAt > Date.now())) {
      return { kind: "bootstrap", fingerprint: key.fingerprint, scopes: bootstrap.scopes };
    }
    if (!key) {
      const apiKey = await verifyKey(bearer);
      if (apiKey) return apiKey;
      if (await sessions.verify(bearer, "access"))
        return { kind: "session", via: "bearer", scopes: ["admin"] };
    }
  }
  const cookie = request.cookies[ACCESS_COOKIE];
  if (cookie && (await sessions.verify(cookie, "access")))
    return { kind: "session", via: "cookie", scopes: ["admin"] };
  return null;
}

/** Double-submit check: the `csrf_token` cookie and the `X-CSRF-Token` header must be present and equal. */
export function csrfMatches(cookie: string | undefined, header: string | string[] | undefined): boolean {
  if (!cookie || typeof header !== "string" || header === "") return false;
  const a = Buffer.from(cookie);
  const b = Buffer.from(header);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A label for logs and history: never a secret. */
export function actorOf(principal: Principal): string {
  switch (principal.kind) {
    case "session":
      return "session";
    case "bootstrap":
      return `bootstrap:${principal.fingerprint}`;
    case "api_key":
      return `api_key:${principal.id}`;
    case "system":
      return `system:${principal.what}`;
  }
}
