/**
 * Click counting off the hot path: a redirect only increments an in-memory counter. The buffer is written to
 * the database by additive updates — on an interval, when it holds enough clicks, and on shutdown. A failed
 * write puts the counts back so they are retried with the next flush.
 *
 * A redirect counts on the cache entry it served (`countSlot`): one increment on an object that already exists,
 * no map lookup and no allocation. Counting by code in a map cost a lookup per visit and kept a fresh key
 * string per newly clicked code alive until the next flush, long enough for V8 to move it to the old
 * generation: garbage that full GCs then had to collect (at 100 000 links, ~36 000 such strings a second).
 */
import type { Logger } from "pino";
import { type ClickBatch, type ClickSink, codesOf, hourOf, UnwrittenClicksError } from "../store/clicks.js";
import { ClickBatchWriter } from "./click-batch.js";

export interface FlushPolicy {
  intervalMs(): number;
  threshold(): number;
  /** `analytics.enable_auto_rollup`: also add the clicks to the hourly and daily stats. */
  keepStats(): boolean;
}

/**
 * Where a cache entry keeps the clicks it served since the last flush. The buffer lists an entry the first time
 * it counts (0 → 1) and zeroes it when it flushes; an entry dropped from the cache meanwhile is still listed, so
 * its clicks are written all the same.
 */
export interface ClickSlot {
  readonly code: string;
  clicks: number;
}

/**
 * Where the link index (link-table.ts) keeps the clicks of the links it holds: a count per entry in a typed
 * array. The buffer lists a counter when its first click since the last drain is counted; a counter replaced
 * meanwhile (the index was rebuilt) stays listed until it is drained, so its clicks are written all the same.
 */
export interface ClickCounter {
  /** Counts one visit of `entry`; true when it is the counter's first since it was last drained. */
  countClick(entry: number): boolean;
  /** Hands over every count and zeroes them. */
  drainClicks(into: ClickBatchWriter): void;
}

/**
 * Flushes triggered by the threshold start at most this often. Under load the threshold (default 100) is
 * reached every few milliseconds; a write every few seconds carries the same clicks with far fewer statements
 * and rewritten pages (the click counts live in the links table: one UPDATE per distinct code, each rewriting
 * the page it touches). At 100 000 links and ~45 000 clicks a second, a 1 s gap meant ~36 000 UPDATEs a
 * second on the writer thread (~3 µs of CPU per click, on the cores that also serve); 5 s halves that.
 */
export const THRESHOLD_FLUSH_GAP_MS = 5000;

/**
 * The share of the time the writes triggered by the threshold may take: after a write that took `d`, the next
 * one starts no sooner than `d / FLUSH_DUTY_LIMIT` after its start. A write costs per distinct code, so when
 * clicks spread over many links (100 000 links hit uniformly: ~78 000 codes and ~0.9 s of the writer thread's
 * CPU every 5 s), waiting longer lets more clicks share each code's UPDATE; where they concentrate on few
 * links the writes are short and the gap stays THRESHOLD_FLUSH_GAP_MS. Measured that way, the writer took 25 %
 * of the throughput of a process serving 30 000 clicks a second on two cores (docs/performance.md, tenth round).
 */
export const FLUSH_DUTY_LIMIT = 0.1;

/**
 * How long after the start of the last write a threshold-triggered write may start: at least `minGapMs`, long
 * enough to keep the writes within FLUSH_DUTY_LIMIT, and never longer than the flush interval (the timer's
 * writes are not delayed by this).
 */
export function thresholdFlushGap(lastWriteMs: number, intervalMs: number, minGapMs: number): number {
  return Math.min(intervalMs, Math.max(minGapMs, lastWriteMs / FLUSH_DUTY_LIMIT));
}

export class ClickBuffer {
  /** Clicks counted by code (`count`), and counts a failed write put back. */
  private pending = new Map<string, number>();
  /** Cache entries holding clicks (`countSlot`). */
  private slots: ClickSlot[] = [];
  /** Link indexes holding clicks (`countEntry`). */
  private counters: ClickCounter[] = [];
  private total = 0;
  /** When the first click since the last flush was counted (0: none yet): the hour the batch counts in. */
  private windowStart = 0;
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | undefined;
  private thresholdScheduled = false;
  private lastFlushAt = 0;
  /** How long the last write took (ms): it sets the gap before the next threshold-triggered one. */
  private lastWriteMs = 0;
  /** Builds each flush's batch, its memory kept from one flush to the next. */
  private readonly batchWriter = new ClickBatchWriter();
  /** Clicks in the write under way. */
  private writing = 0;
  /** Set by `stop`: a failed write is not retried. */
  private stopping = false;
  /** For metrics: writes that succeeded / failed, and clicks written. */
  readonly stats = { flushes: 0, failedFlushes: 0, flushedClicks: 0 };

