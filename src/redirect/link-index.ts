/**
 * The link index: every code, and within a memory budget every plain link's redirect, held in memory
 * (link-table.ts). It answers the redirect path before the bounded cache and the database:
 * - a held link is served from memory (no cache entry, no query) — so with every link held, every redirect is
 *   a memory hit and keeps working through a database outage;
 * - a code the index has never seen is a 404 with no query (scans of random codes cost nothing);
 * - a known code whose redirect is not held (a link with settings, one past the budget, one that changed and
 *   was not read again yet, a deleted one) goes on to the bounded cache and the database as before.
 *
 * Built after start by a keyset scan of every link (which also fills the bounded cache with links the index does
 * not hold, while it has room), kept current by the change feed:
 * - a `links` event adds its codes (a create is known before anyone can be told it exists) and releases what
 *   was held for them; the next visit reads the row again and holds it again (`hold`);
 * - `links.all` (a reload, a bulk change of unknown codes) switches the index off until it is rebuilt;
 * - it is rebuilt every `cache.bloom_rebuild_interval` seconds (0 = never), which forgets deleted codes and
 *   compacts the memory; until the first build every code goes to the cache and the database.
 *
 * The budget (`JMP_LINK_INDEX_MB`, settings.ts) bounds the table's memory: past it codes are still known but
 * links are no longer held. When a build finds more links than the bound could hold (`LinkTable.bytesFor`), or
 * the bound is 0, the index keeps only 64-bit fingerprints of the codes (code-set.ts, 16–32 bytes a code) and
 * the bounded cache serves every link, as before the index held links.
 */
import { setImmediate as yieldToRequests } from "node:timers/promises";
import type { Logger } from "pino";
import type { ChangeFeed } from "../events/feed.js";
import { type IndexRow, isPlain, plainLink, type RedirectFields } from "../links/model.js";
import { locationFor } from "../links/target.js";
import { CodeSet } from "./code-set.js";
import { ABSENT, LinkTable } from "./link-table.js";

export interface LinkSource {
  /** The links whose code is greater than `after`, in code order, at most `limit`. */
  indexRows(after: string, limit: number): Promise<IndexRow[]>;
  /** What a redirect needs of one link with settings (for the overflow cache). */
  lookup(code: string): Promise<RedirectFields | undefined>;
  count(): Promise<number>;
}

/** Where the build puts links the index does not hold, while it has room: the bounded cache (see app.ts). */
export interface Overflow {
  room(): number;
  add(code: string, link: RedirectFields): void;
}

export interface LinkIndexOptions {
  /** Seconds between rebuilds; 0 = never. Read before every scheduling, so it applies live. */
  rebuildIntervalSeconds(): number;
  /** The table's memory bound in bytes (0: hold no link). */
  maxBytes: number;
  overflow?: Overflow;
}

const PAGE = 5000;

export interface LinkIndexStatus {
  ready: boolean;
  codes: number;
  held: number;
  bytes: number;
  rebuilds: number;
  /** How long the last build took (ms), 0 before the first. */
  buildMs: number;
}

/** `lookup`'s answers besides a held entry (≥ 0). */
export const NOT_A_LINK = ABSENT;
export const NOT_HELD = -2;

export class LinkIndex {
  /** Every code and the held links; or only the codes, as fingerprints, when the bound cannot hold the links. */
  private table: LinkTable | CodeSet | null = null;
  /** The table being built: changes made meanwhile go into it as well. */
  private building: LinkTable | CodeSet | null = null;
  private rebuilding: Promise<void> | null = null;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private rebuilds = 0;
  private buildMs = 0;
  /**
   * Counts changes. A reader notes it before going to the database and holds what it read only if it has not
   * moved: a write that committed meanwhile must not be overwritten by the row read before it.
   */
  version = 0;

  constructor(
    private readonly source: LinkSource,
    private readonly options: LinkIndexOptions,
    private readonly log: Logger,
  ) {}

  /**
   * Hot path: the entry of a held link in `current` (≥ 0), `NOT_A_LINK` for a code that has not existed since
   * the last build, or `NOT_HELD`.
   */
  lookup(code: string): number {
    const table = this.table;
    if (table === null) return NOT_HELD;
    const entry = table.find(code);
    if (entry === ABSENT) return NOT_A_LINK;
    return table.isHeld(entry) ? entry : NOT_HELD;
  }

