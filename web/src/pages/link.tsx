/** One link: its settings, QR code, analytics over a range, recent clicks and change history. */
import { useState } from "preact/hooks";
import { encodeCode } from "../../../src/client/paths.js";
import { api, API_BASE, download, type Link, messageOf } from "../api.js";
import { BarList, Card, CopyButton, ErrorNote, Loading, Stat, TimeChart } from "../components.js";
import { formatNumber, formatPercent, formatTime } from "../format.js";
import { useLoad } from "../hooks.js";
import { t } from "../i18n/index.js";
import { hrefOf, navigate, useLocation } from "../router.js";
import { linkState } from "./links.js";
import { RangeControls, rangeOf } from "./range.js";

export function linkHref(code: string): string {
  return hrefOf(`/link/${encodeCode(code)}`);
}

const fileName = (code: string) => code.replace(/[^A-Za-z0-9_.-]/g, "_");

export function QrPreview({ link }: { link: Link }) {
  const [error, setError] = useState<unknown>(null);
  const path = `/links/${encodeCode(link.code)}/qr`;
  const save = (format: "svg" | "png") =>
    download(`${path}?format=${format}&size=1024`, `${fileName(link.code)}.${format}`).catch(setError);
  return (
    <div class="qr" data-testid="qr">
      <img
        src={`${API_BASE}${path}?format=svg&size=256`}
        width={256}
        height={256}
        alt={t("links.qrOf", { code: link.code })}
      />
      <p class="muted">{link.short_url}</p>
      <div class="actions">
        <button type="button" onClick={() => save("svg")}>
          {t("link.downloadSvg")}
        </button>
        <button type="button" onClick={() => save("png")}>
          {t("link.downloadPng")}
        </button>
      </div>
      <ErrorNote error={error} />
    </div>
  );
}

