/**
 * Create and edit a link with every setting. An edit sends the ETag it loaded (`If-Match`): when someone else
 * changed the link meanwhile, the server answers 412 and the form shows which fields changed and offers to load
 * them (the edits here are then lost) or to keep editing.
 */
import { useState } from "preact/hooks";
import { api, JmpApiError, type Link, type LinkInput } from "../api.js";
import { ErrorNote, Field } from "../components.js";
import { fromLocalInput, toLocalInput } from "../format.js";
import { t } from "../i18n/index.js";
import { type Rule, RulesEditor } from "./rules-editor.js";

/** Relative expiry presets the server understands (`expires_at: "7d"`). */
const EXPIRY_PRESETS = ["1h", "1d", "7d", "30d", "90d", "1y"] as const;

interface Draft {
  code: string;
  target: string;
  title: string;
  notes: string;
  tags: string;
  redirect_status: string;
  enabled: boolean;
  /** "" never, a preset, or "custom" (then `expires_custom`). */
  expires: string;
  expires_custom: string;
  valid_from: string;
  max_clicks: string;
  fallback_url: string;
  forward_query: boolean;
  crawlable: boolean;
  /** "keep" (edit only), "none" or "set" (then `password_value`). */
  password: "keep" | "none" | "set";
  password_value: string;
  rules: Rule[];
}

function draftOf(link: Link | null): Draft {
  return {
    code: link?.code ?? "",
    target: link?.target ?? "",
    title: link?.title ?? "",
    notes: link?.notes ?? "",
    tags: link?.tags.join(", ") ?? "",
    redirect_status: link?.redirect_status ? String(link.redirect_status) : "",
    enabled: link?.enabled ?? true,
    expires: link?.expires_at ? "custom" : "",
    expires_custom: toLocalInput(link?.expires_at),
    valid_from: toLocalInput(link?.valid_from),
    max_clicks: link?.max_clicks ? String(link.max_clicks) : "",
    fallback_url: link?.fallback_url ?? "",
    forward_query: link?.forward_query ?? false,
    crawlable: link?.crawlable ?? false,
    password: link ? (link.password ? "keep" : "none") : "none",
    password_value: "",
    rules: link?.rules ?? [],
  };
}

function inputOf(draft: Draft, editing: boolean): LinkInput {
  const expires = draft.expires === "custom" ? (fromLocalInput(draft.expires_custom) ?? "") : draft.expires;
  const input: LinkInput = {
    target: draft.target.trim(),
    // On an update "" removes the expiry; on a create null means none.
    expires_at: expires === "" ? (editing ? "" : null) : expires,
    title: draft.title.trim() || null,
    notes: draft.notes || null,
    tags: draft.tags
      .split(",")
      .map((tag) => tag.trim())
      .filter((tag) => tag !== ""),
    redirect_status: draft.redirect_status ? Number(draft.redirect_status) : null,
    enabled: draft.enabled,
    valid_from: fromLocalInput(draft.valid_from),
    max_clicks: draft.max_clicks ? Number(draft.max_clicks) : null,
    fallback_url: draft.fallback_url.trim() || null,
    forward_query: draft.forward_query,
    crawlable: draft.crawlable,
    rules: draft.rules,
  };
  if (draft.password === "set") input.password = draft.password_value;
  else if (draft.password === "none" && editing) input.password = "";
  return input;
}

/** The fields whose stored value differs between two versions of a link (for the 412 message). */
function changedFields(before: Link, after: Link): string[] {
  const keys = Object.keys(after) as (keyof Link)[];
  return keys.filter(
    (key) =>
      key !== "updated_at" &&
      key !== "click_count" &&
      JSON.stringify(before[key]) !== JSON.stringify(after[key]),
  );
}

