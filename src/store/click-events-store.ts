/**
 * The SQL of detailed analytics: the analytics worker's batched writes (events, the hourly breakdowns of all
 * links, and the bot and recorded counts of the all-links stats rows), the reads of the breakdowns and of the
 * events, and their retention. Every write is an insert or an additive upsert, so instances never overwrite each
 * other. Ranges are `[start, end)` in epoch ms; breakdown rows are whole hours, so a range is rounded out to the
 * hours it touches.
 */
import { randomBytes } from "node:crypto";
import { type ExpressionBuilder, type Kysely, type SelectQueryBuilder, sql } from "kysely";
import { ALL_LINKS, dayOf, HOUR_MS, hourOf } from "./clicks.js";
import type { Db, Engine } from "./db.js";
import type { ClickEventsTable, Database } from "./schema.js";
import type { HourRange } from "./analytics-store.js";

/** An event as the worker writes it. */
export type EventRow = Omit<ClickEventsTable, "id">;

/** The breakdowns kept per hour for all links together. */
export type Dimension = "source" | "geo" | "browser" | "os" | "device";

export interface DimRow {
  hour: number;
  dim: Dimension;
  value: string;
  bot: number;
  clicks: number;
}

/** Bots and recorded events to add to the all-links stats row of an hour. */
export interface DetailedCount {
  hour: number;
  bots: number;
  detailed: number;
}

export interface EventBatch {
  events: EventRow[];
  dims: DimRow[];
  counts: DetailedCount[];
}

/** Where the analytics worker writes its batches (this store, or SqliteEventWriter on SQLite). */
export interface EventSink {
  write(batch: EventBatch): Promise<void>;
  /** The salt of a UTC day's visitor hashes: the one stored, or a new random one stored now (first writer wins). */
  saltFor(day: number): Promise<string>;
}

/** Narrows the events read (jmp's filters on the analytics routes). */
export interface EventFilter {
  code?: string | undefined;
  tag?: string | undefined;
  source?: string | undefined;
  country?: string | undefined;
  browser?: string | undefined;
  os?: string | undefined;
  device?: string | undefined;
  excludeBots?: boolean | undefined;
}

export interface ValueCount {
  value: string;
  clicks: number;
}

export interface StoredEvent extends EventRow {
  id: number;
}

/** Rows per multi-row statement: well under every engine's limit on bound parameters (11 per event). */
const ROWS_PER_STATEMENT = 500;
/** Rows a retention statement deletes at once: the write lock is never held for long. */
const DELETE_BATCH = 10_000;
/** One link's events are read with a seek per hour up to this many hours (over a year); past it, by range. */
const MAX_HOURS_LISTED = 10_000;

type EventColumn = "source" | "country" | "browser" | "os" | "device" | "code";

