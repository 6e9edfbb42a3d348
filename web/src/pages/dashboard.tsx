/** The first page: totals, the last 7 days of clicks, top and recent links, and the instance's health. */
import { api, apiFetch } from "../api.js";
import { BarList, Card, ErrorNote, Loading, Sparkline, Stat } from "../components.js";
import { CONFIG } from "../config.js";
import { browserTimeZone, formatChange, formatNumber, formatPercent, formatTime } from "../format.js";
import { useLoad } from "../hooks.js";
import { t } from "../i18n/index.js";
import { hrefOf } from "../router.js";
import { linkHref } from "./link.js";

interface Health {
  status: string;
  uptime: number;
  checks: {
    storage: { status: string; links_count: number | null; backend: { storage_type: string } };
    cache: { bloom_filter_enabled: boolean };
    change_feed: { status: string; transport: string };
    geoip?: {
      files: { file: string; database_type: string; built_at: string; description: string | null }[];
    };
  };
}

/** The detailed health (the session cookie is an admin credential there too). */
export async function loadHealth(): Promise<Health> {
  const response = await apiFetch(CONFIG.health);
  const body = (await response.json()) as { data: Health; message?: string };
  if (!body.data) throw new Error(body.message ?? `HTTP ${response.status}`);
  return body.data;
}

/** The last `days` days up to now, as the analytics routes take them. */
export function lastDays(days: number): { start_date: string; end_date: string } {
  const end = new Date();
  return {
    start_date: new Date(end.getTime() - days * 86_400_000).toISOString(),
    end_date: end.toISOString(),
  };
}

export function DashboardPage() {
  const range = { ...lastDays(7), tz: browserTimeZone() };
  const stats = useLoad(() => api.links.stats(), []);
  const summary = useLoad(() => api.analytics.summary(range), []);
  const trend = useLoad(() => api.analytics.trends({ ...range, group_by: "day" }), []);
  const top = useLoad(() => api.analytics.top({ ...range, limit: 5 }), []);
  const recent = useLoad(() => api.links.list({ page_size: 5 }), []);
  const health = useLoad(loadHealth, []);

  const s = summary.data;
  return (
    <div class="page">
      <h1>{t("nav.dashboard")}</h1>
      <ErrorNote error={stats.error ?? summary.error} />
      <div class="stats">
        <Stat
          testid="total-links"
          label={t("dash.totalLinks")}
          value={stats.data ? formatNumber(stats.data.total_links) : "…"}
        />
        <Stat
          label={t("dash.activeLinks")}
          value={stats.data ? formatNumber(stats.data.active_links) : "…"}
        />
        <Stat
          testid="clicks-7d"
          label={t("dash.clicks7d")}
          value={s ? formatNumber(s.clicks) : "…"}
          hint={s ? t("dash.vsPrevious", { change: formatChange(s.change_percentage) }) : undefined}
        />
        <Stat
          label={t("dash.botShare")}
          value={
            s ? (s.detailed_clicks > 0 ? formatPercent((100 * s.bot_clicks) / s.detailed_clicks) : "—") : "…"
          }
          hint={t("dash.botHint")}
        />
        <div class="stat">
          <div class="stat-label">{t("dash.last7days")}</div>
          {trend.data ? <Sparkline values={trend.data.values} label={t("dash.last7days")} /> : <Loading />}
        </div>
      </div>
      <div class="grid2">
        <Card title={t("dash.topLinks")} actions={<a href={hrefOf("/analytics")}>{t("nav.analytics")} →</a>}>
          <ErrorNote error={top.error} />
          {top.data && (
            <BarList
              testid="top-links"
              bars={top.data.map((row) => ({ label: row.code, value: row.clicks, href: linkHref(row.code) }))}
            />
          )}
        </Card>
        <Card title={t("dash.recentLinks")} actions={<a href={hrefOf("/links")}>{t("nav.links")} →</a>}>
          <ErrorNote error={recent.error} />
          {recent.data && recent.data.data.length === 0 && (
            <p class="muted">
              {t("dash.noLinks")} <a href={hrefOf("/links?new=1")}>{t("links.create")}</a>
            </p>
          )}
          <ul class="plain" data-testid="recent-links">
            {recent.data?.data.map((link) => (
              <li key={link.code}>
                <a href={linkHref(link.code)}>{link.code}</a>{" "}
                <span class="muted ellipsis">{link.target}</span>
                <small class="muted"> · {formatTime(link.created_at)}</small>
              </li>
            ))}
          </ul>
        </Card>
      </div>
      <Card title={t("dash.health")}>
        <ErrorNote error={health.error} />
        {health.data && <HealthStrip health={health.data} />}
      </Card>
    </div>
  );
}

export function HealthStrip({ health }: { health: Health }) {
  const c = health.checks;
  const geo = c.geoip?.files ?? [];
  return (
    <dl class="strip" data-testid="health">
      <div>
        <dt>{t("health.status")}</dt>
        <dd class={`status-${health.status}`}>{health.status}</dd>
      </div>
      <div>
        <dt>{t("health.storage")}</dt>
        <dd>
          {c.storage.backend.storage_type} · {c.storage.status}
        </dd>
      </div>
      <div>
        <dt>{t("health.cache")}</dt>
        <dd>{c.cache.bloom_filter_enabled ? t("health.filterReady") : t("health.filterBuilding")}</dd>
      </div>
      <div>
        <dt>{t("health.feed")}</dt>
        <dd>
          {c.change_feed.transport} · {c.change_feed.status}
        </dd>
      </div>
      <div>
        <dt>{t("health.geoip")}</dt>
        <dd>
          {geo.length === 0
            ? t("health.geoipNone")
            : geo.map((f) => `${f.file} (${f.built_at.slice(0, 10)})`).join(", ")}
        </dd>
      </div>
      <div>
        <dt>{t("health.uptime")}</dt>
        <dd>{formatUptime(health.uptime)}</dd>
      </div>
    </dl>
  );
}

function formatUptime(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return d > 0 ? `${d} d ${h} h` : h > 0 ? `${h} h ${m} min` : `${m} min`;
}
