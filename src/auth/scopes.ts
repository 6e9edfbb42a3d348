/**
 * What a credential may do. `admin` includes every other scope. Admin sessions (password login) have `admin`;
 * the bootstrap key has `JMP_BOOTSTRAP_API_KEY_SCOPES` (default `admin`); API keys have the scopes they were
 * given, which can never exceed the scopes of whoever created them.
 */
export const SCOPES = [
  "links:read",
  "links:write",
  "analytics:read",
  "config:read",
  "config:write",
  "keys:manage",
  "admin",
] as const;

export type Scope = (typeof SCOPES)[number];

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

export function hasScope(held: readonly Scope[], wanted: Scope): boolean {
  return held.includes("admin") || held.includes(wanted);
}

/** Scopes in canonical order, without duplicates. */
export function normalizeScopes(scopes: readonly Scope[]): Scope[] {
  return SCOPES.filter((scope) => scopes.includes(scope));
}
