/**
 * Token-bucket rate limiting per key (a client IP). Buckets live in a bounded LRU so that a flood of distinct
 * addresses cannot grow memory without limit.
 *
 * Guarded checks (login, link passwords, refresh, bearer credentials) go through a `Throttle`: it charges an
 * attempt *before* the check and refunds it when the check succeeds, so a hundred guesses sent at once cost a
 * hundred attempts and only the first `burst` are checked. With `JMP_WORKERS` the buckets live in the primary
 * process (cluster.ts), so N workers do not give a guesser N budgets.
 */
import { LRUCache } from "lru-cache";

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** Distinct keys (addresses) a limiter remembers; the least recently seen go first. */
const MAX_BUCKETS = 50_000;

export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export class RateLimiter {
  /**
   * Bounded by a size of one per bucket rather than `max`: with `max` lru-cache allocates storage for every
   * bucket up front (~1.2 MB per limiter, five limiters, on every instance), while a limiter mostly holds a few.
   */
  private readonly buckets = new LRUCache<string, Bucket>({ maxSize: MAX_BUCKETS, sizeCalculation: () => 1 });

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

  /** Gives a token back (the check it paid for succeeded). */
  refund(key: string): void {
    const bucket = this.buckets.get(key);
    if (bucket) bucket.tokens = Math.min(this.burst, bucket.tokens + 1);
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

/** A rate limit that guarded checks charge before they run (see above). */
export interface Throttle {
  /** Charges one attempt; `allowed: false` when none is left. */
  take(key: string): Promise<RateDecision>;
  /** Refunds an attempt whose check succeeded. */
  refund(key: string): void;
}

/** Makes the throttle called `name` (the same name gives the same buckets). */
export type ThrottleFactory = (name: string, refillPerSecond: number, burst: number) => Throttle;

/** Buckets in this process: a single instance, or the primary of a cluster. */
export const localThrottles: ThrottleFactory = (_name, refillPerSecond, burst) => {
  const limiter = new RateLimiter(refillPerSecond, burst);
  return { take: async (key) => limiter.take(key), refund: (key) => limiter.refund(key) };
};