export class ClickEventsStore implements EventSink {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly engine: Engine,
  ) {}

  /** One transaction: the events, then the breakdowns, then the all-links counts (one lock order everywhere). */
  async write(batch: EventBatch): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      for (let i = 0; i < batch.events.length; i += ROWS_PER_STATEMENT) {
        await trx
          .insertInto("click_events")
          .values(batch.events.slice(i, i + ROWS_PER_STATEMENT))
          .execute();
      }
      const dims = [...batch.dims].sort(compareDims);
      for (let i = 0; i < dims.length; i += ROWS_PER_STATEMENT) {
        const insert = trx.insertInto("click_dims_hourly").values(dims.slice(i, i + ROWS_PER_STATEMENT));
        await (
          this.engine === "mysql"
            ? insert.onDuplicateKeyUpdate({ clicks: sql`clicks + values(clicks)` })
            : insert.onConflict((oc) =>
                oc
                  .columns(["hour", "dim", "value", "bot"])
                  .doUpdateSet({ clicks: sql`click_dims_hourly.clicks + excluded.clicks` }),
              )
        ).execute();
      }
      for (const { hour, bots, detailed } of batch.counts) {
        for (const [table, column, at] of [
          ["click_stats_hourly", "hour", hour],
          ["click_stats_daily", "day", dayOf(hour)],
        ] as const) {
          const add = { [column]: at, code: ALL_LINKS, bots, detailed } as {
            hour: number;
            day: number;
            code: string;
            bots: number;
            detailed: number;
          };
          const insert = trx.insertInto(table).values(add);
          await (
            this.engine === "mysql"
              ? insert.onDuplicateKeyUpdate({
                  bots: sql`bots + values(bots)`,
                  detailed: sql`detailed + values(detailed)`,
                })
              : insert.onConflict((oc) =>
                  oc.columns([column, "code"]).doUpdateSet({
                    bots: sql`${sql.table(table)}.bots + excluded.bots`,
                    detailed: sql`${sql.table(table)}.detailed + excluded.detailed`,
                  }),
                )
          ).execute();
        }
      }
    });
  }

  async saltFor(day: number): Promise<string> {
    const fresh = { day, salt: randomBytes(32).toString("hex") };
    const insert = this.db.insertInto("click_salts").values(fresh);
    await (
      this.engine === "mysql" ? insert.ignore() : insert.onConflict((oc) => oc.column("day").doNothing())
    ).execute();
    const row = await this.db
      .selectFrom("click_salts")
      .select("salt")
      .where("day", "=", day)
      .executeTakeFirstOrThrow();
    return row.salt;
  }

  /** Deletes the salts of the days before `day`: their hashes can no longer be matched to an address. */
  async deleteSaltsBefore(day: number): Promise<number> {
    const result = await this.db.deleteFrom("click_salts").where("day", "<", day).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** Distinct visitor hashes among the matching clicks (analytics.unique_visitors). */
  async visitors(range: HourRange, filter: EventFilter): Promise<number> {
    const row = await this.events(range, filter)
      .select(sql<number>`count(distinct visitor)`.as("n"))
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** One breakdown's rows of the hours the range touches. */
  private dims(dim: Dimension, range: HourRange) {
    return this.db
      .selectFrom("click_dims_hourly")
      .where("dim", "=", dim)
      .where("hour", ">=", hourOf(range.start))
      .where("hour", "<", range.end);
  }

  /** One breakdown of all links in the range, most clicks first (ties by value). */
  async dimension(
    dim: Dimension,
    range: HourRange,
    limit: number,
    excludeBots: boolean,
  ): Promise<ValueCount[]> {
    if (limit === 0) return [];
    const clicks = sql<number>`sum(clicks)`;
    let query = this.dims(dim, range).select(["value", clicks.as("clicks")]);
    if (excludeBots) query = query.where("bot", "=", 0);
    const rows = await query.groupBy("value").orderBy(clicks, "desc").orderBy("value").limit(limit).execute();
    return rows.map((row) => ({ value: row.value, clicks: Number(row.clicks) }));
  }

  /** Recorded clicks in the range by the bot flag, from the device breakdown (every event has a device). */
  async dimensionTotals(range: HourRange): Promise<{ total: number; bots: number }> {
    const rows = await this.dims("device", range)
      .select(["bot", sql<number>`sum(clicks)`.as("clicks")])
      .groupBy("bot")
      .execute();
    const bots = Number(rows.find((row) => Number(row.bot) === 1)?.clicks ?? 0);
    const humans = Number(rows.find((row) => Number(row.bot) === 0)?.clicks ?? 0);
    return { total: bots + humans, bots };
  }

  private events(range: HourRange, filter: EventFilter) {
    const first = hourOf(range.start);
    let query = this.db.selectFrom("click_events");
    if (filter.code !== undefined && (range.end - first) / HOUR_MS <= MAX_HOURS_LISTED) {
      // One link: a seek per hour of the range on (hour, code), not a scan of every link's rows in it.
      const hours: number[] = [];
      for (let hour = first; hour < range.end; hour += HOUR_MS) hours.push(hour);
      query = query.where("hour", "in", hours).where("code", "=", filter.code);
    } else {
      query = query.where("hour", ">=", first).where("hour", "<", range.end);
      if (filter.code !== undefined) query = query.where("code", "=", filter.code);
    }
    query = query.where("clicked_at", ">=", range.start).where("clicked_at", "<", range.end);
    if (filter.tag !== undefined) {
      const tag = filter.tag;
      query = query.where("code", "in", (eb: ExpressionBuilder<Database, "click_events">) =>
        eb.selectFrom("link_tags").select("link_tags.code").where("link_tags.tag", "=", tag),
      );
    }
    for (const column of ["source", "country", "browser", "os", "device"] as const) {
      const value = filter[column];
      if (value !== undefined) query = query.where(column, "=", value);
    }
    if (filter.excludeBots) query = query.where("is_bot", "=", 0);
    return query;
  }

  /** Events in the range grouped by one column (nulls left out), most first (ties by value). */
  async eventsBy(
    column: EventColumn,
    range: HourRange,
    filter: EventFilter,
    limit: number,
  ): Promise<ValueCount[]> {
    if (limit === 0) return [];
    const clicks = sql<number>`count(*)`;
    const rows = await this.events(range, filter)
      .select([sql<string>`${sql.ref(column)}`.as("value"), clicks.as("clicks")])
      .where(column, "is not", null)
      .groupBy(column)
      .orderBy(clicks, "desc")
      .orderBy(column)
      .limit(limit)
      .execute();
    return rows.map((row) => ({ value: row.value, clicks: Number(row.clicks) }));
  }

  /** Events in the range by country and city (events without a country left out), most first. */
  async eventsByPlace(
    range: HourRange,
    filter: EventFilter,
    limit: number,
  ): Promise<{ country: string; city: string | null; clicks: number }[]> {
    if (limit === 0) return [];
    const clicks = sql<number>`count(*)`;
    const rows = await this.events(range, filter)
      .select(["country", "city", clicks.as("clicks")])
      .where("country", "is not", null)
      .groupBy(["country", "city"])
      .orderBy(clicks, "desc")
      .orderBy("country")
      .orderBy("city")
      .limit(limit)
      .execute();
    return rows.map((row) => ({ country: row.country!, city: row.city, clicks: Number(row.clicks) }));
  }

  /** How many events match, and how many of them are bots. */
  async eventTotals(
    range: HourRange,
    filter: EventFilter,
  ): Promise<{ total: number; bots: number; codes: number }> {
    const row = await this.events(range, filter)
      .select([
        sql<number>`count(*)`.as("total"),
        sql<number>`coalesce(sum(is_bot), 0)`.as("bots"),
        sql<number>`count(distinct code)`.as("codes"),
      ])
      .executeTakeFirst();
    return { total: Number(row?.total ?? 0), bots: Number(row?.bots ?? 0), codes: Number(row?.codes ?? 0) };
  }

  /** Matching events per hour (the trend of a filtered view). */
  async eventSeries(range: HourRange, filter: EventFilter): Promise<{ hour: number; clicks: number }[]> {
    const rows = await this.events(range, filter)
      .select(["hour", sql<number>`count(*)`.as("clicks")])
      .groupBy("hour")
      .orderBy("hour")
      .execute();
    return rows.map((row) => ({ hour: Number(row.hour), clicks: Number(row.clicks) }));
  }

  /** Matching links by events, most first (top links of a filtered view). */
  async eventsByCode(range: HourRange, filter: EventFilter, limit: number): Promise<ValueCount[]> {
    return this.eventsBy("code", range, filter, limit);
  }

  /**
   * A page of events: oldest first after `afterId` (the export's keyset), or newest first before `beforeId`
   * (the click listing's).
   */
  async page(
    range: HourRange,
    filter: EventFilter,
    cursor: { afterId: number } | { beforeId: number | null },
    limit: number,
  ): Promise<StoredEvent[]> {
    let query: SelectQueryBuilder<Database, "click_events", StoredEvent> = this.events(
      range,
      filter,
    ).selectAll();
    if ("afterId" in cursor) query = query.where("id", ">", cursor.afterId).orderBy("id");
    else {
      if (cursor.beforeId !== null) query = query.where("id", "<", cursor.beforeId);
      query = query.orderBy("id", "desc");
    }
    const rows = await query.limit(limit).execute();
    return rows.map((row) => ({
      ...row,
      id: Number(row.id),
      clicked_at: Number(row.clicked_at),
      is_bot: Number(row.is_bot),
    }));
  }

  /**
   * Deletes events of the hours before the one `cutoff` is in, in bounded statements (an hour's events at a time,
   * at most DELETE_BATCH per statement). Returns how many.
   */
  async deleteEventsBefore(cutoff: number): Promise<number> {
    let deleted = 0;
    for (;;) {
      const oldest = await this.db
        .selectFrom("click_events")
        .select(["hour", "id"])
        .where("hour", "<", hourOf(cutoff))
        .orderBy("hour")
        .limit(1)
        .executeTakeFirst();
      if (oldest === undefined) return deleted;
      const last = await this.db
        .selectFrom("click_events")
        .select("id")
        .where("hour", "=", Number(oldest.hour))
        .orderBy("id")
        .offset(DELETE_BATCH - 1)
        .limit(1)
        .executeTakeFirst();
      const result = await this.db
        .deleteFrom("click_events")
        .where("hour", "=", Number(oldest.hour))
        .$if(last !== undefined, (q) => q.where("id", "<=", Number(last!.id)))
        .executeTakeFirst();
      deleted += Number(result.numDeletedRows);
    }
  }

  /** How many events are stored. */
  async countEvents(): Promise<number> {
    const row = await this.db
      .selectFrom("click_events")
      .select(sql<number>`count(*)`.as("n"))
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** Deletes the oldest events until at most `keep` are left (ids grow with time). Returns how many. */
  async deleteOldestBeyond(keep: number): Promise<number> {
    const boundary = await this.db
      .selectFrom("click_events")
      .select("id")
      .orderBy("id", "desc")
      .offset(keep)
      .limit(1)
      .executeTakeFirst();
    if (boundary === undefined) return 0;
    let deleted = 0;
    for (;;) {
      const oldest = await this.db
        .selectFrom("click_events")
        .select(sql<number>`min(id)`.as("id"))
        .executeTakeFirst();
      const from = Number(oldest?.id ?? boundary.id);
      const upTo = Math.min(Number(boundary.id), from + DELETE_BATCH - 1);
      const result = await this.db.deleteFrom("click_events").where("id", "<=", upTo).executeTakeFirst();
      deleted += Number(result.numDeletedRows);
      if (upTo >= Number(boundary.id)) return deleted;
    }
  }

  /** Deletes breakdown rows of the hours before `cutoff`, an hour at a time. Returns how many. */
  async deleteDimsBefore(cutoff: number): Promise<number> {
    let deleted = 0;
    for (;;) {
      const oldest = await this.db
        .selectFrom("click_dims_hourly")
        .select(sql<number>`min(hour)`.as("at"))
        .where("hour", "<", cutoff)
        .executeTakeFirst();
      if (oldest?.at === null || oldest?.at === undefined) return deleted;
      const result = await this.db
        .deleteFrom("click_dims_hourly")
        .where("hour", "=", Number(oldest.at))
        .executeTakeFirst();
      deleted += Number(result.numDeletedRows);
    }
  }

  /** Deletes one link's events (erasure). Returns how many. */
  async eraseLink(db: Db, code: string): Promise<number> {
    const result = await db.deleteFrom("click_events").where("code", "=", code).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

function compareDims(a: DimRow, b: DimRow): number {
  return (
    a.hour - b.hour ||
    (a.dim < b.dim ? -1 : a.dim > b.dim ? 1 : 0) ||
    (a.value < b.value ? -1 : a.value > b.value ? 1 : 0) ||
    a.bot - b.bot
  );
}
