/**
 * The SQL of analytics: reads of the hourly click stats (`click_stats_hourly`, written by the click flush in
 * redirect-store.ts and sqlite-click-worker.ts). `code = ''` (ALL_LINKS) is the row for all links together.
 */
import { type Kysely, sql } from "kysely";
import { ALL_LINKS, hourOf } from "./clicks.js";
import type { Database } from "./schema.js";

export interface HourCount {
  hour: number;
  clicks: number;
}

export interface CodeCount {
  code: string;
  clicks: number;
}

/** `[start, end)` in epoch ms; rows are whole hours, so the hour `start` falls in is included. */
export interface HourRange {
  start: number;
  end: number;
}

export class AnalyticsStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Clicks per hour of one link, or of all links (`ALL_LINKS`), in the range. */
  async hourly(code: string, range: HourRange): Promise<HourCount[]> {
    const rows = await this.db
      .selectFrom("click_stats_hourly")
      .select(["hour", "clicks"])
      .where("code", "=", code)
      .where("hour", ">=", hourOf(range.start))
      .where("hour", "<", range.end)
      .orderBy("hour")
      .execute();
    return rows.map((row) => ({ hour: Number(row.hour), clicks: Number(row.clicks) }));
  }

  /** The links clicked most in the range, most clicks first (ties by code). */
  async top(range: HourRange, limit: number): Promise<CodeCount[]> {
    if (limit === 0) return [];
    const clicks = sql<number>`sum(clicks)`;
    const rows = await this.db
      .selectFrom("click_stats_hourly")
      .select(["code", clicks.as("clicks")])
      .where("code", "<>", ALL_LINKS)
      .where("hour", ">=", hourOf(range.start))
      .where("hour", "<", range.end)
      .groupBy("code")
      .orderBy(clicks, "desc")
      .orderBy("code")
      .limit(limit)
      .execute();
    return rows.map((row) => ({ code: row.code, clicks: Number(row.clicks) }));
  }
}
