/** Tags in use: how many links and clicks each has; rename (merging into an existing tag) or remove. */
import { useState } from "preact/hooks";
import { api } from "../api.js";
import { ErrorNote, Loading } from "../components.js";
import { formatNumber } from "../format.js";
import { useLoad } from "../hooks.js";
import { t } from "../i18n/index.js";
import { hrefOf } from "../router.js";
import { lastDays } from "./dashboard.js";

export function TagsPage() {
  const tags = useLoad(() => api.tags.list(), []);
  const clicks = useLoad(() => api.analytics.tags({ ...lastDays(30), limit: 100 }), []);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const clicksOf = new Map((clicks.data ?? []).map((row) => [row.tag, row.clicks]));

  const act = async (work: () => Promise<string>) => {
    setError(null);
    try {
      setNotice(await work());
      tags.reload();
      clicks.reload();
    } catch (err) {
      setError(err);
    }
  };
  const rename = (tag: string) => {
    const name = prompt(t("tags.renamePrompt", { tag }), tag)?.trim();
    if (name && name !== tag)
      void act(async () => t("tags.renamed", { tag, name, n: (await api.tags.rename(tag, name)).links }));
  };
  const remove = (tag: string) => {
    if (confirm(t("tags.confirmDelete", { tag })))
      void act(async () => t("tags.deleted", { tag, n: (await api.tags.delete(tag)).links }));
  };

  return (
    <div class="page">
      <h1>{t("nav.tags")}</h1>
      <p class="muted">{t("tags.help")}</p>
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <ErrorNote error={error ?? tags.error} />
      {!tags.data ? (
        <Loading />
      ) : tags.data.length === 0 ? (
        <p class="muted">{t("tags.none")}</p>
      ) : (
        <div class="table-wrap">
          <table data-testid="tags-table">
            <thead>
              <tr>
                <th>{t("tags.tag")}</th>
                <th class="num">{t("tags.links")}</th>
                <th class="num">{t("tags.clicks30d")}</th>
                <th>{t("links.actions")}</th>
              </tr>
            </thead>
            <tbody>
              {tags.data.map((row) => (
                <tr key={row.tag} data-tag={row.tag}>
                  <td>
                    <a href={hrefOf(`/links?tags=${encodeURIComponent(row.tag)}`)}>
                      <span class="tag">{row.tag}</span>
                    </a>
                  </td>
                  <td class="num">{formatNumber(row.count)}</td>
                  <td class="num">{formatNumber(clicksOf.get(row.tag) ?? 0)}</td>
                  <td class="row-actions">
                    <button type="button" class="small" onClick={() => rename(row.tag)}>
                      {t("tags.rename")}
                    </button>
                    <button type="button" class="small danger" onClick={() => remove(row.tag)}>
                      {t("common.delete")}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
