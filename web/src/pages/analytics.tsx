/**
 * Analytics for all links: totals with the change against the previous period, one time chart, and ranked
 * lists. Clicking a row filters the whole page by it (the filter is a query parameter, so the view is a URL).
 */
import { useEffect } from "preact/hooks";
import { ANALYTICS_FILTERS, type AnalyticsFilter, api, download } from "../api.js";
import { BarList, Card, ErrorNote, Loading, Stat, TimeChart } from "../components.js";
import { formatChange, formatNumber, formatPercent } from "../format.js";
import { useLoad } from "../hooks.js";
import { t } from "../i18n/index.js";
import { hrefOf, setQuery, useLocation } from "../router.js";
import { ClickTable } from "./link.js";
import { RangeControls, rangeOf } from "./range.js";

const REFRESH_MS = 60_000;

/** The three lists of `/analytics/devices`: its key, the filter a row sets, the card's title. */
const DEVICE_LISTS = [
  ["browsers", "browser", "analytics.browsers"],
  ["operating_systems", "os", "analytics.os"],
  ["devices", "device", "analytics.deviceTypes"],
] as const;

export function AnalyticsPage() {
  const { query } = useLocation();
  const range = rangeOf(query);
  const filters: Partial<Record<AnalyticsFilter, string>> = {};
  for (const name of ANALYTICS_FILTERS) {
    const value = query.get(name);
    if (value) filters[name] = value;
  }
  const excludeBots = query.get("exclude_bots") === "true";
  const q = { ...range.query, ...filters, ...(excludeBots ? { exclude_bots: true } : {}) };
  const key = JSON.stringify(q);

  const summary = useLoad(() => api.analytics.summary(q), [key]);
  const trend = useLoad(() => api.analytics.trends(q), [key]);
  const top = useLoad(() => api.analytics.top({ ...q, limit: 10 }), [key]);
  const sources = useLoad(() => api.analytics.referrers({ ...q, limit: 10 }), [key]);
  const geo = useLoad(() => api.analytics.geo({ ...q, limit: 10 }), [key]);
  const devices = useLoad(() => api.analytics.devices({ ...q, limit: 10 }), [key]);
  const tags = useLoad(() => api.analytics.tags({ ...q, limit: 10 }), [key]);
  const clicks = useLoad(() => api.analytics.clicks({ ...q, page_size: 20 }), [key]);
  const detailed = useLoad(() => api.config.get("analytics.enable_detailed_logging"), []);

  useEffect(() => {
    const timer = setInterval(() => {
      for (const view of [summary, trend, top, sources, geo, devices, tags, clicks]) view.reload();
    }, REFRESH_MS);
    return () => clearInterval(timer);
  });

  const filterBy = (name: AnalyticsFilter) => (value: string) => () => setQuery({ [name]: value });
  const s = summary.data;
  const detailedOff = detailed.data?.value === "false";

  return (
    <div class="page">
      <div class="page-head">
        <h1>{t("nav.analytics")}</h1>
        <div class="actions">
          <label class="inline">
            <input
              type="checkbox"
              checked={excludeBots}
              onChange={(e) => setQuery({ exclude_bots: e.currentTarget.checked ? "true" : undefined })}
            />{" "}
            {t("analytics.excludeBots")}
          </label>
          <button
            type="button"
            onClick={() =>
              download(
                `/analytics/export?${new URLSearchParams({ start_date: range.query.start_date, end_date: range.query.end_date })}`,
                "analytics.csv",
              ).catch((err: Error) => alert(err.message))
            }
          >
            {t("analytics.export")}
          </button>
        </div>
      </div>
      <RangeControls range={range} />
      {Object.keys(filters).length > 0 && (
        <div class="chips" data-testid="filters">
          {Object.entries(filters).map(([name, value]) => (
            <button
              key={name}
              type="button"
              class="chip"
              onClick={() => setQuery({ [name]: undefined })}
              aria-label={t("analytics.removeFilter", { name, value })}
            >
              {name}: {value} ×
            </button>
          ))}
        </div>
      )}
      {detailedOff && (
        <p class="notice">
          {t("analytics.detailedOff")}{" "}
          <a href={hrefOf("/settings#analytics.enable_detailed_logging")}>
            analytics.enable_detailed_logging
          </a>
        </p>
      )}
      <ErrorNote error={summary.error ?? trend.error} />
      <div class="stats">
        <Stat
          testid="clicks-total"
          label={t("analytics.clicks")}
          value={s ? formatNumber(s.clicks) : "…"}
          hint={s ? t("analytics.vsPrevious", { change: formatChange(s.change_percentage) }) : undefined}
        />
        <Stat label={t("analytics.linksClicked")} value={s ? formatNumber(s.links_clicked) : "…"} />
        <Stat
          label={t("analytics.visitors")}
          value={s ? (s.visitors === null ? "—" : formatNumber(s.visitors)) : "…"}
          hint={s && s.visitors === null ? t("analytics.visitorsOff") : undefined}
        />
        <Stat
          label={t("dash.botShare")}
          value={
            s ? (s.detailed_clicks > 0 ? formatPercent((100 * s.bot_clicks) / s.detailed_clicks) : "—") : "…"
          }
        />
      </div>
      <Card title={t("analytics.trend")}>
        {trend.data ? (
          <TimeChart testid="trend" labels={trend.data.labels} values={trend.data.values} />
        ) : (
          <Loading />
        )}
      </Card>
      <div class="grid3">
        <Card title={t("analytics.topLinks")}>
          <BarList
            testid="top"
            bars={(top.data ?? []).map((r) => ({
              label: r.code,
              value: r.clicks,
              onSelect: filterBy("code")(r.code),
            }))}
          />
        </Card>
        <Card title={t("analytics.sources")}>
          <BarList
            testid="sources"
            bars={(sources.data ?? []).map((r) => ({
              label: r.referrer,
              value: r.count,
              note: formatPercent(r.percentage),
              onSelect: filterBy("source")(r.referrer),
            }))}
          />
        </Card>
        <Card title={t("analytics.locations")}>
          <BarList
            testid="geo"
            bars={(geo.data ?? []).map((r) => ({
              label: r.city ? `${r.country} · ${r.city}` : r.country,
              value: r.count,
              onSelect: filterBy("country")(r.country),
            }))}
          />
        </Card>
        {DEVICE_LISTS.map(([key, filter, title]) => (
          <Card key={key} title={t(title)}>
            <BarList
              testid={key}
              bars={(devices.data?.[key] ?? []).map((r) => ({
                label: r.name,
                value: r.count,
                note: formatPercent(r.percentage),
                onSelect: filterBy(filter)(r.name),
              }))}
            />
          </Card>
        ))}
        <Card title={t("nav.tags")}>
          <BarList
            bars={(tags.data ?? []).map((r) => ({
              label: r.tag,
              value: r.clicks,
              onSelect: filterBy("tag")(r.tag),
            }))}
          />
        </Card>
      </div>
      <Card title={t("link.recentClicks")}>
        <ClickTable clicks={clicks.data?.clicks ?? []} />
      </Card>
    </div>
  );
}
