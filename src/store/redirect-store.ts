/**
 * Everything the redirect path asks of the database, written for speed with engine-specific statements: the
 * cache-miss read, the keyset pages that build the link index, `max_clicks` claims, robots.txt,
 * and the click flushes (a `ClickSink`). The admin side's link queries are in links-store.ts.
 */
import type SQLite from "better-sqlite3";
import { type Kysely, sql } from "kysely";
import type { IndexRow, RedirectFields } from "../links/model.js";
import {
  ADD_TO_DAILY_STATS,
  ADD_TO_HOURLY_STATS,
  ALL_LINKS,
  type ClickBatch,
  type ClickSink,
  CODE_LIST_SEPARATOR,
  codesOf,
  dayOf,
  hourOf,
  INCREMENT_CLICKS,
  UnwrittenClicksError,
} from "./clicks.js";
import type { Engine } from "./db.js";
import {
  chunksOf,
  PLAIN_LINK_SQL,
  REDIRECT_COLUMNS,
  type RedirectRow,
  toRedirectFields,
} from "./link-rows.js";
import type { Database } from "./schema.js";

/**
 * Codes per transaction of a flush on PostgreSQL and MariaDB (addClicks): an admin write waits for one part's
 * row locks at most. Few enough for a part to take a few ms, many enough that the round trips stay negligible.
 */
const FLUSH_PART_CODES = 2000;

