/**
 * Worker thread of SqliteClickWriter: applies click-count increments on its own SQLite connection, so the
 * write, its commit and any WAL checkpoint it triggers never block the event loop that serves redirects.
 */
import { parentPort, workerData } from "node:worker_threads";
import SQLite from "better-sqlite3";
import { CODE_LIST_SEPARATOR } from "../links/codes.js";
import type { ClickWriteAnswer, ClickWriteRequest } from "./sqlite-click-protocol.js";

const db = new SQLite((workerData as { location: string }).location);
db.pragma("busy_timeout = 5000");
db.pragma("synchronous = NORMAL");
const increment = db.prepare("UPDATE links SET click_count = click_count + ? WHERE code = ?");
const apply = db.transaction((codes: string[], counts: Float64Array, order: number[]) => {
  for (const i of order) increment.run(counts[i], codes[i]);
});

parentPort!.on("message", ({ id, codes: joined, counts }: ClickWriteRequest) => {
  let error: string | null = null;
  try {
    const codes = joined.split(CODE_LIST_SEPARATOR);
    // In code order, neighbouring rows share B-tree pages: fewer pages touched per transaction.
    const order = codes.map((_, i) => i).sort((a, b) => (codes[a]! < codes[b]! ? -1 : 1));
    apply(codes, counts, order);
  } catch (err) {
    error = (err as Error).message;
  }
  parentPort!.postMessage({ id, error } satisfies ClickWriteAnswer);
});
