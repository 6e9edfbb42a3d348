/**
 * Long jobs on the event loop (a 10 MiB import: parsing, checking, and on SQLite writing, which is synchronous)
 * give way between slices, so the redirects and requests queued meanwhile are answered in between instead of
 * after the whole job. A slice should take a few milliseconds.
 */
import { setImmediate as nextTurn } from "node:timers/promises";

export function yieldToEventLoop(): Promise<void> {
  return nextTurn();
}
