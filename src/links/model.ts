import type { LinkSettings } from "./settings.js";

/** The link as the services see it (times in epoch ms, UTC). */
export interface Link extends LinkSettings {
  code: string;
  target: string;
  createdAt: number;
  updatedAt: number;
  expiresAt: number | null;
  passwordHash: string | null;
  clickCount: number;
  revision: number;
  /** Who owns the link: null = the API; see `Managed`. */
  managedBy: string | null;
}

/** What serving a redirect needs of a link: the cache-miss read selects only these columns. */
export type RedirectFields = Pick<
  Link,
  | "target"
  | "expiresAt"
  | "passwordHash"
  | "redirectStatus"
  | "enabled"
  | "maxClicks"
  | "validFrom"
  | "fallbackUrl"
  | "forwardQuery"
  | "crawlable"
  | "rules"
>;

/**
 * Who owns an object (links and API keys): null/`api` = the Admin API (`POST /links`, import, the CLI, the
 * panel); `apply:<name>` = created by a document applied through the API under that owner name (default
 * `apply`), whose prune touches only its own objects; an API apply that updates an object never changes its
 * owner; `file` = the provisioning file (`JMP_PROVISION_FILE`), which refuses API edits
 * (409) so the file stays the source of truth; `file:editable` = the file, which allowed API edits
 * (`allow_api_edits: true`; the next start puts the file's values back).
 */
export const Managed = {
  File: "file",
  FileEditable: "file:editable",
  apply: (owner: string) => `apply:${owner}`,
} as const;

/** An apply owner's name: short (it is stored in every object it owns), lowercase, no spaces. */
export const APPLY_OWNER = /^[a-z0-9][a-z0-9_.-]{0,23}$/;
export const DEFAULT_APPLY_OWNER = "apply";

export function isLocked(link: { managedBy?: string | null }): boolean {
  return link.managedBy === Managed.File;
}

/** The link's entity tag: changes with every write, and differs between a deleted link and its re-creation. */
export function etagOf(link: Pick<Link, "revision" | "updatedAt">): string {
  return `"${link.revision}.${link.updatedAt.toString(36)}"`;
}

/** The fields a write sets; `createdAt`/`clickCount` only matter for inserts and imports. */
export interface LinkWrite extends LinkSettings {
  code: string;
  target: string;
  expiresAt: number | null;
  passwordHash: string | null;
  createdAt: number;
  clickCount: number;
  /** Only apply documents set it; other writes keep the stored value (null on insert). */
  managedBy?: string | null;
}

export function isExpired(link: Pick<Link, "expiresAt">, now: number): boolean {
  return link.expiresAt !== null && link.expiresAt <= now;
}