export function LinkForm(props: {
  /** The link and its ETag when editing; null to create. */
  editing: { link: Link; etag: string | null } | null;
  onSaved: (link: Link) => void;
  onCancel: () => void;
}) {
  const [base, setBase] = useState(props.editing);
  const [draft, setDraft] = useState<Draft>(() => draftOf(props.editing?.link ?? null));
  const [error, setError] = useState<unknown>(null);
  const [conflict, setConflict] = useState<{ link: Link; etag: string | null; fields: string[] } | null>(
    null,
  );
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => setDraft((d) => ({ ...d, [key]: value }));
  const editing = base !== null;

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const input = inputOf(draft, editing);
      const saved = editing
        ? await api.links.put(base.link.code, input, base.etag ? { ifMatch: base.etag } : {})
        : await api.links.create({ ...input, ...(draft.code.trim() ? { code: draft.code.trim() } : {}) });
      props.onSaved(saved.data);
    } catch (err) {
      if (editing && err instanceof JmpApiError && err.status === 412) {
        const current = await api.links.get(base.link.code);
        setConflict({ ...current, link: current.data, fields: changedFields(base.link, current.data) });
      } else setError(err);
    } finally {
      setBusy(false);
    }
  };

  const loadCurrent = () => {
    if (!conflict) return;
    setBase({ link: conflict.link, etag: conflict.etag });
    setDraft(draftOf(conflict.link));
    setConflict(null);
  };

  return (
    <form class="link-form" onSubmit={submit} data-testid="link-form">
      {conflict && (
        <div class="warning" role="alert" data-testid="conflict">
          <p>{t("links.conflict", { fields: conflict.fields.join(", ") || "—" })}</p>
          <button type="button" onClick={loadCurrent}>
            {t("links.conflictReload")}
          </button>{" "}
          <button type="button" class="quiet" onClick={() => setConflict(null)}>
            {t("links.conflictKeep")}
          </button>
        </div>
      )}
      <div class="form-grid">
        <Field label={t("links.code")} hint={editing ? undefined : t("links.codeHint")}>
          <input
            name="code"
            value={draft.code}
            disabled={editing}
            onInput={(e) => set("code", e.currentTarget.value)}
          />
        </Field>
        <Field label={t("links.target")} class="span2">
          <input
            name="target"
            type="url"
            required
            placeholder="https://"
            value={draft.target}
            onInput={(e) => set("target", e.currentTarget.value)}
          />
        </Field>
        <Field label={t("links.title")}>
          <input
            name="title"
            maxLength={512}
            value={draft.title}
            onInput={(e) => set("title", e.currentTarget.value)}
          />
        </Field>
        <Field label={t("links.tags")} hint={t("links.tagsHint")}>
          <input name="tags" value={draft.tags} onInput={(e) => set("tags", e.currentTarget.value)} />
        </Field>
        <Field label={t("links.redirectStatus")}>
          <select
            name="redirect_status"
            value={draft.redirect_status}
            onChange={(e) => set("redirect_status", e.currentTarget.value)}
          >
            <option value="">{t("links.statusDefault")}</option>
            {["301", "302", "307", "308"].map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </Field>
        <Field label={t("links.expires")}>
          <select
            name="expires"
            value={draft.expires}
            onChange={(e) => set("expires", e.currentTarget.value)}
          >
            <option value="">{t("links.never")}</option>
            {EXPIRY_PRESETS.map((p) => (
              <option key={p} value={p}>
                {t("links.inPreset", { preset: p })}
              </option>
            ))}
            <option value="custom">{t("links.customDate")}</option>
          </select>
        </Field>
        {draft.expires === "custom" && (
          <Field label={t("links.expiresAt")}>
            <input
              name="expires_custom"
              type="datetime-local"
              required
              value={draft.expires_custom}
              onInput={(e) => set("expires_custom", e.currentTarget.value)}
            />
          </Field>
        )}
        <Field label={t("links.validFrom")}>
          <input
            name="valid_from"
            type="datetime-local"
            value={draft.valid_from}
            onInput={(e) => set("valid_from", e.currentTarget.value)}
          />
        </Field>
        <Field label={t("links.maxClicks")}>
          <input
            name="max_clicks"
            type="number"
            min={1}
            step={1}
            value={draft.max_clicks}
            onInput={(e) => set("max_clicks", e.currentTarget.value)}
          />
        </Field>
        <Field label={t("links.fallback")} hint={t("links.fallbackHint")} class="span2">
          <input
            name="fallback_url"
            type="url"
            value={draft.fallback_url}
            onInput={(e) => set("fallback_url", e.currentTarget.value)}
          />
        </Field>
        <Field label={t("links.password")}>
          <select
            name="password"
            value={draft.password}
            onChange={(e) => set("password", e.currentTarget.value as Draft["password"])}
          >
            {editing && base.link.password && <option value="keep">{t("links.passwordKeep")}</option>}
            <option value="none">{t("links.passwordNone")}</option>
            <option value="set">{t("links.passwordSet")}</option>
          </select>
        </Field>
        {draft.password === "set" && (
          <Field label={t("links.newPassword")}>
            <input
              name="password_value"
              type="password"
              autoComplete="new-password"
              required
              value={draft.password_value}
              onInput={(e) => set("password_value", e.currentTarget.value)}
            />
          </Field>
        )}
        <Field label={t("links.notes")} class="span2">
          <textarea
            name="notes"
            rows={3}
            value={draft.notes}
            onInput={(e) => set("notes", e.currentTarget.value)}
          />
        </Field>
      </div>
      <div class="checks">
        <label class="inline">
          <input
            name="enabled"
            type="checkbox"
            checked={draft.enabled}
            onChange={(e) => set("enabled", e.currentTarget.checked)}
          />{" "}
          {t("links.enabled")}
        </label>
        <label class="inline">
          <input
            name="forward_query"
            type="checkbox"
            checked={draft.forward_query}
            onChange={(e) => set("forward_query", e.currentTarget.checked)}
          />{" "}
          {t("links.forwardQuery")}
        </label>
        <label class="inline">
          <input
            name="crawlable"
            type="checkbox"
            checked={draft.crawlable}
            onChange={(e) => set("crawlable", e.currentTarget.checked)}
          />{" "}
          {t("links.crawlable")}
        </label>
      </div>
      <RulesEditor rules={draft.rules} onChange={(rules) => set("rules", rules)} />
      <ErrorNote error={error} />
      <div class="form-actions">
        <button type="submit" class="primary" disabled={busy}>
          {editing ? t("common.save") : t("links.create")}
        </button>
        <button type="button" onClick={props.onCancel}>
          {t("common.cancel")}
        </button>
      </div>
    </form>
  );
}
