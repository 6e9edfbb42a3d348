/**
 * The analytics API's answers (Shortlinker's contract: docs/api.md#analytics, docs/analytics.md). Trends, top
 * links and per-link totals come from the exact click counts (hourly within `analytics.hourly_retention_days`,
 * daily before), which the click flush keeps whatever `analytics.enable_detailed_logging` says (Shortlinker
 * answered them from sampled detailed logs, empty by default). The breakdowns — sources, countries, devices —
 * come from detailed logging: for all links from its hourly breakdowns, for one link or with a filter from the
 * recorded events themselves, as do the CSV export and the click listing.
 */
import { ALL_LINKS } from "../store/clicks.js";
import type { AnalyticsStore, CodeCount, HourCount } from "../store/analytics-store.js";
import type { ClickEventsStore, EventFilter, StoredEvent, ValueCount } from "../store/click-events-store.js";
import { badRequest } from "../errors.js";
import { type EventRecord, eventRecord } from "./event-record.js";
import { hourlyBoundary, type RetentionSettings } from "./retention.js";
import { zoneOf } from "./zone.js";
import { GROUP_BY, type GroupBy, parseRange, type TimeRange, type Trend, trendOf } from "./range.js";

/** jmp's filters (on every analytics route): they select recorded events. */
export const FILTERS = ["code", "tag", "source", "country", "browser", "os", "device"] as const;
export type FilterName = (typeof FILTERS)[number];

export interface AnalyticsQuery extends Partial<Record<FilterName, string>> {
  start_date?: string | undefined;
  end_date?: string | undefined;
  group_by?: GroupBy | undefined;
  limit?: number | undefined;
  /** IANA time zone of the day, week and month buckets and of date-only bounds (jmp; default UTC). */
  tz?: string | undefined;
  /** Leave out clicks flagged as bots (jmp). */
  exclude_bots?: boolean | undefined;
}

/**
 * The query of a route without a schema of its own (the per-link analytics of a code with a `/`, reached through
 * `/links/*`): the same rules as AnalyticsQuerySchema, with the same 400s.
 */