function Settings({ link }: { link: Link }) {
  const rows: [string, string][] = [
    [t("links.target"), link.target],
    [t("links.title"), link.title ?? "—"],
    [t("links.tags"), link.tags.join(", ") || "—"],
    [t("links.col.status"), t(`links.state.${linkState(link)}`)],
    [
      t("links.redirectStatus"),
      link.redirect_status ? String(link.redirect_status) : t("links.statusDefault"),
    ],
    [t("links.col.created"), formatTime(link.created_at)],
    [t("link.updated"), formatTime(link.updated_at)],
    [t("links.expiresAt"), formatTime(link.expires_at)],
    [t("links.validFrom"), formatTime(link.valid_from)],
    [t("links.maxClicks"), link.max_clicks === null ? "—" : formatNumber(link.max_clicks)],
    [t("links.fallback"), link.fallback_url ?? "—"],
    [t("links.password"), link.password ? t("common.yes") : t("common.no")],
    [t("links.forwardQuery"), link.forward_query ? t("common.yes") : t("common.no")],
    [t("links.crawlable"), link.crawlable ? t("common.yes") : t("common.no")],
    [t("rules.title"), link.rules.length === 0 ? "—" : t("link.rulesCount", { n: link.rules.length })],
    [t("links.notes"), link.notes ?? "—"],
  ];
  return (
    <dl class="settings-list" data-testid="link-settings">
      {rows.map(([label, value]) => (
        <div key={label}>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

export function LinkPage({ code }: { code: string }) {
  const { query } = useLocation();
  const range = rangeOf(query, "30d");
  const q = { ...range.query, code };
  const key = JSON.stringify(q);
  const link = useLoad(() => api.links.get(code), [code]);
  const trend = useLoad(() => api.analytics.trends(q), [key]);
  const sources = useLoad(() => api.analytics.referrers({ ...q, limit: 10 }), [key]);
  const geo = useLoad(() => api.analytics.geo({ ...q, limit: 10 }), [key]);
  const devices = useLoad(() => api.analytics.linkDevices(code, { ...range.query, limit: 10 }), [key]);
  const clicks = useLoad(() => api.analytics.clicks({ ...range.query, code, page_size: 20 }), [key]);
  const history = useLoad(
    () => api.audit.list({ object_type: "link", object_id: code, page_size: 10 }),
    [code],
  );
  const [error, setError] = useState<unknown>(null);

  if (link.error)
    return (
      <div class="page">
        <h1>{code}</h1>
        <ErrorNote error={link.error} />
      </div>
    );
  if (!link.data) return <Loading />;
  const l = link.data.data;
  const total = trend.data?.values.reduce((a, b) => a + b, 0) ?? 0;

  const remove = async () => {
    if (!confirm(t("links.confirmDelete", { code }))) return;
    try {
      await api.links.delete(code, link.data?.etag ? { ifMatch: link.data.etag } : {});
      navigate("/links");
    } catch (err) {
      setError(err);
    }
  };
  const erase = async () => {
    if (!confirm(t("link.confirmErase", { code }))) return;
    try {
      await api.analytics.eraseLink(code);
      link.reload();
      trend.reload();
      clicks.reload();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <div class="page">
      <div class="page-head">
        <h1 class="code">{l.code}</h1>
        <div class="actions">
          <CopyButton text={l.short_url} label={t("link.copyShort")} />
          <a class="button" href={hrefOf(`/links?edit=${encodeURIComponent(code)}`)}>
            {t("common.edit")}
          </a>
          <button type="button" class="danger" onClick={remove}>
            {t("common.delete")}
          </button>
        </div>
      </div>
      <ErrorNote error={error} />
      <div class="grid2">
        <Card title={t("link.settings")}>
          <Settings link={l} />
        </Card>
        <Card title="QR">
          <QrPreview link={l} />
        </Card>
      </div>
      <RangeControls range={range} />
      <div class="stats">
        <Stat label={t("link.totalClicks")} value={formatNumber(l.click_count)} />
        <Stat
          testid="range-clicks"
          label={t("link.clicksInRange")}
          value={trend.data ? formatNumber(total) : "…"}
        />
        <Stat
          label={t("dash.botShare")}
          value={devices.data ? formatPercent(devices.data.bot_percentage) : "…"}
        />
      </div>
      <Card title={t("analytics.trend")}>
        <ErrorNote error={trend.error} />
        {trend.data ? (
          <TimeChart testid="trend" labels={trend.data.labels} values={trend.data.values} />
        ) : (
          <Loading />
        )}
      </Card>
      <div class="grid3">
        <Card title={t("analytics.sources")}>
          <BarList
            bars={(sources.data ?? []).map((r) => ({
              label: r.referrer,
              value: r.count,
              note: formatPercent(r.percentage),
            }))}
          />
        </Card>
        <Card title={t("analytics.locations")}>
          <BarList
            bars={(geo.data ?? []).map((r) => ({
              label: r.city ? `${r.country} · ${r.city}` : r.country,
              value: r.count,
            }))}
          />
        </Card>
        <Card title={t("analytics.devices")}>
          {devices.data && (
            <>
              <h3>{t("analytics.browsers")}</h3>
              <BarList bars={devices.data.browsers.map((r) => ({ label: r.name, value: r.count }))} />
              <h3>{t("analytics.os")}</h3>
              <BarList
                bars={devices.data.operating_systems.map((r) => ({ label: r.name, value: r.count }))}
              />
              <h3>{t("analytics.deviceTypes")}</h3>
              <BarList bars={devices.data.devices.map((r) => ({ label: r.name, value: r.count }))} />
            </>
          )}
        </Card>
      </div>
      <Card
        title={t("link.recentClicks")}
        actions={
          <button type="button" class="small danger" onClick={erase}>
            {t("link.erase")}
          </button>
        }
      >
        <ErrorNote error={clicks.error} />
        <ClickTable clicks={clicks.data?.clicks ?? []} />
      </Card>
      <Card title={t("link.history")}>
        {history.error ? <p class="muted">{messageOf(history.error)}</p> : null}
        {history.data?.data.length === 0 && <p class="muted">{t("audit.none")}</p>}
        <ul class="plain">
          {history.data?.data.map((entry) => (
            <li key={entry.id}>
              {formatTime(entry.at)} · <strong>{entry.action}</strong> · {entry.actor}
            </li>
          ))}
        </ul>
      </Card>
    </div>
  );
}

export function ClickTable({ clicks }: { clicks: import("../api.js").ClickEventData[] }) {
  if (clicks.length === 0) return <p class="muted">{t("analytics.noClicks")}</p>;
  return (
    <div class="table-wrap">
      <table class="compact" data-testid="clicks">
        <thead>
          <tr>
            <th>{t("analytics.time")}</th>
            <th>{t("links.code")}</th>
            <th>{t("analytics.source")}</th>
            <th>{t("analytics.country")}</th>
            <th>{t("analytics.browser")}</th>
            <th>{t("analytics.device")}</th>
          </tr>
        </thead>
        <tbody>
          {clicks.map((c) => (
            <tr key={c.id}>
              <td class="nowrap">{formatTime(c.clicked_at)}</td>
              <td>{c.code}</td>
              <td class="ellipsis">{c.referrer ?? c.source}</td>
              <td>{[c.country, c.city].filter(Boolean).join(" · ") || "—"}</td>
              <td>
                {[c.browser, c.os].filter(Boolean).join(" / ") || "—"}
                {c.is_bot && <span class="badge expired"> bot</span>}
              </td>
              <td>{c.device}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
