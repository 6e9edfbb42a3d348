/**
 * Worker thread of SqliteClickWriter: applies click-count increments on its own SQLite connection, so the
 * write, its commit and any WAL checkpoint it triggers never block the event loop that serves redirects. A batch
 * is committed in parts (CHUNK_CODES); when one fails, the answer lists the codes not written, and only those are
 * retried. It also checkpoints the WAL for the server's connection (CHECKPOINT_EVERY_MS; sqlite-click-writer.ts).
 */
import { setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import SQLite from "better-sqlite3";
import {
  ADD_TO_DAILY_STATS,
  type ClickWorkerData,
  ADD_TO_HOURLY_STATS,
  ALL_LINKS,
  type ClickWriteAnswer,
  type ClickWriteRequest,
  CODE_LIST_SEPARATOR,
  dayOf,
  INCREMENT_CLICKS,
} from "./clicks.js";
import { pauseForWaiters } from "./sqlite-lock-waiters.js";

/**
 * A flush under load is ~100 ms of CPU for this thread. On a small machine it competes for the cores with the
 * event loop, and every redirect in flight waited meanwhile: p99 several times the bare Node server's. A lower
 * priority lets the scheduler favour the event loop; the write merely ends later. On Linux a nice value is per
 * thread (setpriority with pid 0 applies to the calling thread); elsewhere it would slow the whole process.
 */
const WRITER_NICE = 10;

/**
 * Codes per transaction. A flush commits in parts so that the write lock is free between them: the server's
 * admin writes wait for one part (a few ms), not for the whole flush (~3.6 µs a code with the stats: 0.9 s for
 * 250 000 codes at a million links). Parts of a few thousand rows cost little more than one transaction: the
 * codes are sorted, so the parts touch disjoint pages.
 */
const CHUNK_CODES = 2048;
/** The longest pause between two parts for the server's waiting statements (sqlite-lock-waiters.ts). */
const MAX_PAUSE_MS = 50;
/**
 * How often the WAL is checkpointed. At 2 000 admin writes a second (~11 pages each) the WAL gains ~22 000 pages
 * (90 MB) a second: checkpointed every 250 ms it stays near SQLite's usual size, and an idle one costs a few µs.
 */
const CHECKPOINT_EVERY_MS = 250;
if (process.platform === "linux") {
  try {
    setPriority(WRITER_NICE);
  } catch {
    // Not permitted here (a sandbox): the writer runs at the process's priority, as before.
  }
}

const options = workerData as ClickWorkerData;
const waiters = new Int32Array(options.waiters);
const chunkCodes = options.chunkCodes ?? CHUNK_CODES;

const db = new SQLite(options.location);
db.pragma("busy_timeout = 5000");
db.pragma("synchronous = NORMAL");
// PASSIVE: copies what no reader still needs and returns, without waiting for or blocking anyone; the next
// writer then starts the WAL over from its beginning.
const checkpoint = db.prepare("pragma wal_checkpoint(PASSIVE)");
setInterval(() => {
  try {
    checkpoint.get();
  } catch {
    // Busy (another connection is checkpointing) or the file went away: the next tick tries again.
  }
}, options.checkpointEveryMs ?? CHECKPOINT_EVERY_MS);
const increment = db.prepare(INCREMENT_CLICKS);
const addToHour = db.prepare(ADD_TO_HOURLY_STATS);
const addToDay = db.prepare(ADD_TO_DAILY_STATS);
/** Adds the clicks of `order[from]` … `order[to - 1]`, and their sum to the all-links rows. */
const applyChunk = db.transaction(
  (
    codes: string[],
    counts: Float64Array,
    order: number[],
    from: number,
    to: number,
    hour: number,
    stats: boolean,
  ) => {
    let total = 0;
    for (let k = from; k < to; k++) {
      const i = order[k]!;
      increment.run(counts[i], codes[i]);
      if (!stats) continue;
      addToHour.run(hour, codes[i], counts[i]);
      addToDay.run(dayOf(hour), codes[i], counts[i]);
      total += counts[i]!;
    }
    if (!stats) return;
    addToHour.run(hour, ALL_LINKS, total);
    addToDay.run(dayOf(hour), ALL_LINKS, total);
  },
);

parentPort!.on("message", ({ id, codes: joined, counts, hour, stats }: ClickWriteRequest) => {
  const codes = joined.split(CODE_LIST_SEPARATOR);
  // In code order, neighbouring rows share B-tree pages: fewer pages touched per transaction.
  const order = codes.map((_, i) => i).sort((a, b) => (codes[a]! < codes[b]! ? -1 : 1));
  for (let from = 0; from < order.length; from += chunkCodes) {
    if (from > 0) pauseForWaiters(waiters, MAX_PAUSE_MS);
    try {
      applyChunk.immediate(
        codes,
        counts,
        order,
        from,
        Math.min(from + chunkCodes, order.length),
        hour,
        stats,
      );
    } catch (err) {
      const answer = { id, error: (err as Error).message, unwritten: order.slice(from) };
      parentPort!.postMessage(answer satisfies ClickWriteAnswer);
      return;
    }
  }
  parentPort!.postMessage({ id, error: null, unwritten: null } satisfies ClickWriteAnswer);
});