  constructor(
    private readonly sink: ClickSink,
    private readonly policy: FlushPolicy,
    private readonly log: Logger,
    /** THRESHOLD_FLUSH_GAP_MS; tests make it small. */
    private readonly minGapMs = THRESHOLD_FLUSH_GAP_MS,
  ) {}

  /** Hot path: one visit of a cached link. O(1), no I/O, no allocation but the list's growth. */
  countSlot(slot: ClickSlot): void {
    if (slot.clicks++ === 0) this.slots.push(slot);
    this.added();
  }

  /** Hot path: one visit of a link held by the link index. O(1), no I/O, no allocation. */
  countEntry(counter: ClickCounter, entry: number): void {
    if (counter.countClick(entry)) this.counters.push(counter);
    this.added();
  }

  /** One visit of the link with this code (for callers without a cache entry). */
  count(code: string): void {
    this.pending.set(code, (this.pending.get(code) ?? 0) + 1);
    this.added();
  }

  private added(): void {
    if (this.total++ === 0) this.windowStart = Date.now();
    if (this.total >= this.policy.threshold() && !this.thresholdScheduled) {
      this.thresholdScheduled = true;
      const gap = thresholdFlushGap(this.lastWriteMs, this.policy.intervalMs(), this.minGapMs);
      const wait = Math.max(0, this.lastFlushAt + gap - Date.now());
      setTimeout(() => {
        this.thresholdScheduled = false;
        void this.flush();
      }, wait);
    }
  }

  get size(): number {
    return this.total;
  }

  /** Clicks not yet in the database: buffered, and in a write that has not finished. */
  get unwritten(): number {
    return this.total + this.writing;
  }

  start(): void {
    this.schedule();
  }

  /** Re-arms the interval timer (the interval is a live setting). */
  schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      void this.flush().finally(() => this.schedule());
    }, this.policy.intervalMs());
    this.timer.unref();
  }

  /** Writes everything buffered so far. Concurrent calls share one write, then the next one runs. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.total === 0) return;
    const startedAt = (this.lastFlushAt = Date.now());
    const batch = this.takeBatch();
    const clicks = this.total;
    this.total = 0;
    this.writing = clicks;
    this.flushing = this.sink
      .addClicks(batch)
      .then(() => {
        this.lastWriteMs = Date.now() - startedAt;
        this.stats.flushes++;
        this.stats.flushedClicks += clicks;
        this.log.debug({ codes: batch.counts.length, clicks }, "click counts written");
      })
      .catch((err) => {
        this.stats.failedFlushes++;
        // Written in parts, a batch may have failed after some of them: only the rest goes back.
        const codes = codesOf(batch);
        const unwritten = err instanceof UnwrittenClicksError ? err.unwritten : codes.keys();
        let back = 0;
        for (const i of unwritten) {
          const code = codes[i]!;
          this.pending.set(code, (this.pending.get(code) ?? 0) + batch.counts[i]!);
          back += batch.counts[i]!;
        }
        this.stats.flushedClicks += clicks - back;
        if (!this.stopping) this.log.warn({ err, clicks: back }, "writing click counts failed; will retry");
        if (back === 0) return;
        if (this.total === 0) this.windowStart = Date.now();
        this.total += back;
      })
      .finally(() => {
        this.writing = 0;
        this.flushing = null;
      });
    await this.flushing;
  }

  /** Empties the buffer into a batch: the counts by code, the cache entries', then the link indexes' (all zeroed). */
  private takeBatch(): ClickBatch {
    const writer = this.batchWriter;
    for (const [code, n] of this.pending) writer.add(code, n);
    for (const slot of this.slots) {
      writer.add(slot.code, slot.clicks);
      slot.clicks = 0;
    }
    for (const counter of this.counters) counter.drainClicks(writer);
    this.pending = new Map();
    this.slots = [];
    this.counters = [];
    return writer.take(hourOf(this.windowStart), this.policy.keepStats());
  }

  /**
   * Stops the timer and writes what is left (graceful shutdown). Resolves with the number of clicks that could
   * not be written: there is no later flush to retry them.
   */
  async stop(): Promise<number> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.stopping = true;
    await this.flush();
    return this.total;
  }
}
