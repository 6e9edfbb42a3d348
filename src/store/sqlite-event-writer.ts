/**
 * The analytics worker's writes on SQLite: statements prepared once and run per row in one transaction. Under a
 * saturated redirect load the worker writes ~45 000 events a second; building each multi-row INSERT through the
 * query builder cost ~5 µs an event, a prepared single-row INSERT ~3 µs (its index included). The other engines
 * take the query builder's multi-row statements (click-events-store.ts), where the round trip dominates.
 */
import { randomBytes } from "node:crypto";
import SQLite from "better-sqlite3";
import { ALL_LINKS, dayOf } from "./clicks.js";
import type { EventBatch, EventSink } from "./click-events-store.js";

/** One event; its parameters in the order of EVENT_COLUMNS (the bench's bulk load uses it too). */
export const EVENT_COLUMNS = [
  "code",
  "clicked_at",
  "hour",
  "referrer",
  "source",
  "browser",
  "os",
  "device",
  "is_bot",
  "country",
  "city",
  "ip",
  "visitor",
] as const;
export const INSERT_EVENT =
  `INSERT INTO click_events (${EVENT_COLUMNS.join(", ")}) ` +
  `VALUES (${EVENT_COLUMNS.map(() => "?").join(", ")})`;
const ADD_SALT = "INSERT INTO click_salts (day, salt) VALUES (?, ?) ON CONFLICT (day) DO NOTHING";
const READ_SALT = "SELECT salt FROM click_salts WHERE day = ?";
const ADD_TO_DIMS =
  "INSERT INTO click_dims_hourly (hour, dim, value, bot, clicks) VALUES (?, ?, ?, ?, ?) " +
  "ON CONFLICT (hour, dim, value, bot) DO UPDATE SET clicks = clicks + excluded.clicks";
const ADD_DETAILED_HOURLY =
  "INSERT INTO click_stats_hourly (hour, code, bots, detailed) VALUES (?, ?, ?, ?) " +
  "ON CONFLICT (hour, code) DO UPDATE SET bots = bots + excluded.bots, detailed = detailed + excluded.detailed";
const ADD_DETAILED_DAILY =
  "INSERT INTO click_stats_daily (day, code, bots, detailed) VALUES (?, ?, ?, ?) " +
  "ON CONFLICT (day, code) DO UPDATE SET bots = bots + excluded.bots, detailed = detailed + excluded.detailed";

export class SqliteEventWriter implements EventSink {
  private readonly db: SQLite.Database;
  private readonly apply: (batch: EventBatch) => void;

  constructor(location: string) {
    this.db = new SQLite(location);
    this.db.pragma("busy_timeout = 5000");
    this.db.pragma("synchronous = NORMAL");
    // The index pages a write touches stay cached between writes (64 MB; SQLite's default is 2 MB).
    this.db.pragma("cache_size = -65536");
    const insert = this.db.prepare(INSERT_EVENT);
    const params = new Array<unknown>(EVENT_COLUMNS.length); // reused: no array per event
    const addToDims = this.db.prepare(ADD_TO_DIMS);
    const addHourly = this.db.prepare(ADD_DETAILED_HOURLY);
    const addDaily = this.db.prepare(ADD_DETAILED_DAILY);
    this.apply = this.db.transaction(({ events, dims, counts }: EventBatch) => {
      for (const e of events) {
        for (let i = 0; i < EVENT_COLUMNS.length; i++) params[i] = e[EVENT_COLUMNS[i]!];
        insert.run(params);
      }
      for (const d of dims) addToDims.run(d.hour, d.dim, d.value, d.bot, d.clicks);
      for (const c of counts) {
        addHourly.run(c.hour, ALL_LINKS, c.bots, c.detailed);
        addDaily.run(dayOf(c.hour), ALL_LINKS, c.bots, c.detailed);
      }
    });
  }

  saltFor(day: number): Promise<string> {
    try {
      this.db.prepare(ADD_SALT).run(day, randomBytes(32).toString("hex"));
      return Promise.resolve((this.db.prepare(READ_SALT).get(day) as { salt: string }).salt);
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  write(batch: EventBatch): Promise<void> {
    try {
      this.apply(batch);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  close(): Promise<void> {
    this.db.close();
    return Promise.resolve();
  }
}
