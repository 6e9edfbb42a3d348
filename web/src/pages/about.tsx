/** The instance: version, health in detail, where the API and metrics are, and credit for GeoIP data. */
import { Card, ErrorNote, Loading } from "../components.js";
import { CONFIG } from "../config.js";
import { useLoad } from "../hooks.js";
import { t } from "../i18n/index.js";
import { HealthStrip, loadHealth } from "./dashboard.js";

/** What the GeoIP data's licence asks to show, by the file's type or description. */
function attributionOf(file: { database_type: string; description: string | null }): string {
  const about = `${file.database_type} ${file.description ?? ""}`.toLowerCase();
  if (about.includes("geolite")) return t("about.maxmind");
  if (about.includes("db-ip") || about.includes("dbip")) return t("about.dbip");
  return t("about.otherGeo");
}

export function AboutPage() {
  const health = useLoad(loadHealth, []);
  const files = health.data?.checks.geoip?.files ?? [];
  return (
    <div class="page">
      <h1>{t("nav.about")}</h1>
      <Card>
        <dl class="settings-list">
          <div>
            <dt>{t("about.version")}</dt>
            <dd data-testid="version">{CONFIG.version}</dd>
          </div>
          <div>
            <dt>{t("about.api")}</dt>
            <dd>
              <a href={`${CONFIG.admin}/v1/docs/`}>{`${CONFIG.admin}/v1/docs/`}</a> ·{" "}
              <a href={`${CONFIG.admin}/v1/openapi.json`}>openapi.json</a>
            </dd>
          </div>
          <div>
            <dt>{t("about.metrics")}</dt>
            <dd>
              <code>{`${CONFIG.health}/metrics`}</code>
            </dd>
          </div>
        </dl>
      </Card>
      <Card title={t("dash.health")}>
        <ErrorNote error={health.error} />
        {health.data ? <HealthStrip health={health.data} /> : <Loading />}
      </Card>
      <Card title={t("about.geoip")}>
        {files.length === 0 ? (
          <p class="muted">{t("about.noGeoip")}</p>
        ) : (
          <ul class="plain" data-testid="attribution">
            {files.map((file) => (
              <li key={file.file}>
                <strong>{file.file}</strong> · {file.database_type} · {file.built_at.slice(0, 10)}
                <div>{attributionOf(file)}</div>
              </li>
            ))}
          </ul>
        )}
      </Card>
    </div>
  );
}
