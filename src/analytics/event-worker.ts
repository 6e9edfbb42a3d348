/**
 * The analytics worker thread (one per process): takes raw clicks from ClickCapture, classifies them
 * (events.ts) and writes them every second on its own database connection, so neither the parsing nor the
 * write ever runs on the event loop that serves redirects. A failed write is retried the next second with what
 * came meanwhile; the capture stops handing over past its bound, so memory stays bounded while the database is
 * away.
 */
import { setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import { ClickEventsStore, type EventSink } from "../store/click-events-store.js";
import { SqliteEventWriter } from "../store/sqlite-event-writer.js";
import { openStore } from "../store/db.js";
import type { EventWorkerData, FromWorker, ToWorker } from "./capture.js";
import { EventAggregator } from "./events.js";
import { openLocations } from "./geoip.js";

const WRITE_INTERVAL_MS = 1_000;
/**
 * A write also starts when this many clicks wait: at ~50 000 clicks a second a second's worth would reach the
 * capture's bound (MAX_UNWRITTEN_EVENTS) before the timer fired, and clicks were dropped with the worker idle.
 */
const WRITE_AT_EVENTS = 5_000;

// As the SQLite click writer: lower priority lets the scheduler favour the event loop (Linux: per thread).
if (process.platform === "linux") {
  try {
    setPriority(10);
  } catch {
    // not permitted here: run at the process's priority
  }
}

const data = workerData as EventWorkerData;
/** SQLite: prepared statements on a connection of its own (sqlite-event-writer.ts); else the query builder. */
function openSink(): EventSink & { close(): Promise<void> } {
  if (data.engine === "sqlite") return new SqliteEventWriter(data.location);
  const store = openStore({ engine: data.engine, location: data.location });
  const events = new ClickEventsStore(store.db, store.engine);
  return { write: (batch) => events.write(batch), close: () => store.close() };
}
const events = openSink();
const aggregator = new EventAggregator(data.geoip ? await openLocations(data.geoip) : null);
let writing: Promise<void> | null = null;

function send(message: FromWorker): void {
  parentPort!.postMessage(message);
}

/** Writes what was gathered; on failure it goes back to be retried. Returns whether it was written. */
async function write(): Promise<boolean> {
  while (writing) await writing;
  if (aggregator.size === 0) return true;
  const taken = aggregator.take();
  let ok = true;
  writing = events
    .write(taken.batch)
    .then(() => send({ kind: "written", events: taken.handled }))
    .catch((err: unknown) => {
      ok = false;
      aggregator.putBack(taken);
      send({ kind: "failed", error: (err as Error).message });
    })
    .finally(() => {
      writing = null;
    });
  await writing;
  return ok;
}

const timer = setInterval(() => void write(), WRITE_INTERVAL_MS);

parentPort!.on("message", (message: ToWorker) => {
  switch (message.kind) {
    case "settings":
      aggregator.configure(message.settings);
      return;
    case "events":
      aggregator.add(message);
      if (aggregator.size >= WRITE_AT_EVENTS && writing === null) void write();
      return;
    case "flush":
      void write().then((ok) => send({ kind: "flushed", id: message.id, ok }));
      return;
    case "drain":
      clearInterval(timer);
      void (async () => {
        // A database that is briefly away gets a few more tries; the process's stop is bounded (main.ts).
        for (let attempt = 0; attempt < 5 && !(await write()); attempt++) {
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
        const unwritten = aggregator.size;
        await events.close().catch(() => {});
        send({ kind: "drained", unwritten });
      })();
      return;
  }
});
