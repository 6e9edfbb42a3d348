/** The audit log: who changed what, filtered by actor, object and time; before/after as the server redacted them. */
import { api } from "../api.js";
import { ErrorNote, Loading, Pager } from "../components.js";
import { formatTime } from "../format.js";
import { useLoad } from "../hooks.js";
import { t } from "../i18n/index.js";
import { setQuery, useLocation } from "../router.js";

const OBJECT_TYPES = ["link", "links", "tag", "config", "key", "apply", "state"];

function dayStart(day: string | null, end = false): string | undefined {
  if (!day) return undefined;
  const date = new Date(`${day}T${end ? "23:59:59.999" : "00:00:00"}`);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

export function AuditPage() {
  const { query } = useLocation();
  const page = Math.max(1, Number(query.get("page")) || 1);
  const f = {
    actor: query.get("actor") ?? "",
    object_type: query.get("object_type") ?? "",
    object_id: query.get("object_id") ?? "",
    since: query.get("since") ?? "",
    until: query.get("until") ?? "",
  };
  const list = useLoad(
    () =>
      api.audit.list({
        actor: f.actor || undefined,
        object_type: f.object_type || undefined,
        object_id: f.object_id || undefined,
        since: dayStart(f.since),
        until: dayStart(f.until, true),
        page,
        page_size: 50,
      }),
    [query.toString()],
  );
  const filter = (name: string) => (e: Event) =>
    setQuery({ [name]: (e.currentTarget as HTMLInputElement).value, page: undefined });

  return (
    <div class="page">
      <h1>{t("nav.audit")}</h1>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <input
          aria-label={t("audit.actor")}
          placeholder={t("audit.actor")}
          key={f.actor}
          defaultValue={f.actor}
          onChange={filter("actor")}
        />
        <select aria-label={t("audit.objectType")} value={f.object_type} onChange={filter("object_type")}>
          <option value="">{t("audit.anyObject")}</option>
          {OBJECT_TYPES.map((type) => (
            <option key={type} value={type}>
              {type}
            </option>
          ))}
        </select>
        <input
          aria-label={t("audit.objectId")}
          placeholder={t("audit.objectId")}
          key={f.object_id}
          defaultValue={f.object_id}
          onChange={filter("object_id")}
        />
        <label class="inline">
          {t("range.from")} <input type="date" value={f.since} onChange={filter("since")} />
        </label>
        <label class="inline">
          {t("range.to")} <input type="date" value={f.until} onChange={filter("until")} />
        </label>
      </form>
      <ErrorNote error={list.error} />
      {!list.data ? (
        <Loading />
      ) : (
        <>
          <div class="table-wrap">
            <table data-testid="audit-table">
              <thead>
                <tr>
                  <th>{t("analytics.time")}</th>
                  <th>{t("audit.actor")}</th>
                  <th>{t("audit.action")}</th>
                  <th>{t("audit.object")}</th>
                  <th>{t("audit.details")}</th>
                </tr>
              </thead>
              <tbody>
                {list.data.data.length === 0 && (
                  <tr>
                    <td colSpan={5} class="muted">
                      {t("audit.none")}
                    </td>
                  </tr>
                )}
                {list.data.data.map((entry) => (
                  <tr key={entry.id}>
                    <td class="nowrap">{formatTime(entry.at)}</td>
                    <td>
                      {entry.actor}
                      {entry.ip && <div class="muted small">{entry.ip}</div>}
                    </td>
                    <td>{entry.action}</td>
                    <td>
                      {entry.object_type}
                      {entry.object_id && (
                        <>
                          {" "}
                          <code>{entry.object_id}</code>
                        </>
                      )}
                    </td>
                    <td>
                      {(entry.before !== null || entry.after !== null) && (
                        <details>
                          <summary>{t("audit.beforeAfter")}</summary>
                          <div class="diff">
                            <pre>{JSON.stringify(entry.before, null, 2)}</pre>
                            <pre>{JSON.stringify(entry.after, null, 2)}</pre>
                          </div>
                        </details>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager
            page={page}
            pages={list.data.pagination.total_pages}
            total={list.data.pagination.total}
            onPage={(p) => setQuery({ page: p === 1 ? undefined : p })}
          />
        </>
      )}
    </div>
  );
}
