/**
 * How long the click stats are kept, and the task that deletes what is older. Hourly counts live
 * `analytics.hourly_retention_days` (default 7), daily counts `analytics.daily_retention_days` (default 365);
 * 0 keeps them for ever. Both keys apply at the next run, on every instance.
 *
 * No cross-instance lock: the click flush writes the daily counts itself (no roll-up to recompute), so the only
 * work is deleting rows past their retention — idempotent, in statements of one hour's rows each. Instances that
 * run it at the same moment only repeat a few empty queries.
 */
import type { Logger } from "pino";
import { DAY_MS, dayOf } from "../store/clicks.js";
import type { AnalyticsStore, HourlyBoundary } from "../store/analytics-store.js";

export interface RetentionSettings {
  hourlyDays(): number;
  dailyDays(): number;
}

/** Where hourly rows begin (and the daily ones take over): whole days, so no day is counted twice. */
export function hourlyBoundary(now: number, hourlyDays: number): HourlyBoundary {
  return hourlyDays === 0 ? -Infinity : dayOf(now) - hourlyDays * DAY_MS;
}

/** Runs at most this often; the first run comes a little after start, at a random moment per instance. */
const INTERVAL_MS = 10 * 60_000;

export class StatsRetention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | null = null;

  constructor(
    private readonly store: AnalyticsStore,
    private readonly settings: RetentionSettings,
    private readonly log: Logger,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Deletes the rows past their retention now; returns how many of each. */
  async run(): Promise<{ hourly: number; daily: number }> {
    const now = this.clock();
    const hourlyCutoff = hourlyBoundary(now, this.settings.hourlyDays());
    const dailyDays = this.settings.dailyDays();
    const hourly =
      hourlyCutoff === -Infinity ? 0 : await this.store.deleteBefore("click_stats_hourly", hourlyCutoff);
    const daily =
      dailyDays === 0
        ? 0
        : await this.store.deleteBefore("click_stats_daily", dayOf(now) - dailyDays * DAY_MS);
    if (hourly + daily > 0) this.log.info({ hourly, daily }, "click stats past their retention deleted");
    return { hourly, daily };
  }

  start(): void {
    const tick = (delay: number) => {
      this.timer = setTimeout(() => {
        this.running = this.run()
          .catch((err: unknown) => this.log.warn({ err }, "deleting old click stats failed; will retry"))
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
