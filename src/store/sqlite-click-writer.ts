/**
 * Writes buffered click counts to a SQLite file from a worker thread (see sqlite-click-worker.ts). On SQLite
 * every statement runs on the calling thread; under load the flushes (a transaction every few milliseconds,
 * with the WAL checkpoints they trigger) were the largest cost of the redirect path and its latency spikes.
 * The server and CLI share the file through WAL; the worker waits for the write lock like any other writer.
 */
import { Worker } from "node:worker_threads";
import {
  type ClickBatch,
  type ClickSink,
  type ClickWorkerData,
  type ClickWriteAnswer,
  type ClickWriteRequest,
  CODE_LIST_SEPARATOR,
  UnwrittenClicksError,
} from "./clicks.js";
import { writeLockWaiters } from "./sqlite-lock-waiters.js";

export class SqliteClickWriter implements ClickSink {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve(): void; reject(err: Error): void }>();
  private nextId = 1;

  /** `chunkCodes`: codes per transaction (sqlite-click-worker.ts); tests make it small. */
  constructor(location: string, options: { chunkCodes?: number } = {}) {
    const workerData: ClickWorkerData = {
      location,
      waiters: writeLockWaiters.buffer as SharedArrayBuffer,
      ...options,
    };
    this.worker = new Worker(new URL("./sqlite-click-worker.js", import.meta.url), { workerData });
    this.worker.on("message", ({ id, error, unwritten }: ClickWriteAnswer) => {
      const waiter = this.pending.get(id);
      this.pending.delete(id);
      if (this.pending.size === 0) this.worker.unref();
      if (error === null) waiter?.resolve();
      else waiter?.reject(unwritten ? new UnwrittenClicksError(error, unwritten) : new Error(error));
    });
    this.worker.on("error", (err) => this.failAll(err));
    this.worker.on("exit", () => this.failAll(new Error("the click writer thread stopped")));
    // Idle between flushes it must not keep the process alive; while a write is pending it must (see addClicks).
    this.worker.unref();
  }

  /**
   * Under load a flush carries tens of thousands of codes. Building `[code, n]` pairs and sorting them here
   * stalled the event loop for ~20 ms a flush (a p99 spike on every redirect in flight); instead the codes go as
   * one string and the counts as a typed array (copied: the buffer keeps them to retry a failed write), and the
   * worker sorts. A code listed twice is simply incremented twice.
   */
  addClicks({ codes, counts, hour, stats }: ClickBatch): Promise<void> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      const request: ClickWriteRequest = { id, codes: codes.join(CODE_LIST_SEPARATOR), counts, hour, stats };
      this.worker.postMessage(request);
    });
  }

  /** After the last flush: stops the thread. */
  async close(): Promise<void> {
    await this.worker.terminate();
  }

  private failAll(err: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(err);
    this.pending.clear();
  }
}
