/**
 * Metric state the hot paths write: plain numbers and fixed-bucket histograms, a few nanoseconds per update.
 * prom-client's own Counter/Histogram hash their labels on every call (~100–250 ns), which the redirect path
 * cannot afford; the registry (metrics/registry.ts) reads these at scrape time instead.
 */

/** Upper bounds in seconds: fine below a millisecond (redirects), coarse above (admin, database). */
export const DURATION_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
] as const;

export class DurationHistogram {
  /** Per bucket (not cumulative); the last slot is +Inf. */
  readonly counts = new Float64Array(DURATION_BUCKETS.length + 1);
  sum = 0;
  count = 0;

  observe(seconds: number): void {
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++;
    this.counts[i]!++;
    this.sum += seconds;
    this.count++;
  }
}

/** A counter per small integer (an HTTP status): an array slot instead of a labelled series. */
export class StatusCounter {
  private readonly counts = new Float64Array(600);

  inc(status: number): void {
    this.counts[status]!++;
  }

  /** [status, count] for every status seen. */
  entries(): [number, number][] {
    const out: [number, number][] = [];
    for (let status = 0; status < this.counts.length; status++) {
      if (this.counts[status]! > 0) out.push([status, this.counts[status]!]);
    }
    return out;
  }
}

/** What the redirect path counts. */
export class RedirectStats {
  readonly statuses = new StatusCounter();
  readonly duration = new DurationHistogram();
  /** Link cache (known links). */
  /** Served from the link index (a held plain link). */
  indexHits = 0;
  cacheHits = 0;
  cacheMisses = 0;
  /** Negative cache (codes known not to exist). */
  negativeHits = 0;
  negativeMisses = 0;
  /** Code filter: answered "does not exist" / passed on as "may exist". */
  filterRejects = 0;
  filterPasses = 0;
  /** Database reads on the redirect path (cache misses that got past the filter and the negative cache). */
  dbLookups = 0;
}

/** Route classes for HTTP metrics: the redirect path and the framework's mounts. */
export type RouteClass = "redirect" | "admin" | "health" | "other";

export class HttpStats {
  readonly byClass = new Map<RouteClass, { statuses: StatusCounter; duration: DurationHistogram }>();

  of(routeClass: RouteClass) {
    let entry = this.byClass.get(routeClass);
    if (entry === undefined) {
      entry = { statuses: new StatusCounter(), duration: new DurationHistogram() };
      this.byClass.set(routeClass, entry);
    }
    return entry;
  }
}

/** Database queries by operation (select, insert, update, delete, other), from Kysely's log hook. */
export class DbStats {
  readonly byOperation = new Map<string, DurationHistogram>();
  errors = 0;

  observe(operation: string, seconds: number, failed: boolean): void {
    let histogram = this.byOperation.get(operation);
    if (histogram === undefined) {
      histogram = new DurationHistogram();
      this.byOperation.set(operation, histogram);
    }
    histogram.observe(seconds);
    if (failed) this.errors++;
  }
}

/** Changes made on other instances: how many were applied here, and how late. */
export class FeedStats {
  readonly lag = new DurationHistogram();
  applied = 0;
}
