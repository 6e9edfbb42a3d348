/** Messages between SqliteClickWriter (server thread) and its worker (sqlite-click-worker.ts). */

/** Joins the codes of one request; codes are `[A-Za-z0-9_./-]` (links/codes.ts), so it never occurs in one. */
export const CODE_SEPARATOR = "\n";

export interface ClickWriteRequest {
  id: number;
  /** The codes, joined by CODE_SEPARATOR, in any order. */
  codes: string;
  /** Clicks to add, by the index of the code in `codes`. */
  counts: Float64Array;
}

export interface ClickWriteAnswer {
  id: number;
  error: string | null;
}