  /** The table `lookup` answered a held entry from (read it in the same synchronous step). */
  get current(): LinkTable {
    // Only a LinkTable holds links: `lookup` answers an entry (≥ 0) from nothing else.
    return this.table as LinkTable;
  }

  /**
   * Holds a plain link read from the database, unless a change arrived since `version` was read. False when it
   * is not held (not built yet, changed meanwhile, or past the budget): the caller caches it instead.
   */
  hold(code: string, link: RedirectFields, version: number): boolean {
    if (version !== this.version || this.table === null || !isPlain(link)) return false;
    return this.table.hold(code, locationFor(link.target), link.expiresAt ?? Number.POSITIVE_INFINITY);
  }

  follow(feed: ChangeFeed): () => void {
    return feed.subscribe((event) => {
      if (event.kind === "links") this.changed(event.codes);
      else if (event.kind === "links.all") {
        this.version++;
        this.table = null;
        void this.rebuild();
      } else if (event.kind === "config" && event.keys.includes("cache.bloom_rebuild_interval")) {
        this.schedule();
      }
    });
  }

  /** Builds the first table (in the background) and schedules the periodic rebuilds. */
  start(): void {
    void this.rebuild();
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.rebuilding;
  }

  /** Scans every link into a new table and swaps it in. Concurrent calls share one scan. */
  rebuild(): Promise<void> {
    this.rebuilding ??= this.build()
      .catch((err) =>
        this.log.warn({ err }, "building the link index failed; the database answers meanwhile"),
      )
      .finally(() => {
        this.rebuilding = null;
      });
    return this.rebuilding;
  }

  status(): LinkIndexStatus {
    const table = this.table;
    return {
      ready: table !== null,
      codes: table?.size ?? 0,
      held: table?.held ?? 0,
      bytes: table?.bytes ?? 0,
      rebuilds: this.rebuilds,
      buildMs: this.buildMs,
    };
  }

  private changed(codes: readonly string[]): void {
    this.version++;
    for (const table of [this.table, this.building]) {
      if (table === null) continue;
      for (const code of codes) table.release(table.add(code));
    }
  }

  private async build(): Promise<void> {
    const started = Date.now();
    const total = await this.source.count();
    // Knowing a code in a LinkTable costs ~60 bytes, against 16–32 as a fingerprint: past the bound (10 million
    // links under the default 256 MiB) the codes alone would exceed it, so the index keeps only fingerprints and
    // the bounded cache serves the links, as before the index (docs/performance.md, fifth round).
    const maxBytes = this.options.maxBytes;
    const next =
      maxBytes > 0 && LinkTable.bytesFor(total) <= maxBytes
        ? new LinkTable(total, maxBytes)
        : new CodeSet(total);
    this.building = next;
    try {
      let after = "";
      for (;;) {
        if (this.stopped) return;
        const version = this.version;
        const rows = await this.source.indexRows(after, PAGE);
        // A change arrived while the page was read: its codes are known, but what was read may be older than
        // the change. Nothing of this page is held or cached; first visits read the rows again.
        const current = version === this.version;
        for (const [code, target, expiresAt, plain] of rows) {
          if (
            current &&
            plain &&
            next.hold(code, locationFor(target), expiresAt ?? Number.POSITIVE_INFINITY)
          ) {
            continue;
          }
          next.add(code);
          if (current) await this.overflow(code, target, expiresAt, plain);
        }
        if (rows.length < PAGE) break;
        after = rows[rows.length - 1]![0];
        // SQLite answers without I/O: without this the whole scan would hold the event loop.
        await yieldToRequests();
      }
    } finally {
      this.building = null;
    }
    this.table = next;
    this.rebuilds++;
    this.buildMs = Date.now() - started;
    this.log.debug(
      { codes: next.size, held: next.held, bytes: next.bytes, ms: Date.now() - started },
      "link index built",
    );
  }

  /** A link the index does not hold goes to the overflow cache while it has room. */
  private async overflow(
    code: string,
    target: string,
    expiresAt: number | null,
    plain: boolean,
  ): Promise<void> {
    const overflow = this.options.overflow;
    if (overflow === undefined || overflow.room() <= 0) return;
    const version = this.version;
    const link = plain ? plainLink(target, expiresAt) : await this.source.lookup(code);
    if (link !== undefined && version === this.version) overflow.add(code, link);
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
