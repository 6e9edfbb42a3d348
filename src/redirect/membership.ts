/**
 * Which codes exist, answered without the database: the set of every code (as fingerprints, see code-set.ts),
 * built at start by a keyset scan and kept current by the change feed. A request for a code the set has never
 * seen is a 404 at once, so scans of random codes cost no database queries. A code in the set (a real one, or a
 * deleted one) goes on to the cache and the database as before, so the filter can only save work, never hide a
 * link. (Shortlinker uses a Bloom filter here, hence the key name `cache.bloom_rebuild_interval`.)
 *
 * - Creates and renames arrive as `links` events and are added at once (also to a set being built).
 * - Deleted codes stay in the set until the next rebuild: they cost one lookup, then the negative cache.
 * - `links.all` (a reload, a bulk change of unknown codes) switches the filter off until it is rebuilt.
 * - Rebuilt every `cache.bloom_rebuild_interval` seconds (0 = never) to drop deleted codes.
 * - Until the first build finishes every code "may exist" (the database answers).
 * - Another instance's new link is known here once its change event arrives (ms with Redis, ≤ 250 ms polling).
 */
import { setImmediate as yieldToRequests } from "node:timers/promises";
import type { Logger } from "pino";
import type { ChangeFeed } from "../events/feed.js";
import { CodeSet } from "./code-set.js";

export interface CodeSource {
  /** Codes greater than `after`, in order, at most `limit` (a keyset page). */
  codesAfter(after: string, limit: number): Promise<string[]>;
  count(): Promise<number>;
}

export interface MembershipOptions {
  /** Seconds between rebuilds; 0 = never. Read before every scheduling, so it applies live. */
  rebuildIntervalSeconds(): number;
}

const PAGE = 10_000;

export interface MembershipStatus {
  ready: boolean;
  codes: number;
  bytes: number;
  rebuilds: number;
}

export class CodeMembership {
  private filter: CodeSet | null = null;
  /** The set being built: codes written meanwhile go into it as well. */
  private building: CodeSet | null = null;
  private rebuilding: Promise<void> | null = null;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private rebuilds = 0;

  constructor(
    private readonly source: CodeSource,
    private readonly options: MembershipOptions,
    private readonly log: Logger,
  ) {}

  /** Hot path. False only for a code that has never been written since the last build. */
  mayExist(code: string): boolean {
    const filter = this.filter;
    return filter === null || filter.has(code);
  }

  follow(feed: ChangeFeed): () => void {
    return feed.subscribe((event) => {
      if (event.kind === "links") this.added(event.codes);
      else if (event.kind === "links.all") {
        this.filter = null;
        void this.rebuild();
      } else if (event.kind === "config" && event.keys.includes("cache.bloom_rebuild_interval")) {
        this.schedule();
      }
    });
  }

  /** Builds the first filter (in the background) and schedules the periodic rebuilds. */
  start(): void {
    void this.rebuild();
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.rebuilding;
  }

  /** Scans every code into a new set and swaps it in. Concurrent calls share one scan. */
  rebuild(): Promise<void> {
    this.rebuilding ??= this.build()
      .catch((err) =>
        this.log.warn({ err }, "building the code filter failed; the database answers meanwhile"),
      )
      .finally(() => {
        this.rebuilding = null;
      });
    return this.rebuilding;
  }

  status(): MembershipStatus {
    const filter = this.filter;
    return {
      ready: filter !== null,
      codes: filter?.count ?? 0,
      bytes: filter?.bytes ?? 0,
      rebuilds: this.rebuilds,
    };
  }

  private added(codes: readonly string[]): void {
    for (const code of codes) {
      this.filter?.add(code);
      this.building?.add(code);
    }
  }

  private async build(): Promise<void> {
    const started = Date.now();
    const total = await this.source.count();
    const next = new CodeSet(total);
    this.building = next;
    try {
      let after = "";
      for (;;) {
        if (this.stopped) return;
        const codes = await this.source.codesAfter(after, PAGE);
        for (const code of codes) next.add(code);
        if (codes.length < PAGE) break;
        after = codes[codes.length - 1]!;
        // SQLite answers without I/O: without this the whole scan would hold the event loop.
        await yieldToRequests();
      }
    } finally {
      this.building = null;
    }
    this.filter = next;
    this.rebuilds++;
    this.log.debug({ codes: next.count, bytes: next.bytes, ms: Date.now() - started }, "code filter built");
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    const seconds = this.options.rebuildIntervalSeconds();
    if (this.stopped || seconds <= 0) return;
    this.timer = setTimeout(() => {
      void this.rebuild().finally(() => this.schedule());
    }, seconds * 1000);
    this.timer.unref();
  }
}
