/**
 * The links list. Its state is the URL: search, status, tags (any/all), created range, sort, page and page size
 * are query parameters, so a view can be bookmarked or shared; `new=1` and `edit=<code>` open the form.
 * Column choices are remembered in this browser.
 */
import { useState } from "preact/hooks";
import {
  api,
  type BatchResult,
  download,
  type Link,
  type LinkInput,
  type LinkSort,
  messageOf,
} from "../api.js";
import { CopyButton, ErrorNote, Loading, Modal, Pager } from "../components.js";
import { formatNumber, formatTime } from "../format.js";
import { useLoad } from "../hooks.js";
import { t } from "../i18n/index.js";
import { setQuery, useLocation } from "../router.js";
import { ImportDialog } from "./import-dialog.js";
import { linkHref, QrPreview } from "./link.js";
import { LinkForm } from "./link-form.js";

const COLUMNS = ["target", "title", "tags", "clicks", "created", "expires", "status"] as const;
type Column = (typeof COLUMNS)[number];
const SORTABLE: Partial<Record<Column | "code", string>> = {
  code: "code",
  target: "target",
  clicks: "click_count",
  created: "created_at",
  expires: "expires_at",
};
const HIDDEN_KEY = "jmp.links.hidden";
const PAGE_SIZES = [20, 50, 100];

function hiddenColumns(): Set<Column> {
  try {
    return new Set(JSON.parse(localStorage.getItem(HIDDEN_KEY) ?? '["title"]') as Column[]);
  } catch {
    return new Set(["title"]);
  }
}

