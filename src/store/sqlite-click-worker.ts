/**
 * Worker thread of SqliteClickWriter: applies click-count increments on its own SQLite connection, so the
 * write, its commit and any WAL checkpoint it triggers never block the event loop that serves redirects.
 */
import { setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import SQLite from "better-sqlite3";
import {
  ADD_TO_DAILY_STATS,
  ADD_TO_HOURLY_STATS,
  ALL_LINKS,
  type ClickWriteAnswer,
  type ClickWriteRequest,
  CODE_LIST_SEPARATOR,
  dayOf,
  INCREMENT_CLICKS,
} from "./clicks.js";

/**
 * A flush under load is ~100 ms of CPU for this thread. On a small machine it competes for the cores with the
 * event loop, and every redirect in flight waited meanwhile: p99 several times the bare Node server's. A lower
 * priority lets the scheduler favour the event loop; the write merely ends later. On Linux a nice value is per
 * thread (setpriority with pid 0 applies to the calling thread); elsewhere it would slow the whole process.
 */
const WRITER_NICE = 10;
if (process.platform === "linux") {
  try {
    setPriority(WRITER_NICE);
  } catch {
    // Not permitted here (a sandbox): the writer runs at the process's priority, as before.
  }
}

const db = new SQLite((workerData as { location: string }).location);
db.pragma("busy_timeout = 5000");
db.pragma("synchronous = NORMAL");
const increment = db.prepare(INCREMENT_CLICKS);
const addToHour = db.prepare(ADD_TO_HOURLY_STATS);
const addToDay = db.prepare(ADD_TO_DAILY_STATS);
const apply = db.transaction(
  (codes: string[], counts: Float64Array, order: number[], hour: number, stats: boolean) => {
    let total = 0;
    for (const i of order) {
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
  let error: string | null = null;
  try {
    const codes = joined.split(CODE_LIST_SEPARATOR);
    // In code order, neighbouring rows share B-tree pages: fewer pages touched per transaction.
    const order = codes.map((_, i) => i).sort((a, b) => (codes[a]! < codes[b]! ? -1 : 1));
    apply(codes, counts, order, hour, stats);
  } catch (err) {
    error = (err as Error).message;
  }
  parentPort!.postMessage({ id, error } satisfies ClickWriteAnswer);
});
