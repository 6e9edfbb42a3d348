/**
 * The analytics API's answers (Shortlinker's contract: docs/api.md#analytics). Trends, top links and per-link
 * totals come from the exact click counts (hourly within `analytics.hourly_retention_days`, daily before), which the click flush keeps whatever
 * `analytics.enable_detailed_logging` says (Shortlinker answered them from sampled detailed logs, empty by
 * default). The breakdowns that need a record of each click — referrers, countries, devices, the CSV export —
 * come from detailed logging, which is not built yet: they answer what Shortlinker answers with it off (empty
 * lists, an export with its header only).
 */
import { ALL_LINKS } from "../store/clicks.js";
import type { AnalyticsStore, CodeCount } from "../store/analytics-store.js";
import { badRequest } from "../errors.js";
import { hourlyBoundary, type RetentionSettings } from "./retention.js";
import { zoneOf } from "./zone.js";
import { GROUP_BY, type GroupBy, parseRange, type TimeRange, type Trend, trendOf } from "./range.js";

export interface AnalyticsQuery {
  start_date?: string | undefined;
  end_date?: string | undefined;
  group_by?: GroupBy | undefined;
  limit?: number | undefined;
  /** IANA time zone of the day, week and month buckets and of date-only bounds (jmp; default UTC). */
  tz?: string | undefined;
}

/**
 * The query of a route without a schema of its own (the per-link analytics of a code with a `/`, reached through
 * `/links/*`): the same rules as AnalyticsQuerySchema, with the same 400s.
 */
export function analyticsQueryOf(raw: Record<string, unknown>): AnalyticsQuery {
  const text = (name: string) => {
    const value = raw[name];
    if (value === undefined) return undefined;
    if (typeof value !== "string" || value.length > 64)
      throw badRequest(`querystring/${name} must be a short string`);
    return value;
  };
  const groupBy = text("group_by");
  if (groupBy !== undefined && !(GROUP_BY as readonly string[]).includes(groupBy)) {
    throw badRequest(`querystring/group_by must be one of ${GROUP_BY.join(", ")}`);
  }
  const limit = text("limit");
  if (limit !== undefined && !/^\d{1,9}$/.test(limit)) {
    throw badRequest("querystring/limit must be a non-negative integer");
  }
  return {
    start_date: text("start_date"),
    end_date: text("end_date"),
    group_by: groupBy as GroupBy | undefined,
    limit: limit === undefined ? undefined : Number(limit),
    tz: text("tz"),
  };
}

/** Shortlinker's caps: `limit` defaults and maxima per route. */
const LIMITS = {
  top: { default: 10, max: 100 },
  referrers: { default: 10, max: 100 },
  geo: { default: 20, max: 100 },
  devices: { default: 10, max: 20 },
} as const;

export interface NamedCount {
  name: string;
  count: number;
  percentage: number;
}

export interface Devices {
  browsers: NamedCount[];
  operating_systems: NamedCount[];
  devices: NamedCount[];
  bot_percentage: number;
  total_with_ua: number;
}

export interface Referrer {
  referrer: string;
  count: number;
  percentage: number;
}

export interface GeoCount {
  country: string;
  city: string | null;
  count: number;
}

/** The summary of a range and of the range of the same length before it (jmp; the dashboard's cards). */
export interface Summary {
  start: string;
  end: string;
  clicks: number;
  links_clicked: number;
  previous: { start: string; end: string; clicks: number; links_clicked: number };
  /** Change of `clicks` against the previous range, in percent; null when the previous range had none. */
  change_percentage: number | null;
}

export interface LinkAnalytics {
  code: string;
  total_clicks: number;
  trend: Trend;
  top_referrers: Referrer[];
  geo_distribution: GeoCount[];
}

/** The columns of the CSV export (Shortlinker's). */
export const EXPORT_HEADER = "short_code,clicked_at,referrer,source,ip_address,country,city\n";

export function cappedLimit(route: keyof typeof LIMITS, limit: number | undefined): number {
  const caps = LIMITS[route];
  return Math.min(limit ?? caps.default, caps.max);
}

export class AnalyticsQueries {
  constructor(
    private readonly store: AnalyticsStore,
    private readonly retention: RetentionSettings,
    private readonly clock: () => number = Date.now,
  ) {}

  private boundary(): number {
    return hourlyBoundary(this.clock(), this.retention.hourlyDays());
  }

  /** Parses and checks the range (400/6002 on every route, as on Shortlinker's `group_by`). */
  range(query: AnalyticsQuery): TimeRange {
    return parseRange(query.start_date, query.end_date, this.clock(), zoneOf(query.tz));
  }

  async trends(query: AnalyticsQuery): Promise<Trend> {
    const range = this.range(query);
    const series = await this.store.series(ALL_LINKS, range, this.boundary());
    return trendOf(range, query.group_by ?? "day", series, zoneOf(query.tz));
  }

  async top(query: AnalyticsQuery): Promise<CodeCount[]> {
    return this.store.top(this.range(query), cappedLimit("top", query.limit), this.boundary());
  }

  referrers(query: AnalyticsQuery): Referrer[] {
    this.range(query);
    return [];
  }

  geo(query: AnalyticsQuery): GeoCount[] {
    this.range(query);
    return [];
  }

  devices(query: AnalyticsQuery): Devices {
    this.range(query);
    return { browsers: [], operating_systems: [], devices: [], bot_percentage: 0, total_with_ua: 0 };
  }

  /** `analytics_<start>_<end>.csv`, from the resolved range (its last day, for an end that is exclusive). */
  exportFilename(query: AnalyticsQuery): string {
    const { start, end } = this.range(query);
    const day = (time: number) => new Date(time).toISOString().slice(0, 10).replaceAll("-", "");
    return `analytics_${day(start)}_${day(end - 1)}.csv`;
  }

  async summary(query: AnalyticsQuery): Promise<Summary> {
    const range = this.range(query);
    const previous = { start: range.start - (range.end - range.start), end: range.start };
    const boundary = this.boundary();
    const totals = async (r: TimeRange) => ({
      start: new Date(r.start).toISOString(),
      end: new Date(r.end).toISOString(),
      clicks: (await this.store.series(ALL_LINKS, r, boundary)).reduce((sum, row) => sum + row.clicks, 0),
      links_clicked: await this.store.linksClicked(r, boundary),
    });
    const [now, before] = [await totals(range), await totals(previous)];
    const change = before.clicks === 0 ? null : ((now.clicks - before.clicks) / before.clicks) * 100;
    return { ...now, previous: before, change_percentage: change };
  }

  /** One link's numbers; an unknown code answers zeros (a deleted link's history stays readable). */
  async link(code: string, query: AnalyticsQuery): Promise<LinkAnalytics> {
    const range = this.range(query);
    const hourly = await this.store.series(code, range, this.boundary());
    return {
      code,
      total_clicks: hourly.reduce((sum, row) => sum + row.clicks, 0),
      trend: trendOf(range, "day", hourly, zoneOf(query.tz)),
      top_referrers: [],
      geo_distribution: [],
    };
  }

  linkDevices(_code: string, query: AnalyticsQuery): Devices {
    return this.devices(query);
  }
}