/** `YYYY-MM-DD` of a date input → RFC 3339 at the start (or end) of that local day. */
function dayBound(day: string, end: boolean): string | undefined {
  if (!day) return undefined;
  const date = new Date(`${day}T${end ? "23:59:59.999" : "00:00:00"}`);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

export function linkState(link: Link, now = Date.now()): "active" | "disabled" | "expired" | "scheduled" {
  if (!link.enabled) return "disabled";
  if (link.expires_at && Date.parse(link.expires_at) <= now) return "expired";
  if (link.valid_from && Date.parse(link.valid_from) > now) return "scheduled";
  return "active";
}

export function LinksPage() {
  const { query } = useLocation();
  const filters = {
    search: query.get("search") ?? "",
    status: query.get("status") ?? "",
    tags: query.get("tags") ?? "",
    tags_mode: query.get("tags_mode") === "all" ? ("all" as const) : ("any" as const),
    created_from: query.get("created_from") ?? "",
    created_to: query.get("created_to") ?? "",
    sort: query.get("sort") ?? "-created_at",
  };
  const page = Math.max(1, Number(query.get("page")) || 1);
  const pageSize = PAGE_SIZES.includes(Number(query.get("page_size"))) ? Number(query.get("page_size")) : 20;
  const apiFilter = {
    search: filters.search || undefined,
    status: (filters.status || undefined) as "active" | "expired" | "disabled" | undefined,
    tags: filters.tags || undefined,
    tags_mode: filters.tags ? filters.tags_mode : undefined,
    created_after: dayBound(filters.created_from, false),
    created_before: dayBound(filters.created_to, true),
  };
  const list = useLoad(
    () => api.links.list({ ...apiFilter, sort: filters.sort as LinkSort, page, page_size: pageSize }),
    [query.toString()],
  );
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [hidden, setHidden] = useState(hiddenColumns);
  const [qr, setQr] = useState<Link | null>(null);
  const [importing, setImporting] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const editCode = query.get("edit");
  const creating = query.get("new") === "1";
  const editing = useLoad(async () => (editCode ? api.links.get(editCode) : null), [editCode]);

  const rows = list.data?.data ?? [];
  const show = (column: Column) => !hidden.has(column);
  const toggleColumn = (column: Column) => {
    const next = new Set(hidden);
    if (next.has(column)) next.delete(column);
    else next.add(column);
    localStorage.setItem(HIDDEN_KEY, JSON.stringify([...next]));
    setHidden(next);
  };
  const toggle = (code: string) => {
    const next = new Set(selected);
    if (next.has(code)) next.delete(code);
    else next.add(code);
    setSelected(next);
  };
  const allSelected = rows.length > 0 && rows.every((r) => selected.has(r.code));
  const reportBatch = (result: BatchResult) => {
    setNotice(
      t("links.batchResult", { ok: result.success.length, failed: result.failed.length }) +
        (result.failed.length ? ` — ${result.failed.map((f) => `${f.code}: ${f.error}`).join("; ")}` : ""),
    );
    setSelected(new Set());
    list.reload();
  };
  const run = async (action: () => Promise<void>) => {
    setError(null);
    setNotice(null);
    try {
      await action();
    } catch (err) {
      setError(err);
    }
  };
  const chosen = rows.filter((r) => selected.has(r.code));
  // A batch update keeps every field it does not send (only the target is required).
  const batchUpdate = (change: (link: Link) => Pick<LinkInput, "enabled" | "tags">) =>
    run(async () =>
      reportBatch(
        await api.links.batchUpdate(
          chosen.map((link) => ({
            code: link.code,
            payload: { target: link.target, ...change(link) },
          })),
        ),
      ),
    );
  const batchTag = () => {
    const tag = prompt(t("links.batchTagPrompt"))?.trim();
    if (tag) void batchUpdate((link) => ({ tags: [...link.tags, tag] }));
  };
  const batchDelete = () => {
    if (confirm(t("links.confirmDeleteMany", { n: chosen.length })))
      void run(async () => reportBatch(await api.links.batchDelete(chosen.map((l) => l.code))));
  };
  const remove = (link: Link) => {
    if (confirm(t("links.confirmDelete", { code: link.code })))
      void run(async () => {
        await api.links.delete(link.code);
        setNotice(t("links.deleted", { code: link.code }));
        list.reload();
      });
  };
  const exportCsv = () =>
    run(async () => {
      const params = new URLSearchParams();
      for (const [name, value] of Object.entries(apiFilter)) if (value) params.set(name, value);
      await download(`/links/export?${params}`, "links.csv");
    });
  const sortBy = (column: string) => {
    const current = filters.sort;
    setQuery({ sort: current === column ? `-${column}` : column, page: undefined });
  };
  const sortMark = (column: string) =>
    filters.sort === column ? " ▲" : filters.sort === `-${column}` ? " ▼" : "";
  const header = (column: Column | "code") => {
    const label = t(`links.col.${column}`);
    const key = SORTABLE[column];
    if (!key) return <th key={column}>{label}</th>;
    const state = filters.sort === key ? "ascending" : filters.sort === `-${key}` ? "descending" : undefined;
    return (
      <th key={column} aria-sort={state}>
        <button type="button" class="link" onClick={() => sortBy(key)}>
          {label}
          {sortMark(key)}
        </button>
      </th>
    );
  };

  return (
    <div class="page">
      <div class="page-head">
        <h1>{t("nav.links")}</h1>
        <div class="actions">
          <button type="button" class="primary" onClick={() => setQuery({ new: "1" })}>
            + {t("links.create")}
          </button>
          <button type="button" onClick={() => setImporting(true)}>
            {t("links.import")}
          </button>
          <button type="button" onClick={exportCsv}>
            {t("links.export")}
          </button>
        </div>
      </div>

      {/* Text filters are uncontrolled (defaultValue, keyed by the URL's value): a re-render while someone types,
          when a page of data arrives, must not put back the old value; a new URL gives a fresh input. */}
      <form class="filters" onSubmit={(e) => e.preventDefault()} role="search">
        <input
          type="search"
          aria-label={t("links.search")}
          placeholder={t("links.search")}
          key={filters.search}
          defaultValue={filters.search}
          onChange={(e) => setQuery({ search: e.currentTarget.value, page: undefined })}
        />
        <select
          aria-label={t("links.status")}
          value={filters.status}
          onChange={(e) => setQuery({ status: e.currentTarget.value, page: undefined })}
        >
          <option value="">{t("links.statusAll")}</option>
          <option value="active">{t("links.state.active")}</option>
          <option value="expired">{t("links.state.expired")}</option>
          <option value="disabled">{t("links.state.disabled")}</option>
        </select>
        <input
          aria-label={t("links.filterTags")}
          placeholder={t("links.filterTags")}
          key={filters.tags}
          defaultValue={filters.tags}
          onChange={(e) => setQuery({ tags: e.currentTarget.value, page: undefined })}
        />
        <select
          aria-label={t("links.tagsMode")}
          value={filters.tags_mode}
          onChange={(e) => setQuery({ tags_mode: e.currentTarget.value === "all" ? "all" : undefined })}
        >
          <option value="any">{t("links.tagsAny")}</option>
          <option value="all">{t("links.tagsAll")}</option>
        </select>
        <label class="inline">
          {t("links.createdFrom")}{" "}
          <input
            type="date"
            value={filters.created_from}
            onChange={(e) => setQuery({ created_from: e.currentTarget.value, page: undefined })}
          />
        </label>
        <label class="inline">
          {t("links.createdTo")}{" "}
          <input
            type="date"
            value={filters.created_to}
            onChange={(e) => setQuery({ created_to: e.currentTarget.value, page: undefined })}
          />
        </label>
        <details class="menu">
          <summary>{t("links.columns")}</summary>
          <div class="menu-body">
            {COLUMNS.map((column) => (
              <label key={column} class="inline">
                <input type="checkbox" checked={show(column)} onChange={() => toggleColumn(column)} />{" "}
                {t(`links.col.${column}`)}
              </label>
            ))}
          </div>
        </details>
      </form>

      {selected.size > 0 && (
        <div class="batchbar" role="toolbar" aria-label={t("links.batch")}>
          <span>{t("links.selected", { n: selected.size })}</span>
          <button type="button" onClick={() => batchUpdate(() => ({ enabled: true }))}>
            {t("links.enable")}
          </button>
          <button type="button" onClick={() => batchUpdate(() => ({ enabled: false }))}>
            {t("links.disable")}
          </button>
          <button type="button" onClick={batchTag}>
            {t("links.addTag")}
          </button>
          <button type="button" class="danger" onClick={batchDelete}>
            {t("common.delete")}
          </button>
        </div>
      )}
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <ErrorNote error={error ?? list.error} />
      {list.loading && !list.data ? (
        <Loading />
      ) : (
        <div class="table-wrap">
          <table class="links" data-testid="links-table">
            <thead>
              <tr>
                <th>
                  <input
                    type="checkbox"
                    aria-label={t("links.selectAll")}
                    checked={allSelected}
                    onChange={() => setSelected(allSelected ? new Set() : new Set(rows.map((r) => r.code)))}
                  />
                </th>
                {header("code")}
                {COLUMNS.filter(show).map(header)}
                <th>{t("links.actions")}</th>
              </tr>
            </thead>
            <tbody>
              {rows.length === 0 && (
                <tr>
                  <td colSpan={COLUMNS.length + 3} class="muted">
                    {t("links.none")}
                  </td>
                </tr>
              )}
              {rows.map((link) => (
                <tr key={link.code} data-code={link.code}>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={t("links.select", { code: link.code })}
                      checked={selected.has(link.code)}
                      onChange={() => toggle(link.code)}
                    />
                  </td>
                  <td>
                    <a href={linkHref(link.code)} class="code">
                      {link.code}
                    </a>
                  </td>
                  {show("target") && (
                    <td class="ellipsis" title={link.target}>
                      {link.target}
                    </td>
                  )}
                  {show("title") && <td class="ellipsis">{link.title ?? ""}</td>}
                  {show("tags") && (
                    <td>
                      {link.tags.map((tag) => (
                        <span class="tag" key={tag}>
                          {tag}
                        </span>
                      ))}
                    </td>
                  )}
                  {show("clicks") && <td class="num">{formatNumber(link.click_count)}</td>}
                  {show("created") && <td class="nowrap">{formatTime(link.created_at)}</td>}
                  {show("expires") && <td class="nowrap">{formatTime(link.expires_at)}</td>}
                  {show("status") && (
                    <td>
                      <span class={`badge ${linkState(link)}`}>{t(`links.state.${linkState(link)}`)}</span>
                    </td>
                  )}
                  <td class="row-actions">
                    <CopyButton text={link.short_url} />
                    <a class="button small" href={link.short_url} target="_blank" rel="noopener noreferrer">
                      {t("links.open")}
                    </a>
                    <a class="button small" href={linkHref(link.code)}>
                      {t("links.stats")}
                    </a>
                    <button type="button" class="small" onClick={() => setQr(link)}>
                      QR
                    </button>
                    <button type="button" class="small" onClick={() => setQuery({ edit: link.code })}>
                      {t("common.edit")}
                    </button>
                    <button type="button" class="small danger" onClick={() => remove(link)}>
                      {t("common.delete")}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {list.data && (
        <div class="list-foot">
          <Pager
            page={page}
            pages={list.data.pagination.total_pages}
            total={list.data.pagination.total}
            onPage={(p) => setQuery({ page: p === 1 ? undefined : p })}
          />
          <label class="inline">
            {t("links.pageSize")}{" "}
            <select
              value={pageSize}
              onChange={(e) =>
                setQuery({
                  page_size: e.currentTarget.value === "20" ? undefined : e.currentTarget.value,
                  page: undefined,
                })
              }
            >
              {PAGE_SIZES.map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </label>
        </div>
      )}

      <Modal title={t("links.create")} open={creating} onClose={() => setQuery({ new: undefined })} wide>
        <LinkForm
          editing={null}
          onCancel={() => setQuery({ new: undefined })}
          onSaved={(link) => {
            setNotice(t("links.created", { code: link.code }));
            setQuery({ new: undefined });
            list.reload();
          }}
        />
      </Modal>
      <Modal
        title={t("links.edit", { code: editCode ?? "" })}
        open={editCode !== null}
        onClose={() => setQuery({ edit: undefined })}
        wide
      >
        {editing.error ? <p class="error">{messageOf(editing.error)}</p> : null}
        {editing.data && editing.data.data.code === editCode && (
          <LinkForm
            key={editCode}
            editing={{ link: editing.data.data, etag: editing.data.etag }}
            onCancel={() => setQuery({ edit: undefined })}
            onSaved={(link) => {
              setNotice(t("links.saved", { code: link.code }));
              setQuery({ edit: undefined });
              list.reload();
            }}
          />
        )}
      </Modal>
      <Modal
        title={qr ? t("links.qrOf", { code: qr.code }) : ""}
        open={qr !== null}
        onClose={() => setQr(null)}
      >
        {qr && <QrPreview link={qr} />}
      </Modal>
      <Modal title={t("links.import")} open={importing} onClose={() => setImporting(false)} wide>
        <ImportDialog onDone={() => list.reload()} />
      </Modal>
    </div>
  );
}
