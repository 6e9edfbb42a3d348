/**
 * The SQL of analytics: reads of the click stats (`click_stats_hourly` and `click_stats_daily`, written by the
 * click flush in redirect-store.ts and sqlite-click-worker.ts) and their retention. `code = ''` (ALL_LINKS) is
 * the row for all links together.
 */
import { type Kysely, sql, type Transaction } from "kysely";
import { ALL_LINKS, dayOf, hourOf } from "./clicks.js";
import type { Db } from "./db.js";
import type { Database } from "./schema.js";

export interface HourCount {
  hour: number;
  clicks: number;
  /** Of the clicks recorded in detail (the all-links rows only): bots, and all recorded. */
  bots: number;
  detailed: number;
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

/**
 * Where the hourly counts begin: hours from here on have hourly rows; the days before it are answered from the
 * daily rows (the hourly ones are deleted after `analytics.hourly_retention_days`). Day-aligned, so a day is
 * never counted from both tables. -Infinity: hourly rows are kept for ever.
 */
export type HourlyBoundary = number;

export class AnalyticsStore {
  constructor(private readonly db: Kysely<Database>) {}

  transaction<T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(fn);
  }

  /**
   * Clicks of one link, or of all links (`ALL_LINKS`), in the range: per hour from `boundary` on, per day (at the
   * day's start) before it.
   */
  async series(code: string, range: HourRange, boundary: HourlyBoundary): Promise<HourCount[]> {
    const useDaily = boundary > hourOf(range.start);
    const daily = useDaily
      ? await this.db
          .selectFrom("click_stats_daily")
          .select(["day", "clicks", "bots", "detailed"])
          .where("code", "=", code)
          .where("day", ">=", dayOf(range.start))
          .where("day", "<", Math.min(boundary, range.end))
          .orderBy("day")
          .execute()
      : [];
    const hourly = await this.db
      .selectFrom("click_stats_hourly")
      .select(["hour", "clicks", "bots", "detailed"])
      .where("code", "=", code)
      .where("hour", ">=", useDaily ? boundary : hourOf(range.start))
      .where("hour", "<", range.end)
      .orderBy("hour")
      .execute();
    const count = (hour: number, row: { clicks: number; bots: number; detailed: number }) => ({
      hour,
      clicks: Number(row.clicks),
      bots: Number(row.bots),
      detailed: Number(row.detailed),
    });
    return [
      ...daily.map((row) => count(Number(row.day), row)),
      ...hourly.map((row) => count(Number(row.hour), row)),
    ];
  }

  /** Every link's counts in the range (one row per link and hour or day, the all-links rows left out). */
  private linkRows(range: HourRange, boundary: HourlyBoundary) {
    const useDaily = boundary > hourOf(range.start);
    const hourly = this.db
      .selectFrom("click_stats_hourly")
      .select(["code", "clicks"])
      .where("code", "<>", ALL_LINKS)
      .where("hour", ">=", useDaily ? boundary : hourOf(range.start))
      .where("hour", "<", range.end);
    if (!useDaily) return hourly;
    return hourly.unionAll(
      this.db
        .selectFrom("click_stats_daily")
        .select(["code", "clicks"])
        .where("code", "<>", ALL_LINKS)
        .where("day", ">=", dayOf(range.start))
        .where("day", "<", Math.min(boundary, range.end)),
    );
  }

  /** The links clicked most in the range, most clicks first (ties by code). */
  async top(range: HourRange, limit: number, boundary: HourlyBoundary): Promise<CodeCount[]> {
    if (limit === 0) return [];
    const clicks = sql<number>`sum(clicks)`;
    const top = await this.db
      .selectFrom(this.linkRows(range, boundary).as("s"))
      .select(["code", clicks.as("clicks")])
      .groupBy("code")
      .orderBy(clicks, "desc")
      .orderBy("code")
      .limit(limit)
      .execute();
    return top.map((row) => ({ code: row.code, clicks: Number(row.clicks) }));
  }

  /**
   * Clicks by tag in the range: each link's clicks count for every tag it has now (a link with two tags counts
   * in both), most first (ties by tag).
   */
  async tags(
    range: HourRange,
    limit: number,
    boundary: HourlyBoundary,
  ): Promise<{ tag: string; clicks: number; links: number }[]> {
    if (limit === 0) return [];
    const clicks = sql<number>`sum(s.clicks)`;
    const rows = await this.db
      .selectFrom(this.linkRows(range, boundary).as("s"))
      .innerJoin("link_tags", "link_tags.code", "s.code")
      .select(["link_tags.tag as tag", clicks.as("clicks"), sql<number>`count(distinct s.code)`.as("links")])
      .groupBy("link_tags.tag")
      .orderBy(clicks, "desc")
      .orderBy("link_tags.tag")
      .limit(limit)
      .execute();
    return rows.map((row) => ({ tag: row.tag, clicks: Number(row.clicks), links: Number(row.links) }));
  }

  /** How many links were clicked in the range. */
  async linksClicked(range: HourRange, boundary: HourlyBoundary): Promise<number> {
    const row = await this.db
      .selectFrom(this.linkRows(range, boundary).as("s"))
      .select(sql<number>`count(distinct code)`.as("n"))
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** Deletes one link's own counts (the all-links rows keep them: they name no link). Returns the rows deleted. */
  async eraseLink(db: Db, code: string): Promise<number> {
    const hourly = await db.deleteFrom("click_stats_hourly").where("code", "=", code).executeTakeFirst();
    const daily = await db.deleteFrom("click_stats_daily").where("code", "=", code).executeTakeFirst();
    return Number(hourly.numDeletedRows) + Number(daily.numDeletedRows);
  }

  /**
   * Deletes the rows of one table before `cutoff`, an hour (or day) at a time: each statement is bounded by
   * the links clicked in that hour, and the write lock is never held for long. Returns the rows deleted.
   */
  async deleteBefore(table: "click_stats_hourly" | "click_stats_daily", cutoff: number): Promise<number> {
    const column = table === "click_stats_hourly" ? "hour" : "day";
    let deleted = 0;
    for (;;) {
      const oldest = await this.db
        .selectFrom(table)
        .select(sql<number>`min(${sql.ref(column)})`.as("at"))
        .where(sql.ref(column), "<", cutoff)
        .executeTakeFirst();
      if (oldest?.at === null || oldest?.at === undefined) return deleted;
      const result = await this.db
        .deleteFrom(table)
        .where(sql.ref(column), "=", Number(oldest.at))
        .executeTakeFirst();
      deleted += Number(result.numDeletedRows);
    }
  }
}
