/**
 * Writes buffered click counts to a SQLite file from a worker thread (see sqlite-click-worker.ts). On SQLite
 * every statement runs on the calling thread; under load the flushes (a transaction every few milliseconds,
 * with the WAL checkpoints they trigger) were the largest cost of the redirect path and its latency spikes.
 * The server and CLI share the file through WAL; the worker waits for the write lock like any other writer.
 *
 * The thread also takes the server connection's WAL checkpoints. SQLite runs an automatic checkpoint inside the
 * commit that fills the WAL past 1 000 pages, on the committing thread: copying the pages back and two fsyncs,
 * ~120 µs of every admin write on average and a 15–20 ms stall of the event loop, every redirect in flight
 * included, each time one ran (hits p99 beside a PUT load: 15 ms with them, 6–9 ms without). The server's
 * connection therefore does not checkpoint (`wal_autocheckpoint = 0`) and the thread runs a PASSIVE checkpoint
 * every CHECKPOINT_EVERY_MS, which never blocks a reader or a writer.
 */
import { Worker } from "node:worker_threads";
import type SQLite from "better-sqlite3";
import {
  type ClickBatch,
  type ClickSink,
  type ClickWorkerData,
  type ClickWriteAnswer,
  type ClickWriteRequest,
  UnwrittenClicksError,
} from "./clicks.js";
import { writeLockWaiters } from "./sqlite-lock-waiters.js";

/**
 * The writer thread's young generation. V8 grows it to 16 MB semi-spaces for a thread that allocates as a big
 * flush does (a million links: ~200 000 code strings at once), and keeps them: ~14 MB more heap for a thread that
 * is idle between flushes. The strings of a flush live through it and are promoted anyway, so a small young
 * generation costs the flush little (docs/performance.md, twelfth round).
 */
const WRITER_YOUNG_GENERATION_MB = 4;

/** SQLite's own `wal_autocheckpoint` (pages). */
const SQLITE_DEFAULT_AUTOCHECKPOINT = 1000;

export class SqliteClickWriter implements ClickSink {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve(): void; reject(err: Error): void }>();
  private nextId = 1;

  /**
   * `server`: the server's connection, whose checkpoints the thread takes over until `close`. `chunkCodes` (codes
   * per transaction) and `checkpointEveryMs`: sqlite-click-worker.ts; tests make them small.
   */
  constructor(
    private readonly server: SQLite.Database,
    options: { chunkCodes?: number; checkpointEveryMs?: number } = {},
  ) {
    const workerData: ClickWorkerData = {
      location: server.name,
      waiters: writeLockWaiters.buffer as SharedArrayBuffer,
      ...options,
    };
    this.worker = new Worker(new URL("./sqlite-click-worker.js", import.meta.url), {
      workerData,
      resourceLimits: { maxYoungGenerationSizeMb: WRITER_YOUNG_GENERATION_MB },
    });
    server.pragma("wal_autocheckpoint = 0");
    this.worker.on("message", ({ id, error, unwritten }: ClickWriteAnswer) => {
      const waiter = this.pending.get(id);
      this.pending.delete(id);
      if (this.pending.size === 0) this.worker.unref();
      if (error === null) waiter?.resolve();
      else waiter?.reject(unwritten ? new UnwrittenClicksError(error, unwritten) : new Error(error));
    });
    this.worker.on("error", (err) => this.failAll(err));
    this.worker.on("exit", () => {
      this.failAll(new Error("the click writer thread stopped"));
      // No thread, no checkpoints: the server's connection takes them back, or the WAL would grow without end.
      this.restoreCheckpoints();
    });
    // Idle between flushes it must not keep the process alive; while a write is pending it must (see addClicks).
    this.worker.unref();
  }

  /**
   * Under load a flush carries tens of thousands of codes. Building `[code, n]` pairs and sorting them here
   * stalled the event loop for ~20 ms a flush (a p99 spike on every redirect in flight); instead the codes go as
   * the batch's one string and the counts as a typed array (copied: the buffer keeps them to retry a failed
   * write), and the worker sorts. A code listed twice is simply incremented twice.
   */
  addClicks({ codeList, counts, hour, stats }: ClickBatch): Promise<void> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      const request: ClickWriteRequest = { id, codes: codeList, counts, hour, stats };
      this.worker.postMessage(request);
    });
  }

  /** After the last flush: stops the thread, and gives the server's connection its own checkpoints back. */
  async close(): Promise<void> {
    await this.worker.terminate();
    this.restoreCheckpoints();
  }

  private restoreCheckpoints(): void {
    if (this.server.open) this.server.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_AUTOCHECKPOINT}`);
  }

  private failAll(err: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(err);
    this.pending.clear();
  }
}
