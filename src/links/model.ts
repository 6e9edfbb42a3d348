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
}

/** The fields a write sets; `createdAt`/`clickCount` only matter for inserts and imports. */
export interface LinkWrite {
  code: string;
  target: string;
  expiresAt: number | null;
  passwordHash: string | null;
  createdAt: number;
  clickCount: number;
}

export function isExpired(link: Pick<Link, "expiresAt">, now: number): boolean {
  return link.expiresAt !== null && link.expiresAt <= now;
}
