/**
 * The redirect cache: a bounded LRU of the links the link index does not hold (links with settings, links past
 * its memory bound) and a separate bounded LRU of codes known not to exist (so a random-code scan cannot evict
 * warm links). Entries hold only what a redirect needs (`toCached`). Expiry is kept in
 * the entry and checked on every hit by the handler: a cached link is never served after it expires.
 * Writes reach the cache through the change feed: a changed code is simply dropped and re-read on next use.
 */
import { LRUCache } from "lru-cache";
import type { ChangeFeed } from "../events/feed.js";
import { isPlain, type RedirectFields } from "../links/model.js";
import type { Rule } from "../links/rules.js";
import { locationFor } from "../links/target.js";
import type { ClickSlot } from "./clicks.js";

/** A cache entry is also where the visits it serves are counted until the next flush (see clicks.ts). */
export interface CachedLink extends ClickSlot {
  /** `Location` header value, already made header-safe. */
  location: string;
  /** Epoch ms; `Infinity` when the link never expires. */
  expiresAt: number;
  /** What the link asks for beyond "code → target"; null for a plain link (the common and fastest case). */
  extra: LinkExtras | null;
}

export interface LinkExtras {
  /** 0: the runtime default. */
  status: number;
  enabled: boolean;
  /** Epoch ms; `-Infinity` when always valid. */
  validFrom: number;
  /** `Location`-safe fallback for unavailable links, or null (404). */
  fallback: string | null;
  /** Has max_clicks: every visit claims a click in the database first. */
  limited: boolean;
  passwordHash: string | null;
  forwardQuery: boolean;
  crawlable: boolean;
  rules: readonly Rule[];
  /** The `Location` of each rule's target, by rule index. */
  ruleLocations: readonly string[];
}

export interface LinkCacheOptions {
  maxLinks: number;
  /**
   * How long a known link is trusted. Writes invalidate entries through the change feed at once; this bound only
   * matters if an event is ever lost, and keeps such an instance from serving a stale target for long.
   */
  linkTtlMs: number;
  maxMisses: number;
  /** How long a "does not exist" answer is trusted (covers writes made by other processes). */
  missTtlMs: number;
}

export const DEFAULT_CACHE_OPTIONS: LinkCacheOptions = {
  maxLinks: 100_000,
  linkTtlMs: 300_000,
  maxMisses: 50_000,
  missTtlMs: 60_000,
};

export class LinkCache {
  private readonly links: LRUCache<string, CachedLink>;
  private readonly misses: LRUCache<string, true>;
  /**
   * Counts invalidations. A reader notes it before going to the database and caches what it read only if it
   * has not moved: a write that committed meanwhile must not be overwritten by the row read before it.
   */
  version = 0;

  constructor(options: LinkCacheOptions = DEFAULT_CACHE_OPTIONS) {
    this.links = new LRUCache({ max: options.maxLinks, ttl: options.linkTtlMs, ttlAutopurge: false });
    this.misses = new LRUCache({ max: options.maxMisses, ttl: options.missTtlMs, ttlAutopurge: false });
  }

  get(code: string): CachedLink | undefined {
    return this.links.get(code);
  }

  isKnownMissing(code: string): boolean {
    return this.misses.get(code) === true;
  }

  set(code: string, link: CachedLink): void {
    this.misses.delete(code);
    this.links.set(code, link);
  }

  setMissing(code: string): void {
    this.links.delete(code);
    this.misses.set(code, true);
  }

  invalidate(code: string): void {
    this.version++;
    this.links.delete(code);
    this.misses.delete(code);
  }

  /** How many more links fit before the least recently used are evicted. */
  get room(): number {
    return this.links.max - this.links.size;
  }

  /** Entries held by each layer (metrics). */
  sizes(): { links: number; misses: number } {
    return { links: this.links.size, misses: this.misses.size };
  }

  clear(): void {
    this.version++;
    this.links.clear();
    this.misses.clear();
  }

  /** Keeps this cache coherent with every link write published on the feed. */
  follow(feed: ChangeFeed): () => void {
    return feed.subscribe((event) => {
      if (event.kind === "links") for (const code of event.codes) this.invalidate(code);
      else if (event.kind === "links.all") this.clear();
    });
  }
}

/** What the cache keeps of a link: only what a redirect needs, with `Location` values computed once. */
export function toCached(code: string, link: RedirectFields): CachedLink {
  const plain = isPlain(link);
  return {
    code,
    clicks: 0,
    location: locationFor(link.target),
    expiresAt: link.expiresAt ?? Number.POSITIVE_INFINITY,
    extra: plain
      ? null
      : {
          status: link.redirectStatus ?? 0,
          enabled: link.enabled,
          validFrom: link.validFrom ?? Number.NEGATIVE_INFINITY,
          fallback: link.fallbackUrl === null ? null : locationFor(link.fallbackUrl),
          limited: link.maxClicks !== null,
          passwordHash: link.passwordHash,
          forwardQuery: link.forwardQuery,
          crawlable: link.crawlable,
          rules: link.rules,
          ruleLocations: link.rules.map((rule) => locationFor(rule.target)),
        },
  };
}
