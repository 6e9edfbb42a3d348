/** The link as the services see it (times in epoch ms, UTC). */
export interface Link {
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

/**
 * Links written by an apply document (the API's `POST /apply`, `jmp apply`, or the provisioning file) are
 * managed: the document is their source of truth. `Locked` ones refuse API edits (409); `Editable` ones accept
 * them (the next apply puts the document's values back). Prune only ever deletes managed links.
 */
export const Managed = { Locked: "apply", Editable: "apply-editable" } as const;

export function isLocked(link: { managedBy?: string | null }): boolean {
  return link.managedBy === Managed.Locked;
}

/** The link's entity tag: changes with every write, and differs between a deleted link and its re-creation. */
export function etagOf(link: Pick<Link, "revision" | "updatedAt">): string {
  return `"${link.revision}.${link.updatedAt.toString(36)}"`;
}

/** The fields a write sets; `createdAt`/`clickCount` only matter for inserts and imports. */
export interface LinkWrite {
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
