/**
 * The Prometheus registry behind `<routes.health_prefix>/metrics`. Hot paths write plain counters
 * (metrics/counters.ts); the metrics here read them when scraped, so a scrape costs work and a redirect does not.
 * Process metrics (CPU, memory, event-loop delay, GC) come from prom-client's defaults.
 *
 * Under `JMP_WORKERS` the primary process merges every worker's registry (prom-client's AggregatorRegistry);
 * see metrics/cluster.ts.
 */
import { collectDefaultMetrics, Registry } from "prom-client";
import {
  type DbStats,
  DURATION_BUCKETS,
  type DurationHistogram,
  type FeedStats,
  type HttpStats,
  type RedirectStats,
} from "./counters.js";

type Labels = Record<string, string | number>;

interface Sample {
  labels: Labels;
  value: number;
  metricName?: string;
}

/** What the registry reads at scrape time. Each part is optional: a process exposes what it has. */
export interface MetricSources {
  redirect: RedirectStats;
  http: HttpStats;
  db: DbStats;
  clicks(): { buffered: number; flushes: number; failedFlushes: number; flushedClicks: number };
  /** Detailed analytics (ClickCapture); absent when there is no analytics worker. */
  events?(): {
    pending: number;
    recorded: number;
    written: number;
    failedWrites: number;
    /** Dropped at the bound (`full`), or held by a worker that died (`worker`). */
    dropped: { full: number; worker: number };
    /** The stream publisher's counts (JMP_ANALYTICS_STREAM), null until it reports or without one. */
    stream: { published: number; failures: number; dropped: number; waiting: number } | null;
  };
  cache(): { links: number; misses: number };
  /** The link index (redirect/link-index.ts): codes known, links held. */
  filter(): { ready: boolean; codes: number; held: number; bytes: number; rebuilds: number; buildMs: number };
  feed: FeedStats;
}

/**
 * A metric whose samples are computed at scrape time. prom-client accepts any object with `get()` in its
 * registry; `aggregator: "sum"` is how AggregatorRegistry merges the workers' values.
 */
function snapshot(name: string, help: string, type: "counter" | "gauge" | "histogram", read: () => Sample[]) {
  return {
    name,
    help,
    type,
    aggregator: "sum" as const,
    get: async () => ({ name, help, type, aggregator: "sum", values: read() }),
    reset: () => {},
  };
}

/** A metric with a single unlabelled sample. */
function single(name: string, help: string, type: "counter" | "gauge", read: () => number) {
  return snapshot(name, help, type, () => [{ labels: {}, value: read() }]);
}

function histogramSamples(name: string, labels: Labels, histogram: DurationHistogram): Sample[] {
  const samples: Sample[] = [];
  let cumulative = 0;
  for (let i = 0; i < DURATION_BUCKETS.length; i++) {
    cumulative += histogram.counts[i]!;
    samples.push({
      labels: { ...labels, le: DURATION_BUCKETS[i]! },
      value: cumulative,
      metricName: `${name}_bucket`,
    });
  }
  samples.push({ labels: { ...labels, le: "+Inf" }, value: histogram.count, metricName: `${name}_bucket` });
  samples.push({ labels, value: histogram.sum, metricName: `${name}_sum` });
  samples.push({ labels, value: histogram.count, metricName: `${name}_count` });
  return samples;
}

