/**
 * Worker thread of SqliteClickWriter: applies click-count increments on its own SQLite connection, so the
 * write, its commit and any WAL checkpoint it triggers never block the event loop that serves redirects.
 */
import { parentPort, workerData } from "node:worker_threads";
import SQLite from "better-sqlite3";

export interface ClickWriteRequest {
  id: number;
  /** [code, clicks to add], sorted by code (the same lock order as every other writer). */
  entries: [string, number][];
}

export interface ClickWriteAnswer {
  id: number;
  error: string | null;
}

const db = new SQLite((workerData as { location: string }).location);
db.pragma("busy_timeout = 5000");
db.pragma("synchronous = NORMAL");
const increment = db.prepare("UPDATE links SET click_count = click_count + ? WHERE code = ?");
const apply = db.transaction((entries: [string, number][]) => {
  for (const [code, n] of entries) increment.run(n, code);
});

parentPort!.on("message", ({ id, entries }: ClickWriteRequest) => {
  let error: string | null = null;
  try {
    apply(entries);
  } catch (err) {
    error = (err as Error).message;
  }
  parentPort!.postMessage({ id, error } satisfies ClickWriteAnswer);
});