export function analyticsQueryOf(raw: Record<string, unknown>): AnalyticsQuery {
  const text = (name: string, max = 64) => {
    const value = raw[name];
    if (value === undefined) return undefined;
    if (typeof value !== "string" || value.length > max)
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
  const excludeBots = text("exclude_bots");
  if (excludeBots !== undefined && excludeBots !== "true" && excludeBots !== "false") {
    throw badRequest("querystring/exclude_bots must be true or false");
  }
  const query: AnalyticsQuery = {
    start_date: text("start_date"),
    end_date: text("end_date"),
    group_by: groupBy as GroupBy | undefined,
    limit: limit === undefined ? undefined : Number(limit),
    tz: text("tz"),
    exclude_bots: excludeBots === undefined ? undefined : excludeBots === "true",
  };
  for (const name of FILTERS) query[name] = text(name, 255);
  return query;
}

/** Shortlinker's caps: `limit` defaults and maxima per route. */
const LIMITS = {
  top: { default: 10, max: 100 },
  tags: { default: 10, max: 100 },
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

/** Totals of a range (the summary's cards). */
export interface PeriodTotals {
  start: string;
  end: string;
  clicks: number;
  bot_clicks: number;
  detailed_clicks: number;
  /** Distinct daily visitor hashes among the recorded clicks; null unless analytics.unique_visitors is on. */
  visitors: number | null;
  links_clicked: number;
}

/** The summary of a range and of the range of the same length before it (jmp; the dashboard's cards). */
export interface Summary extends PeriodTotals {
  previous: PeriodTotals;
  /** Change of `clicks` against the previous range, in percent; null when the previous range had none. */
  change_percentage: number | null;
}

/** One recorded click, as the click listing answers it. */
export interface ClickRecord extends EventRecord {
  id: number;
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

/** The keys the answers depend on: retention (which table a day comes from) and whether visitors are counted. */
export interface QuerySettings extends RetentionSettings {
  /** analytics.unique_visitors: the summary counts visitors only while it is on (else `visitors` is null). */
  uniqueVisitors(): boolean;
}

/** Events per page of the export (a keyset on the id, as Shortlinker's). */
const EXPORT_BATCH = 10_000;
/** The click listing's page size: default and maximum. */
export const CLICK_PAGE = { default: 50, max: 1000 } as const;

/** `clicked_at` in the export: `YYYY-MM-DDTHH:MM:SS[.mmm]+00:00` (Shortlinker's chrono format). */
function exportTime(time: number): string {
  const iso = new Date(time).toISOString();
  return `${time % 1000 === 0 ? iso.slice(0, 19) : iso.slice(0, 23)}+00:00`;
}

/**
 * One CSV cell: quoted when it holds a separator, quote or line break. Text a visitor chose (a Referer, a
 * `utm_source`) that a spreadsheet would run as a formula (starting `= + - @`, tab or CR) gets a leading `'`.
 */
export function csvCell(value: string | null): string {
  if (value === null) return "";
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

function exportLine(event: StoredEvent): string {
  return `${[
    csvCell(event.code),
    exportTime(event.clicked_at),
    csvCell(event.referrer),
    csvCell(event.source),
    csvCell(event.ip),
    csvCell(event.country),
    csvCell(event.city),
  ].join(",")}\n`;
}

const percentOf = (count: number, total: number) => (total === 0 ? 0 : (count / total) * 100);

/** Shortlinker's lists: each percentage of the sum of the rows returned. */
function named(rows: ValueCount[]): NamedCount[] {
  const total = rows.reduce((sum, row) => sum + row.clicks, 0);
  return rows.map((row) => ({
    name: row.value,
    count: row.clicks,
    percentage: percentOf(row.clicks, total),
  }));
}

function referrersOf(rows: ValueCount[], total: number): Referrer[] {
  return rows.map((row) => ({
    referrer: row.value,
    count: row.clicks,
    percentage: percentOf(row.clicks, total),
  }));
}

const sum = (rows: readonly { clicks: number }[]) => rows.reduce((total, row) => total + row.clicks, 0);

export class AnalyticsQueries {
  constructor(
    private readonly store: AnalyticsStore,
    private readonly events: ClickEventsStore,
    private readonly settings: QuerySettings,
    private readonly clock: () => number = Date.now,
  ) {}

  private boundary(): number {
    return hourlyBoundary(this.clock(), this.settings.hourlyDays());
  }

  /** Parses and checks the range (400/6002 on every route, as on Shortlinker's `group_by`). */
  range(query: AnalyticsQuery): TimeRange {
    return parseRange(query.start_date, query.end_date, this.clock(), zoneOf(query.tz));
  }

  /** The request's filters, and whether any selects events (so the answer must come from them). */
  private filterOf(query: AnalyticsQuery, code?: string): { filter: EventFilter; filtered: boolean } {
    const filter: EventFilter = { excludeBots: query.exclude_bots === true };
    let filtered = false;
    for (const name of FILTERS) {
      const value = query[name];
      if (value === undefined) continue;
      filter[name] = value;
      filtered = true;
    }
    if (code !== undefined) filter.code = code;
    return { filter, filtered };
  }

  /** All links' counts per hour; with exclude_bots, less the clicks recorded as bots. */
  private async allLinks(range: TimeRange, excludeBots: boolean): Promise<HourCount[]> {
    const series = await this.store.series(ALL_LINKS, range, this.boundary());
    return excludeBots
      ? series.map((row) => ({ ...row, clicks: Math.max(0, row.clicks - row.bots) }))
      : series;
  }

  async trends(query: AnalyticsQuery): Promise<Trend> {
    const range = this.range(query);
    const { filter, filtered } = this.filterOf(query);
    const series = filtered
      ? await this.events.eventSeries(range, filter)
      : await this.allLinks(range, filter.excludeBots === true);
    return trendOf(range, query.group_by ?? "day", series, zoneOf(query.tz));
  }

  async top(query: AnalyticsQuery): Promise<CodeCount[]> {
    const range = this.range(query);
    const limit = cappedLimit("top", query.limit);
    const { filter, filtered } = this.filterOf(query);
    if (!filtered && !filter.excludeBots) return this.store.top(range, limit, this.boundary());
    const rows = await this.events.eventsByCode(range, filter, limit);
    return rows.map((row) => ({ code: row.value, clicks: row.clicks }));
  }

  /** Clicks by tag (jmp): exact counts, each link's clicks under every tag it has now. */
  async tags(query: AnalyticsQuery): Promise<{ tag: string; clicks: number; links: number }[]> {
    return this.store.tags(this.range(query), cappedLimit("tags", query.limit), this.boundary());
  }

  async referrers(query: AnalyticsQuery): Promise<Referrer[]> {
    const range = this.range(query);
    const limit = cappedLimit("referrers", query.limit);
    const { filter, filtered } = this.filterOf(query);
    const rows = filtered
      ? await this.events.eventsBy("source", range, filter, limit)
      : await this.events.dimension("source", range, limit, filter.excludeBots === true);
    return referrersOf(rows, sum(rows));
  }

  async geo(query: AnalyticsQuery): Promise<GeoCount[]> {
    const range = this.range(query);
    const limit = cappedLimit("geo", query.limit);
    const { filter, filtered } = this.filterOf(query);
    if (filtered) {
      const places = await this.events.eventsByPlace(range, filter, limit);
      return places.map((place) => ({ country: place.country, city: place.city, count: place.clicks }));
    }
    const rows = await this.events.dimension("geo", range, limit, filter.excludeBots === true);
    return rows.map((row) => {
      const slash = row.value.indexOf("/");
      return slash === -1
        ? { country: row.value, city: null, count: row.clicks }
        : { country: row.value.slice(0, slash), city: row.value.slice(slash + 1), count: row.clicks };
    });
  }

  async devices(query: AnalyticsQuery, code?: string): Promise<Devices> {
    const range = this.range(query);
    const limit = cappedLimit("devices", query.limit);
    const { filter, filtered } = this.filterOf(query, code);
    const excludeBots = filter.excludeBots === true;
    const fromEvents = filtered || code !== undefined;
    const list = (dim: "browser" | "os" | "device") =>
      fromEvents
        ? this.events.eventsBy(dim, range, filter, limit)
        : this.events.dimension(dim, range, limit, excludeBots);
    const [browsers, systems, devices] = [await list("browser"), await list("os"), await list("device")];
    const totals = fromEvents
      ? await this.events.eventTotals(range, filter)
      : await this.events.dimensionTotals(range);
    const bots = excludeBots ? 0 : totals.bots;
    const total = excludeBots ? totals.total - totals.bots : totals.total;
    return {
      browsers: named(browsers),
      operating_systems: named(systems),
      devices: named(devices),
      bot_percentage: percentOf(bots, total),
      total_with_ua: total,
    };
  }

  /** `analytics_<start>_<end>.csv`, from the resolved range (its last day, for an end that is exclusive). */
  exportFilename(query: AnalyticsQuery): string {
    const { start, end } = this.range(query);
    const day = (time: number) => new Date(time).toISOString().slice(0, 10).replaceAll("-", "");
    return `analytics_${day(start)}_${day(end - 1)}.csv`;
  }

  /** The CSV export: the header, then the recorded events of the range, oldest first, a batch at a time. */
  async *exportCsv(query: AnalyticsQuery): AsyncGenerator<string> {
    const range = this.range(query);
    const { filter } = this.filterOf(query);
    yield EXPORT_HEADER;
    for (let afterId = 0; ;) {
      const events = await this.events.page(range, filter, { afterId }, EXPORT_BATCH);
      if (events.length === 0) return;
      yield events.map(exportLine).join("");
      if (events.length < EXPORT_BATCH) return;
      afterId = events.at(-1)!.id;
    }
  }

  /** Recorded clicks, newest first, a page at a time (`cursor`: the `next_cursor` of the previous page). */
  async clicks(
    query: AnalyticsQuery & { cursor?: string | undefined; page_size?: number | undefined },
  ): Promise<{ clicks: ClickRecord[]; next_cursor: string | null }> {
    const range = this.range(query);
    const { filter } = this.filterOf(query);
    if (query.cursor !== undefined && !/^\d{1,15}$/.test(query.cursor)) {
      throw badRequest("querystring/cursor must be the next_cursor of a previous page");
    }
    const size = Math.min(query.page_size ?? CLICK_PAGE.default, CLICK_PAGE.max);
    if (size === 0) return { clicks: [], next_cursor: null };
    const beforeId = query.cursor === undefined ? null : Number(query.cursor);
    const events = await this.events.page(range, filter, { beforeId }, size);
    return {
      clicks: events.map((event) => ({ id: event.id, ...eventRecord(event) })),
      next_cursor: events.length === size ? String(events.at(-1)!.id) : null,
    };
  }

  async summary(query: AnalyticsQuery): Promise<Summary> {
    const range = this.range(query);
    const previous = { start: range.start - (range.end - range.start), end: range.start };
    const excludeBots = query.exclude_bots === true;
    const { filter, filtered } = this.filterOf(query);
    const totals = async (r: TimeRange): Promise<PeriodTotals> => {
      if (filtered) return this.filteredTotals(r, filter);
      const series = await this.allLinks(r, excludeBots);
      return {
        start: new Date(r.start).toISOString(),
        end: new Date(r.end).toISOString(),
        clicks: sum(series),
        bot_clicks: excludeBots ? 0 : series.reduce((total, row) => total + row.bots, 0),
        detailed_clicks: series.reduce(
          (total, row) => total + row.detailed - (excludeBots ? row.bots : 0),
          0,
        ),
        visitors: this.settings.uniqueVisitors() ? await this.events.visitors(r, { excludeBots }) : null,
        links_clicked: await this.store.linksClicked(r, this.boundary()),
      };
    };
    const [now, before] = [await totals(range), await totals(previous)];
    const change = before.clicks === 0 ? null : ((now.clicks - before.clicks) / before.clicks) * 100;
    return { ...now, previous: before, change_percentage: change };
  }

  /**
   * A filtered period's totals, from its recorded events — except the clicks of one link (only `code` given),
   * which are its exact counts, as its trend is.
   */
  private async filteredTotals(r: TimeRange, filter: EventFilter): Promise<PeriodTotals> {
    const excludeBots = filter.excludeBots === true;
    const recorded = await this.events.eventTotals(r, { ...filter, excludeBots: false });
    const oneLink =
      filter.code !== undefined && FILTERS.every((name) => name === "code" || filter[name] === undefined);
    const counted = oneLink ? sum(await this.store.series(filter.code!, r, this.boundary())) : recorded.total;
    const clicks = Math.max(0, counted - (excludeBots ? recorded.bots : 0));
    return {
      start: new Date(r.start).toISOString(),
      end: new Date(r.end).toISOString(),
      clicks,
      bot_clicks: excludeBots ? 0 : recorded.bots,
      detailed_clicks: recorded.total - (excludeBots ? recorded.bots : 0),
      visitors: this.settings.uniqueVisitors() ? await this.events.visitors(r, filter) : null,
      links_clicked: oneLink ? (clicks > 0 ? 1 : 0) : recorded.codes,
    };
  }

  /**
   * One link's numbers; an unknown code answers zeros (a deleted link's history stays readable). The total and
   * trend are the exact counts, unless bots are excluded or a filter is given (then: its recorded events);
   * sources and places come from its recorded events, percentages of the recorded total.
   */
  async link(code: string, query: AnalyticsQuery): Promise<LinkAnalytics> {
    const range = this.range(query);
    const zone = zoneOf(query.tz);
    const { filter, filtered } = this.filterOf(query, code);
    const fromEvents = filtered || filter.excludeBots === true;
    const series = fromEvents
      ? await this.events.eventSeries(range, filter)
      : await this.store.series(code, range, this.boundary());
    const recorded = await this.events.eventTotals(range, filter);
    const detailed = filter.excludeBots ? recorded.total - recorded.bots : recorded.total;
    const sources = await this.events.eventsBy("source", range, filter, 10);
    const places = await this.events.eventsByPlace(range, filter, 10);
    return {
      code,
      total_clicks: sum(series),
      trend: trendOf(range, "day", series, zone),
      top_referrers: referrersOf(sources, detailed),
      geo_distribution: places.map((place) => ({
        country: place.country,
        city: place.city,
        count: place.clicks,
      })),
    };
  }

  linkDevices(code: string, query: AnalyticsQuery): Promise<Devices> {
    return this.devices(query, code);
  }
}
