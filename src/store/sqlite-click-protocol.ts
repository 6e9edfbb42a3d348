/** Messages between SqliteClickWriter (server thread) and its worker (sqlite-click-worker.ts). */

export interface ClickWriteRequest {
  id: number;
  /** The codes, joined by CODE_LIST_SEPARATOR (links/codes.ts), in any order. */
  codes: string;
  /** Clicks to add, by the index of the code in `codes`. */
  counts: Float64Array;
}

export interface ClickWriteAnswer {
  id: number;
  error: string | null;
}
