/**
 * What the store takes from the redirect path's click buffer (a batch of additive counts), and the messages
 * between SqliteClickWriter (server thread) and its worker (sqlite-click-worker.ts).
 */

/**
 * Clicks to add, as two parallel lists. A code may appear more than once (a link whose cache entry was replaced
 * since the last flush); its counts add up. Lists rather than a map: a flush under load carries tens of
 * thousands of codes, and a map of them built on the event loop took ~12 ms and was garbage for the old
 * generation (it lives until the write ends), which made V8's full GCs run far more often.
 */
export interface ClickBatch {
  readonly codes: readonly string[];
  readonly counts: Float64Array;
}

/** Where a click buffer writes: the links store, or SQLite's writer thread. */
export interface ClickSink {
  addClicks(batch: ClickBatch): Promise<void>;
}

/** Joins a batch's codes into one parameter (a code never contains a line break: links/codes.ts). */
export const CODE_LIST_SEPARATOR = "\n";

export interface ClickWriteRequest {
  id: number;
  /** The codes, joined by CODE_LIST_SEPARATOR, in any order. */
  codes: string;
  /** Clicks to add, by the index of the code in `codes`. */
  counts: Float64Array;
}

export interface ClickWriteAnswer {
  id: number;
  error: string | null;
}
