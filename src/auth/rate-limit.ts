/**
 * Token-bucket rate limiting per key (a client IP). Buckets live in a bounded LRU so that a flood of distinct
 * addresses cannot grow memory without limit.
 */
import { LRUCache } from "lru-cache";

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export class RateLimiter {
  private readonly buckets = new LRUCache<string, Bucket>({ max: 50_000 });

  /**
   * @param refillPerSecond tokens added per second
   * @param burst bucket capacity
   */
  constructor(
    private readonly refillPerSecond: number,
    private readonly burst: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Consumes a token if one is left. */
  take(key: string): RateDecision {
    const decision = this.check(key);
    if (decision.allowed) this.buckets.get(key)!.tokens -= 1;
    return decision;
  }

  /** Whether a token is left, without consuming it. */
  check(key: string): RateDecision {
    const now = this.clock();
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, updatedAt: now };
    bucket.tokens = Math.min(
      this.burst,
      bucket.tokens + ((now - bucket.updatedAt) / 1000) * this.refillPerSecond,
    );
    bucket.updatedAt = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) return { allowed: true };
    return {
      allowed: false,
      retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / this.refillPerSecond)),
    };
  }
}
