/**
 * How long analytics data is kept, and the task that deletes what is older (docs/analytics.md#retention):
 * - hourly counts `analytics.hourly_retention_days` (default 7), daily counts `analytics.daily_retention_days`
 *   (365), the hourly breakdowns of detailed analytics as long as the daily counts;
 * - detailed events `analytics.log_retention_days` (30), and at most `analytics.max_log_rows` of them: past it,
 *   `cleanup` deletes the oldest, `stop` pauses recording on this instance until they are below it again.
 * 0 keeps for ever (no limit). Every key is read on each run, so changes apply at the next run, on every instance.
 *
 * No cross-instance lock: nothing is recomputed (the click flush writes the daily counts itself, the worker adds
 * to the breakdowns), so the work is deleting rows past a cutoff — idempotent, in bounded statements. Instances
 * that run it at the same moment only repeat a few cheap queries.
 */
import type { Logger } from "pino";
import { DAY_MS, dayOf } from "../store/clicks.js";
import type { AnalyticsStore, HourlyBoundary } from "../store/analytics-store.js";
import type { ClickEventsStore } from "../store/click-events-store.js";

export interface RetentionSettings {
  hourlyDays(): number;
  dailyDays(): number;
}

export interface EventRetentionSettings extends RetentionSettings {
  logDays(): number;
  maxLogRows(): number;
  maxRowsAction(): "cleanup" | "stop";
}

/** Where hourly rows begin (and the daily ones take over): whole days, so no day is counted twice. */
export function hourlyBoundary(now: number, hourlyDays: number): HourlyBoundary {
  return hourlyDays === 0 ? -Infinity : dayOf(now) - hourlyDays * DAY_MS;
}

/** Runs at most this often; the first run comes a little after start, at a random moment per instance. */
const INTERVAL_MS = 10 * 60_000;

export interface RetentionRun {
  hourly: number;
  daily: number;
  dims: number;
  events: number;
  /** Whether detailed recording is paused (max_log_rows reached with `stop`). */
  full: boolean;
}

export class StatsRetention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | null = null;

  constructor(
    private readonly store: AnalyticsStore,
    private readonly events: ClickEventsStore,
    private readonly settings: EventRetentionSettings,
    /** Told after each run whether recording must pause (analytics.max_rows_action = stop). */
    private readonly onFull: (full: boolean) => void,
    private readonly log: Logger,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Deletes the rows past their retention now; returns how many of each. */
  async run(): Promise<RetentionRun> {
    const now = this.clock();
    const { settings } = this;
    const hourlyCutoff = hourlyBoundary(now, settings.hourlyDays());
    const dailyDays = settings.dailyDays();
    const dailyCutoff = dayOf(now) - dailyDays * DAY_MS;
    const logDays = settings.logDays();
    const hourly =
      hourlyCutoff === -Infinity ? 0 : await this.store.deleteBefore("click_stats_hourly", hourlyCutoff);
    const daily = dailyDays === 0 ? 0 : await this.store.deleteBefore("click_stats_daily", dailyCutoff);
    const dims = dailyDays === 0 ? 0 : await this.events.deleteDimsBefore(dailyCutoff);
    let events = logDays === 0 ? 0 : await this.events.deleteEventsBefore(now - logDays * DAY_MS);
    // Visitor salts live today and yesterday only: older hashes can no longer be matched to an address.
    await this.events.deleteSaltsBefore(dayOf(now) - DAY_MS);
    let full = false;
    const maxRows = settings.maxLogRows();
    if (maxRows > 0) {
      if (settings.maxRowsAction() === "cleanup") events += await this.events.deleteOldestBeyond(maxRows);
      else full = (await this.events.countEvents()) >= maxRows;
    }
    this.onFull(full);
    if (hourly + daily + dims + events > 0) {
      this.log.info({ hourly, daily, dims, events }, "analytics data past its retention deleted");
    }
    return { hourly, daily, dims, events, full };
  }

  start(): void {
    const tick = (delay: number) => {
      this.timer = setTimeout(() => {
        this.running = this.run()
          .catch((err: unknown) => this.log.warn({ err }, "deleting old analytics data failed; will retry"))
          .finally(() => {
            this.running = null;
            tick(INTERVAL_MS);
          });
      }, delay);
      this.timer.unref();
    };
    tick(30_000 + Math.random() * 60_000);
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
