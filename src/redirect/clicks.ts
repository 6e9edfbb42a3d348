/**
 * Click counting off the hot path: a redirect only increments an in-memory counter. The buffer is written to
 * the database by additive updates — on an interval, when it holds enough clicks, and on shutdown. A failed
 * write puts the counts back so they are retried with the next flush.
 */
import type { Logger } from "pino";

export interface ClickSink {
  addClicks(deltas: ReadonlyMap<string, number>): Promise<void>;
}

export interface FlushPolicy {
  intervalMs(): number;
  threshold(): number;
}

/**
 * Flushes triggered by the threshold start at most this often. Under load the threshold (default 100) is
 * reached every few milliseconds; one write a second carries the same clicks with far fewer statements and
 * rewritten pages (the click counts live in the links table, so each write rewrites the pages it touches).
 */
const THRESHOLD_FLUSH_GAP_MS = 1000;

export class ClickBuffer {
  private pending = new Map<string, number>();
  private total = 0;
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | undefined;
  private thresholdScheduled = false;
  private lastFlushAt = 0;
  /** For metrics: writes that succeeded / failed, and clicks written. */
  readonly stats = { flushes: 0, failedFlushes: 0, flushedClicks: 0 };

  constructor(
    private readonly sink: ClickSink,
    private readonly policy: FlushPolicy,
    private readonly log: Logger,
  ) {}

  /** Hot path: O(1), no I/O. */
  count(code: string): void {
    this.pending.set(code, (this.pending.get(code) ?? 0) + 1);
    this.total++;
    if (this.total >= this.policy.threshold() && !this.thresholdScheduled) {
      this.thresholdScheduled = true;
      const wait = Math.max(0, this.lastFlushAt + THRESHOLD_FLUSH_GAP_MS - Date.now());
      setTimeout(() => {
        this.thresholdScheduled = false;
        void this.flush();
      }, wait);
    }
  }

  get size(): number {
    return this.total;
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
    this.lastFlushAt = Date.now();
    const batch = this.pending;
    const clicks = this.total;
    this.pending = new Map();
    this.total = 0;
    this.flushing = this.sink
      .addClicks(batch)
      .then(() => {
        this.stats.flushes++;
        this.stats.flushedClicks += clicks;
        this.log.debug({ codes: batch.size, clicks }, "click counts written");
      })
      .catch((err) => {
        this.stats.failedFlushes++;
        this.log.warn({ err, clicks }, "writing click counts failed; will retry");
        for (const [code, n] of batch) this.pending.set(code, (this.pending.get(code) ?? 0) + n);
        this.total += clicks;
      })
      .finally(() => {
        this.flushing = null;
      });
    await this.flushing;
  }

  /** Stops the timer and writes what is left (graceful shutdown). */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}
