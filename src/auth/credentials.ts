/**
 * Who is calling: resolves the credential of an Admin API or health request.
 * Order (Shortlinker's, plus the bootstrap key): `Authorization: Bearer` with the bootstrap API key, then
 * `Authorization: Bearer` with an access JWT, then the `jmp_access` cookie. An invalid bearer falls through to
 * the cookie. Only a cookie-authenticated request needs a CSRF token on writes.
 */
import { timingSafeEqual } from "node:crypto";
import type { BootstrapKey } from "./bootstrap.js";
import { matchBootstrapKey } from "./bootstrap.js";
import type { SessionTokens } from "./sessions.js";

export const ACCESS_COOKIE = "jmp_access";
export const REFRESH_COOKIE = "jmp_refresh";
export const CSRF_COOKIE = "csrf_token";
export const CSRF_HEADER = "x-csrf-token";

export type Principal =
  { kind: "session"; via: "bearer" | "cookie" } | { kind: "bootstrap"; fingerprint: string };

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
  bootstrapKeys: readonly BootstrapKey[],
  sessions: SessionTokens,
): Promise<Principal | null> {
  const bearer = bearerToken(request.authorization);
  if (bearer !== null) {
    const key = matchBootstrapKey(bootstrapKeys, bearer);
    if (key) return { kind: "bootstrap", fingerprint: key.fingerprint };
    if (await sessions.verify(bearer, "access")) return { kind: "session", via: "bearer" };
  }
  const cookie = request.cookies[ACCESS_COOKIE];
  if (cookie && (await sessions.verify(cookie, "access"))) return { kind: "session", via: "cookie" };
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
  return principal.kind === "session" ? "session" : `bootstrap:${principal.fingerprint}`;
}
