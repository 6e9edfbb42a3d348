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
import type { EventWorkerData, FromWorker, StreamStats, ToWorker } from "./capture.js";
import { EventAggregator } from "./events.js";
import { openLocations } from "./geoip.js";
import { openPublisher, StreamOutbox } from "./stream.js";

const WRITE_INTERVAL_MS = 1_000;
/**
 * A write also starts when this many clicks wait: at ~50 000 clicks a second a second's worth would reach the
 * capture's bound (MAX_UNWRITTEN_EVENTS) before the timer fired, and clicks were dropped with the worker idle.
 * Not fewer: each write rewrites every index page its events land on (random within the hour, by code), so on
 * SQLite an event cost ~12 µs in writes of 5 000 and ~6 µs in writes of 25 000 (2 million events in an hour).
 */
const WRITE_AT_EVENTS = 20_000;

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
  return {
    write: (batch) => events.write(batch),
    saltFor: (day) => events.saltFor(day),
    close: () => store.close(),
  };
}
const events = openSink();
const aggregator = new EventAggregator(data.geoip ? await openLocations(data.geoip) : null);
const outbox = data.stream ? new StreamOutbox(await openPublisher(data.stream)) : null;

function streamStats(): StreamStats | null {
  return outbox && { ...outbox.stats, waiting: outbox.size };
}
let writing: Promise<void> | null = null;

function send(message: FromWorker): void {
  parentPort!.postMessage(message);
}

/** Writes what was gathered; on failure it goes back to be retried. Returns whether it was written. */
async function write(): Promise<boolean> {
  while (writing) await writing;
  if (aggregator.size === 0) {
    if (outbox && outbox.size > 0 && (await outbox.flush()))
      send({ kind: "written", events: 0, stream: streamStats() });
    return true;
  }
  const taken = aggregator.take();
  let ok = true;
  writing = events
    .write(taken.batch)
    .then(async () => {
      if (outbox) {
        outbox.add(taken.batch.events);
        await outbox.flush();
      }
      send({ kind: "written", events: taken.handled, stream: streamStats() });
    })
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
/** Incoming clicks, in order (see "events"). */
let queue: Promise<void> = Promise.resolve();

parentPort!.on("message", (message: ToWorker) => {
  switch (message.kind) {
    case "settings":
      queue = queue.then(() => aggregator.configure(message.settings));
      return;
    case "events":
      // Messages are handled one after another (queue): a day's salt may need a query first.
      queue = queue.then(async () => {
        for (const day of aggregator.missingSalts(message)) {
          try {
            aggregator.setSalt(day, await events.saltFor(day));
          } catch (err) {
            // Without the salt these clicks get no visitor hash; they are recorded all the same.
            send({ kind: "failed", error: `reading the visitor salt failed: ${(err as Error).message}` });
          }
        }
        aggregator.add(message);
        if (aggregator.size >= WRITE_AT_EVENTS && writing === null) void write();
      });
      return;
    case "flush":
      void queue.then(() => write()).then((ok) => send({ kind: "flushed", id: message.id, ok }));
      return;
    case "drain":
      clearInterval(timer);
      void (async () => {
        await queue;
        // A database that is briefly away gets a few more tries; the process's stop is bounded (main.ts).
        for (let attempt = 0; attempt < 5 && !(await write()); attempt++) {
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
        const unwritten = aggregator.size;
        await events.close().catch(() => {});
        for (let attempt = 0; outbox && attempt < 3 && !(await outbox.flush()); attempt++) {
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
        await outbox?.close();
        send({ kind: "drained", unwritten, unpublished: outbox?.size ?? 0 });
      })();
      return;
  }
});