export class RedirectStore implements ClickSink {
  private incrementClicks: SQLite.Statement<[number, string]> | undefined;
  private addToHour: SQLite.Statement<[number, string, number]> | undefined;
  private addToDay: SQLite.Statement<[number, string, number]> | undefined;
  private selectOne: SQLite.Statement<[string], RedirectRow> | undefined;
  private selectIndexRows: SQLite.Statement<[string, number], IndexRow> | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly engine: Engine,
    /** The raw SQLite connection, when the engine is SQLite: misses and click flushes use prepared statements. */
    private readonly sqlite: SQLite.Database | null = null,
  ) {}

  /**
   * What a redirect needs of one link, for the redirect path's cache misses: only `REDIRECT_COLUMNS`, so a miss
   * under churn (most visits, when the links far outnumber the cache) allocates little. On SQLite it is a
   * statement prepared once and run directly: the query builder compiles and prepares every query anew, which
   * made a cold cache serve at a third of its warm speed. While a transaction is open on the shared connection
   * (the query builder holds it across awaits) the read goes through the query builder, which waits its turn:
   * read directly, it would see rows that may still be rolled back.
   */
  async lookup(code: string): Promise<RedirectFields | undefined> {
    if (!this.sqlite || this.sqlite.inTransaction) {
      const row = await this.db
        .selectFrom("links")
        .select(REDIRECT_COLUMNS)
        .where("code", "=", code)
        .executeTakeFirst();
      return row && toRedirectFields(row);
    }
    this.selectOne ??= this.sqlite.prepare(
      `SELECT ${REDIRECT_COLUMNS.map((column) => `"${column}"`).join(", ")} FROM links WHERE code = ?`,
    );
    const row = this.selectOne.get(code);
    return row && toRedirectFields(row);
  }

  /**
   * The links whose code is greater than `after`, in code order, at most `limit`: one keyset page of the link
   * index's build, as rows of code, target, expiry and whether the link is plain (decided in SQL, so the settings
   * columns never reach JavaScript). On SQLite a prepared statement whose rows are arrays: at a million links
   * this is most of the build, and objects per row cost twice as much as the query.
   */
  async indexRows(after: string, limit: number): Promise<IndexRow[]> {
    if (this.sqlite && !this.sqlite.inTransaction) {
      this.selectIndexRows ??= this.sqlite
        .prepare<[string, number], IndexRow>(
          `SELECT code, target, expires_at, ${PLAIN_LINK_SQL} FROM links WHERE code > ? ORDER BY code LIMIT ?`,
        )
        .raw(true);
      const rows = this.selectIndexRows.all(after, limit);
      for (const row of rows) row[3] = Boolean(row[3]);
      return rows;
    }
    const rows = await this.db
      .selectFrom("links")
      .select(["code", "target", "expires_at", sql<number | boolean>`${sql.raw(PLAIN_LINK_SQL)}`.as("plain")])
      .where("code", ">", after)
      .orderBy("code")
      .limit(limit)
      .execute();
    return rows.map((row) => [
      row.code,
      row.target,
      row.expires_at === null ? null : Number(row.expires_at),
      Boolean(Number(row.plain)),
    ]);
  }

  async count(): Promise<number> {
    const row = await this.db
      .selectFrom("links")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /**
   * Counts one visit of a link with `max_clicks`, if it has visits left: a single conditional update, so the
   * limit holds exactly however many instances serve the link at once. False when the limit is reached.
   */
  async claimClick(code: string, stats: boolean): Promise<boolean> {
    const claim = this.db
      .updateTable("links")
      .set({ click_count: sql`click_count + 1` })
      .where("code", "=", code)
      .where("max_clicks", "is not", null)
      .where("click_count", "<", sql<number>`max_clicks`);
    if (!stats) return Number((await claim.executeTakeFirst()).numUpdatedRows) > 0;
    // The claimed click counts in the hourly and daily stats too, in the same transaction (as a flush would).
    return this.db.transaction().execute(async (trx) => {
      const claimed = Number((await trx.executeQuery(claim.compile())).numAffectedRows ?? 0) > 0;
      if (!claimed) return false;
      const hour = hourOf(Date.now());
      for (const rowCode of [ALL_LINKS, code]) {
        for (const [table, column, at] of [
          ["click_stats_hourly", "hour", hour],
          ["click_stats_daily", "day", dayOf(hour)],
        ] as const) {
          const insert = trx.insertInto(table).values({ [column]: at, code: rowCode, clicks: 1 } as {
            hour: number;
            day: number;
            code: string;
            clicks: number;
          });
          await (
            this.engine === "mysql"
              ? insert.onDuplicateKeyUpdate({ clicks: sql`clicks + 1` })
              : insert.onConflict((oc) =>
                  oc.columns([column, "code"]).doUpdateSet({ clicks: sql`${sql.table(table)}.clicks + 1` }),
                )
          ).execute();
        }
      }
      return true;
    });
  }

  /** Codes of enabled links marked crawlable (for robots.txt), in code order. */
  async crawlableCodes(limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom("links")
      .select("code")
      .where("crawlable", "=", 1)
      .where("enabled", "=", 1)
      .orderBy("code")
      .limit(limit)
      .execute();
    return rows.map((r) => r.code);
  }

  /**
   * Adds buffered click counts. Additive (`click_count + n`), so instances flushing concurrently never lose
   * each other's clicks; rows are locked in code order, so concurrent flushes cannot deadlock.
   *
   * On PostgreSQL and MariaDB a flush commits in parts (FLUSH_PART_CODES codes each): an admin write to a link
   * in the batch waits for the part that locked its row, not for the whole flush (at 100 000 links, hundreds of
   * ms: the mixed load's p99). A part that fails ends the flush with UnwrittenClicksError, naming the codes of
   * that part and the later ones; the earlier parts are committed and are not retried.
   */
  async addClicks(batch: ClickBatch): Promise<void> {
    if (this.engine === "postgres") return this.addClicksPostgres(batch);
    // One CASE per statement cannot add to a row twice: each code once, and in code order (lock order).
    const codes = codesOf(batch);
    const sums = new Map<string, number>();
    codes.forEach((code, i) => sums.set(code, (sums.get(code) ?? 0) + batch.counts[i]!));
    const entries = [...sums].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (this.sqlite) return this.addClicksSqlite(entries, batch);
    for (let from = 0; from < entries.length; from += FLUSH_PART_CODES) {
      const part = entries.slice(from, from + FLUSH_PART_CODES);
      try {
        await this.addClicksMysql(part, batch);
      } catch (err) {
        if (from === 0) throw err;
        const unwritten = new Set(entries.slice(from).map(([code]) => code));
        throw new UnwrittenClicksError(
          (err as Error).message,
          codes.flatMap((code, i) => (unwritten.has(code) ? [i] : [])),
        );
      }
    }
  }

  /** One part of a flush on MariaDB: `entries` (each code once, in code order) in one transaction. */
  private async addClicksMysql(entries: [string, number][], batch: ClickBatch): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      for await (const chunk of chunksOf(entries)) {
        const increment = sql.join(
          chunk.map(([code, n]) => sql`when ${code} then ${n}`),
          sql` `,
        );
        await trx
          .updateTable("links")
          .set({ click_count: sql`click_count + case code ${increment} else 0 end` })
          .where(
            "code",
            "in",
            chunk.map(([code]) => code),
          )
          .execute();
      }
      if (!batch.stats) return;
      // The all-links row first, then the codes in order: concurrent flushes take the row locks in one order.
      const total = entries.reduce((sum, [, n]) => sum + n, 0);
      const rows: [string, number][] = [[ALL_LINKS, total], ...entries];
      const day = dayOf(batch.hour);
      for await (const chunk of chunksOf(rows)) {
        await trx
          .insertInto("click_stats_hourly")
          .values(chunk.map(([code, clicks]) => ({ hour: batch.hour, code, clicks })))
          .onDuplicateKeyUpdate({ clicks: sql`clicks + values(clicks)` })
          .execute();
        await trx
          .insertInto("click_stats_daily")
          .values(chunk.map(([code, clicks]) => ({ day, code, clicks })))
          .onDuplicateKeyUpdate({ clicks: sql`clicks + values(clicks)` })
          .execute();
      }
    });
  }

  /**
   * One statement per part, whatever the number of codes. A flush under load carries tens of thousands of codes:
   * sorting them here and serialising two arrays stalled the event loop for ~20 ms, so the codes go as one string
   * and the database sorts each part. A code in two parts (listed twice in the batch) is added to twice.
   */
  private async addClicksPostgres(batch: ClickBatch): Promise<void> {
    const size = batch.counts.length;
    // One part: the batch's list as it is; more: cut at the parts' bounds.
    const codes = size <= FLUSH_PART_CODES ? null : codesOf(batch);
    for (let from = 0; from < size; from += FLUSH_PART_CODES) {
      const to = Math.min(from + FLUSH_PART_CODES, size);
      try {
        await this.addClicksPostgresPart(
          codes === null ? batch.codeList : codes.slice(from, to).join(CODE_LIST_SEPARATOR),
          batch.counts.subarray(from, to).join(","),
          batch,
        );
      } catch (err) {
        if (from === 0) throw err;
        const unwritten = Array.from({ length: size - from }, (_, k) => from + k);
        throw new UnwrittenClicksError((err as Error).message, unwritten);
      }
    }
  }

  /** The materialised `locked` step takes the row locks in code order before the update. */
  private async addClicksPostgresPart(codes: string, counts: string, batch: ClickBatch): Promise<void> {
    // `group by`: a code listed twice must add both counts (an UPDATE … FROM changes a row once).
    const counted = sql`with d as materialized (
        select code, sum(n)::bigint as n from unnest(string_to_array(${codes}::text, ${CODE_LIST_SEPARATOR}::text), string_to_array(${counts}::text, ',')::bigint[]) as d(code, n) group by code
      ), locked as materialized (
        select links.code from links join d on d.code = links.code order by links.code for update of links
      ), bumped as (
        update links set click_count = links.click_count + d.n
        from d join locked on locked.code = d.code
        where links.code = d.code
      )`;
    if (!batch.stats) {
      await sql`${counted} select count(*) from d`.execute(this.db);
      return;
    }
    // The stats rows in code order (the all-links row '' first): concurrent flushes lock them in one order.
    await sql`${counted}, s as (
        select code, n from d union all select ${ALL_LINKS}::text, sum(n) from d
      ), hourly as (
        insert into click_stats_hourly (hour, code, clicks)
        select ${batch.hour}::bigint, code, n from s order by code
        on conflict (hour, code) do update set clicks = click_stats_hourly.clicks + excluded.clicks
      )
      insert into click_stats_daily (day, code, clicks)
      select ${dayOf(batch.hour)}::bigint, code, n from s order by code
      on conflict (day, code) do update set clicks = click_stats_daily.clicks + excluded.clicks`.execute(
      this.db,
    );
  }

  /**
   * SQLite runs on the event loop, so a flush must be cheap: one statement prepared once and run per code in a
   * single transaction (no query building, no re-preparing). The connection is shared with Kysely; inside one of
   * its open transactions the flush would join it, so it refuses and the buffer retries at the next flush.
   */
  private addClicksSqlite(entries: [string, number][], { hour, stats }: ClickBatch): void {
    const sqlite = this.sqlite!;
    if (sqlite.inTransaction)
      throw new Error("a transaction is open on the SQLite connection; retrying later");
    this.incrementClicks ??= sqlite.prepare(INCREMENT_CLICKS);
    this.addToHour ??= sqlite.prepare(ADD_TO_HOURLY_STATS);
    this.addToDay ??= sqlite.prepare(ADD_TO_DAILY_STATS);
    const [increment, addToHour, addToDay] = [this.incrementClicks, this.addToHour, this.addToDay];
    const day = dayOf(hour);
    sqlite.transaction(() => {
      let total = 0;
      for (const [code, n] of entries) {
        increment.run(n, code);
        if (!stats) continue;
        addToHour.run(hour, code, n);
        addToDay.run(day, code, n);
        total += n;
      }
      if (!stats) return;
      addToHour.run(hour, ALL_LINKS, total);
      addToDay.run(day, ALL_LINKS, total);
    })();
  }
}
