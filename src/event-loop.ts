/**
 * Long jobs on the event loop (a 10 MiB import: parsing, checking, and on SQLite writing, which is synchronous)
 * give way between slices, so the redirects and requests queued meanwhile are answered in between instead of
 * after the whole job. A slice should take a few milliseconds.
 */
import { setImmediate as nextTurn } from "node:timers/promises";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

export function yieldToEventLoop(): Promise<void> {
  return nextTurn();
}

/**
 * A 10 MiB import leaves ~200 MB of garbage in the old generation (parsed rows, candidate writes, statements),
 * with ~35 MB still live. An idle process never reaches the next major GC on its own, so that memory stayed
 * resident for good (RSS 144 MB before, 350 MB 30 s after). After a bulk job, ask V8 for one full collection a
 * moment later, once the job's last references are gone; several jobs in a row share one. The pause is that of
 * one mark-compact over the garbage (tens of ms), the same the next natural major GC would cost.
 */
const RELEASE_DELAY_MS = 500;
let releasePending = false;

export function releaseMemorySoon(): void {
  if (releasePending) return;
  releasePending = true;
  setTimeout(() => {
    releasePending = false;
    fullGc();
  }, RELEASE_DELAY_MS).unref();
}

let collect: (() => void) | undefined;

/** V8's own `gc()`, made reachable without starting node with --expose-gc. */
function fullGc(): void {
  if (!collect) {
    setFlagsFromString("--expose-gc");
    collect = runInNewContext("gc") as () => void;
  }
  collect();
}
