/**
 * Checks the API key of every Admin API request. Digests are looked up through an instance-local cache (30 s),
 * which every `keys` event on the change feed clears, on every instance; `last_used_at` is written at most once
 * a minute per key, in the background.
 */
import { LRUCache } from "lru-cache";
import type { Logger } from "pino";
import type { ChangeFeed } from "../events/feed.js";
import type { KeyRow, KeysStore } from "../store/keys-store.js";
import { isWellFormedApiKey, sha256Hex } from "./api-key-format.js";
import { parseScopes } from "./api-key-rules.js";
import type { Principal } from "./credentials.js";

/** `last_used_at` is written at most this often per key. */
const TOUCH_EVERY_MS = 60_000;
const CACHE_TTL_MS = 30_000;

interface CacheEntry {
  principal: Principal | null;
  /** When this token stops working: the key's expiry, or the end of the grace period for a rotated-out token. */
  validUntil: number;
}

export class ApiKeyVerifier {
  private readonly cache = new LRUCache<string, CacheEntry>({ max: 10_000, ttl: CACHE_TTL_MS });
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly store: KeysStore,
    feed: ChangeFeed,
    private readonly log: Logger,
    private readonly clock: () => number = Date.now,
  ) {
    feed.subscribe((event) => {
      if (event.kind === "keys") this.cache.clear();
    });
  }

  /** The principal for a `jmp_` token, or null (unknown, malformed, revoked or expired: all alike). */
  async verify(token: string): Promise<Principal | null> {
    if (!isWellFormedApiKey(token)) return null;
    const digest = sha256Hex(token);
    const now = this.clock();
    let entry = this.cache.get(digest);
    if (!entry) {
      entry = toCacheEntry(await this.store.byDigest(digest, now), digest);
      this.cache.set(digest, entry);
    }
    const { principal, validUntil } = entry;
    if (principal?.kind !== "api_key" || validUntil <= now) return null;
    this.touch(principal.id, now);
    return principal;
  }

  private touch(id: string, now: number): void {
    if (now - (this.touched.get(id) ?? 0) < TOUCH_EVERY_MS) return;
    this.touched.set(id, now);
    this.store
      .touch(id, now)
      .catch((err) => this.log.warn({ err, key: id }, "could not record last_used_at"));
  }
}

function toCacheEntry(row: KeyRow | undefined, digest: string): CacheEntry {
  if (!row) return { principal: null, validUntil: 0 };
  const expiresAt = row.expires_at === null ? null : Number(row.expires_at);
  const graceEnd = row.token_sha256 === digest ? Number.POSITIVE_INFINITY : Number(row.previous_valid_until);
  return {
    principal: { kind: "api_key", id: row.id, name: row.name, scopes: parseScopes(row.scopes), expiresAt },
    validUntil: Math.min(expiresAt ?? Number.POSITIVE_INFINITY, graceEnd),
  };
}
