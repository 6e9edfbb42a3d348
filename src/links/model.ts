import { Managed } from "../util/ownership.js";
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
  /** Who owns the link: null = the API; see `Managed` (util/ownership.ts). */
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
 * A link with no setting beyond code, target and expiry: what the link index holds (redirect/link-index.ts).
 * `PLAIN_LINK_SQL` (store/link-rows.ts) is the same test in SQL, for the index's build.
 */
export function isPlain(link: RedirectFields): boolean {
  return (
    link.redirectStatus === null &&
    link.enabled &&
    link.maxClicks === null &&
    link.validFrom === null &&
    link.passwordHash === null &&
    link.fallbackUrl === null &&
    !link.forwardQuery &&
    !link.crawlable &&
    link.rules.length === 0
  );
}

/** What a redirect needs of a plain link (`isPlain`): its target and expiry, every setting at its default. */
export function plainLink(target: string, expiresAt: number | null): RedirectFields {
  return {
    target,
    expiresAt,
    passwordHash: null,
    redirectStatus: null,
    enabled: true,
    maxClicks: null,
    validFrom: null,
    fallbackUrl: null,
    forwardQuery: false,
    crawlable: false,
    rules: [],
  };
}

/** A link as the link index's build reads it: code, target, expiry (epoch ms or null), and `isPlain`. */
export type IndexRow = [code: string, target: string, expiresAt: number | null, plain: boolean];

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
