/**
 * What the store takes from the redirect path's click buffer (a batch of additive counts, added to
 * `links.click_count` and to the hourly stats in one transaction), and the messages between SqliteClickWriter
 * (server thread) and its worker (sqlite-click-worker.ts).
 */

/**
 * Clicks to add, as two parallel lists. A code may appear more than once (a link whose cache entry was replaced
 * since the last flush); its counts add up. Lists rather than a map: a flush under load carries tens of
 * thousands of codes, and a map of them built on the event loop took ~12 ms and was garbage for the old
 * generation (it lives until the write ends), which made V8's full GCs run far more often.
 */
export interface ClickBatch {
  /**
   * The codes, joined by CODE_LIST_SEPARATOR: one string however many (a flush carries up to hundreds of
   * thousands; redirect/click-batch.ts). `codesOf` splits it.
   */
  readonly codeList: string;
  /** The clicks of each code, in the list's order. */
  readonly counts: Float64Array;
  /**
   * The hour the clicks are counted in (epoch ms of its start, UTC): the hour of the first click of the batch's
   * window. A window lasts at most `click.flush_interval`, so a click just before an hour's end may count in that
   * hour although the next one had begun; a failed write's clicks count in the hour of their retry.
   */
  readonly hour: number;
  /** Whether the hourly and daily stats are kept (`analytics.enable_auto_rollup`); `click_count` always is. */
  readonly stats: boolean;
}

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** The start of the UTC day `time` (epoch ms) is in. */
export function dayOf(time: number): number {
  return time - (time % DAY_MS);
}

/** The start of the hour `time` (epoch ms) is in. */
export function hourOf(time: number): number {
  return time - (time % HOUR_MS);
}

/** The hourly stats row for all links together has this code (no link has an empty code). */
export const ALL_LINKS = "";

/**
 * Where a click buffer writes: the links store, or SQLite's writer thread. A write that fails rejects with
 * UnwrittenClicksError when part of the batch was committed (the rest is retried), with any other error when
 * none of it was.
 */
export interface ClickSink {
  addClicks(batch: ClickBatch): Promise<void>;
}

/**
 * A write committed in parts (SQLite's writer thread: see sqlite-click-worker.ts) failed after some of them: only
 * the codes at these indexes of the batch were not written. Retrying the whole batch would count the rest twice.
 */
export class UnwrittenClicksError extends Error {
  constructor(
    message: string,
    readonly unwritten: readonly number[],
  ) {
    super(message);
    this.name = "UnwrittenClicksError";
  }
}

/** SQLite statements of a flush (the worker thread and the in-process path prepare them once). */
export const INCREMENT_CLICKS = "UPDATE links SET click_count = click_count + ? WHERE code = ?";
export const ADD_TO_HOURLY_STATS =
  "INSERT INTO click_stats_hourly (hour, code, clicks) VALUES (?, ?, ?) " +
  "ON CONFLICT (hour, code) DO UPDATE SET clicks = clicks + excluded.clicks";
export const ADD_TO_DAILY_STATS =
  "INSERT INTO click_stats_daily (day, code, clicks) VALUES (?, ?, ?) " +
  "ON CONFLICT (day, code) DO UPDATE SET clicks = clicks + excluded.clicks";

/** Joins a batch's codes into one parameter (a code never contains a line break: links/codes.ts). */
export const CODE_LIST_SEPARATOR = "\n";

/** A batch's codes as an array, in the order of its counts. */
export function codesOf(batch: ClickBatch): string[] {
  return batch.counts.length === 0 ? [] : batch.codeList.split(CODE_LIST_SEPARATOR);
}

/** What SqliteClickWriter hands its worker thread. */
export interface ClickWorkerData {
  location: string;
  /** sqlite-lock-waiters.ts: the server connection's count of statements waiting for the write lock. */
  waiters: SharedArrayBuffer;
  /** Codes per transaction (tests make it small); CHUNK_CODES by default. */
  chunkCodes?: number;
  /** How often the thread checkpoints the WAL (sqlite-click-worker.ts); CHECKPOINT_EVERY_MS by default. */
  checkpointEveryMs?: number;
}

export interface ClickWriteRequest {
  id: number;
  /** The codes, joined by CODE_LIST_SEPARATOR, in any order. */
  codes: string;
  /** Clicks to add, by the index of the code in `codes`. */
  counts: Float64Array;
  /** ClickBatch.hour */
  hour: number;
  /** ClickBatch.stats */
  stats: boolean;
}

export interface ClickWriteAnswer {
  id: number;
  error: string | null;
  /** With an error: the indexes (in `codes`) of the codes not written; every other code's clicks were. */
  unwritten: number[] | null;
}
