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
 * Who owns an object (links and API keys): null/`api` = the Admin API; `file` = the provisioning file
 * (`JMP_PROVISION_FILE`), which refuses API edits (409) so the file stays the source of truth; `file:editable` =
 * the file, which allowed API edits (`allow_api_edits: true`; the next start puts the file's values back).
 * A document applied through the API owns nothing: it writes the API's objects, and its `prune` only ever
 * touches the API's objects, never the file's.
 */
export const Managed = { File: "file", FileEditable: "file:editable" } as const;

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
