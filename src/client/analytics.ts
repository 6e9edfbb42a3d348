/** The client's analytics calls (`jmp.analytics`: docs/api.md#analytics), over the client's own `call`. */
import type * as Api from "../admin/schemas.js";
import { encodeCode } from "./paths.js";

/** The filters every analytics route takes (jmp): only recorded clicks with this value. */
export const ANALYTICS_FILTERS = ["code", "tag", "source", "country", "browser", "os", "device"] as const;
export type AnalyticsFilter = (typeof ANALYTICS_FILTERS)[number];

export interface AnalyticsQuery extends Partial<Record<AnalyticsFilter, string>> {
  /** RFC 3339 or YYYY-MM-DD */
  start_date?: string;
  end_date?: string;
  group_by?: "hour" | "day" | "week" | "month";
  limit?: number;
  /** IANA time zone of day/week/month buckets (default UTC) */
  tz?: string;
  /** Leave out clicks flagged as bots */
  exclude_bots?: boolean;
}

/** How the calls reach the server: JmpClient.call (the envelope's `data`, or JmpApiError). */
export type Caller = <T>(call: {
  method: string;
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
}) => Promise<T>;

export function analyticsCalls(call: Caller) {
  const get =
    <T>(path: string) =>
    (query: AnalyticsQuery = {}) =>
      call<T>({ method: "GET", path, query: { ...query } });
  const ofLink = (code: string) => `/links/${encodeCode(code)}/analytics`;
  return {
    trends: get<Api.TrendData>("/analytics/trends"),
    top: get<Api.TopLink[]>("/analytics/top"),
    tags: get<Api.TagClicks[]>("/analytics/tags"),
    referrers: get<Api.ReferrerCount[]>("/analytics/referrers"),
    geo: get<Api.GeoCount[]>("/analytics/geo"),
    devices: get<Api.DevicesData>("/analytics/devices"),
    summary: get<Api.SummaryData>("/analytics/summary"),
    /** Recorded clicks, newest first; pass `next_cursor` back as `cursor` for the next page. */
    clicks: (query: AnalyticsQuery & { cursor?: string; page_size?: number } = {}) =>
      call<Api.ClickPageData>({ method: "GET", path: "/analytics/clicks", query: { ...query } }),
    link: (code: string, query: AnalyticsQuery = {}) => get<Api.LinkAnalyticsData>(ofLink(code))(query),
    linkDevices: (code: string, query: AnalyticsQuery = {}) =>
      get<Api.DevicesData>(`${ofLink(code)}/devices`)(query),
    /** Erases a link's own analytics (scope `admin`; audited). */
    eraseLink: (code: string) =>
      call<{ code: string; deleted_rows: number; deleted_events: number }>({
        method: "DELETE",
        path: ofLink(code),
      }),
  };
}