export function createRegistry(sources: MetricSources): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const add = (metric: ReturnType<typeof snapshot>) => registry.registerMetric(metric as never);

  add(
    snapshot(
      "jmp_http_requests_total",
      "HTTP requests answered, by route class and status.",
      "counter",
      () => {
        const samples: Sample[] = [];
        for (const [status, value] of sources.redirect.statuses.entries()) {
          samples.push({ labels: { route_class: "redirect", status }, value });
        }
        for (const [routeClass, entry] of sources.http.byClass) {
          for (const [status, value] of entry.statuses.entries()) {
            samples.push({ labels: { route_class: routeClass, status }, value });
          }
        }
        return samples;
      },
    ),
  );
  add(
    snapshot(
      "jmp_http_request_duration_seconds",
      "Time from request to answer, by route class (redirects are measured inside the process).",
      "histogram",
      () => [
        ...histogramSamples(
          "jmp_http_request_duration_seconds",
          { route_class: "redirect" },
          sources.redirect.duration,
        ),
        ...[...sources.http.byClass].flatMap(([routeClass, entry]) =>
          histogramSamples("jmp_http_request_duration_seconds", { route_class: routeClass }, entry.duration),
        ),
      ],
    ),
  );
  add(
    snapshot(
      "jmp_redirect_cache_lookups_total",
      "Redirect lookups by cache layer: index (links held by the link index), links (the bounded cache of " +
        'the other links), filter (the index\'s codes; hit = answered "does not exist"), negative (codes known ' +
        "not to exist).",
      "counter",
      () => {
        const r = sources.redirect;
        return [
          { labels: { layer: "index", result: "hit" }, value: r.indexHits },
          { labels: { layer: "index", result: "miss" }, value: r.cacheHits + r.cacheMisses },
          { labels: { layer: "links", result: "hit" }, value: r.cacheHits },
          { labels: { layer: "links", result: "miss" }, value: r.cacheMisses },
          { labels: { layer: "filter", result: "hit" }, value: r.filterRejects },
          { labels: { layer: "filter", result: "miss" }, value: r.filterPasses },
          { labels: { layer: "negative", result: "hit" }, value: r.negativeHits },
          { labels: { layer: "negative", result: "miss" }, value: r.negativeMisses },
        ];
      },
    ),
  );
  add(
    single(
      "jmp_redirect_db_lookups_total",
      "Database reads made by the redirect path (every cache layer missed).",
      "counter",
      () => sources.redirect.dbLookups,
    ),
  );
  add(
    snapshot("jmp_cache_entries", "Entries held by each redirect cache layer.", "gauge", () => {
      const cache = sources.cache();
      const filter = sources.filter();
      return [
        { labels: { layer: "index" }, value: filter.held },
        { labels: { layer: "links" }, value: cache.links },
        { labels: { layer: "negative" }, value: cache.misses },
        { labels: { layer: "filter" }, value: filter.codes },
      ];
    }),
  );
  add(
    single(
      "jmp_code_filter_bytes",
      "Memory held by the link index (codes and held links).",
      "gauge",
      () => sources.filter().bytes,
    ),
  );
  add(
    single(
      "jmp_link_index_build_seconds",
      "How long the last build of the link index took (a keyset scan of every link).",
      "gauge",
      () => sources.filter().buildMs / 1000,
    ),
  );
  add(
    single(
      "jmp_code_filter_rebuilds_total",
      "Builds of the link index (at start, every cache.bloom_rebuild_interval, after a bulk change).",
      "counter",
      () => sources.filter().rebuilds,
    ),
  );
  add(
    single(
      "jmp_click_buffer_clicks",
      "Clicks counted in memory and not yet written.",
      "gauge",
      () => sources.clicks().buffered,
    ),
  );
  add(
    snapshot("jmp_click_flushes_total", "Writes of buffered clicks, by outcome.", "counter", () => {
      const clicks = sources.clicks();
      return [
        { labels: { outcome: "ok" }, value: clicks.flushes },
        { labels: { outcome: "error" }, value: clicks.failedFlushes },
      ];
    }),
  );
  add(
    single(
      "jmp_clicks_written_total",
      "Clicks written to the database.",
      "counter",
      () => sources.clicks().flushedClicks,
    ),
  );
  const events = sources.events;
  if (events) {
    add(
      single(
        "jmp_click_events_pending",
        "Click events recorded for detailed analytics and not yet written.",
        "gauge",
        () => events().pending,
      ),
    );
    add(
      single(
        "jmp_click_events_recorded_total",
        "Clicks recorded for detailed analytics (after sampling and privacy rules).",
        "counter",
        () => events().recorded,
      ),
    );
    add(
      single(
        "jmp_click_events_written_total",
        "Recorded clicks the analytics worker has handled (written, or left out by its rules).",
        "counter",
        () => events().written,
      ),
    );
    add(
      snapshot(
        "jmp_click_events_dropped_total",
        "Recorded clicks dropped: 100 000 were already waiting (the database too slow or away), or the analytics worker holding them died.",
        "counter",
        () => [
          { labels: { reason: "full" }, value: events().dropped.full },
          { labels: { reason: "worker" }, value: events().dropped.worker },
        ],
      ),
    );
    add(
      single(
        "jmp_click_events_published_total",
        "Recorded clicks published to JMP_ANALYTICS_STREAM.",
        "counter",
        () => events().stream?.published ?? 0,
      ),
    );
    add(
      single(
        "jmp_click_events_unpublished",
        "Recorded clicks stored and waiting to be published to JMP_ANALYTICS_STREAM.",
        "gauge",
        () => events().stream?.waiting ?? 0,
      ),
    );
    add(
      snapshot(
        "jmp_click_event_publish_failures_total",
        "Failed publishes to JMP_ANALYTICS_STREAM (retried), and events dropped after 100 000 waited.",
        "counter",
        () => [
          { labels: { outcome: "retried" }, value: events().stream?.failures ?? 0 },
          { labels: { outcome: "dropped" }, value: events().stream?.dropped ?? 0 },
        ],
      ),
    );
    add(
      single(
        "jmp_click_event_write_failures_total",
        "Failed writes of the analytics worker (retried).",
        "counter",
        () => events().failedWrites,
      ),
    );
  }
  add(
    snapshot(
      "jmp_db_query_duration_seconds",
      "Database queries made through the query builder, by operation.",
      "histogram",
      () =>
        [...sources.db.byOperation].flatMap(([operation, histogram]) =>
          histogramSamples("jmp_db_query_duration_seconds", { operation }, histogram),
        ),
    ),
  );
  add(
    single("jmp_db_query_errors_total", "Database queries that failed.", "counter", () => sources.db.errors),
  );
  add(
    snapshot(
      "jmp_change_feed_lag_seconds",
      "Delay between a change made on another instance and its application here.",
      "histogram",
      () => histogramSamples("jmp_change_feed_lag_seconds", {}, sources.feed.lag),
    ),
  );
  add(
    single(
      "jmp_change_feed_events_total",
      "Changes from other instances applied here.",
      "counter",
      () => sources.feed.applied,
    ),
  );
  return registry;
}
