/**
 * Runtime settings, generated from `/config/schema`: one editor per `value_type`, grouped by category in the
 * registry's order. Keys pinned by the environment or the provisioning file are read-only and say where their
 * value comes from. Every key has its history (with who changed it) and a reset to the default.
 */
import { useEffect, useState } from "preact/hooks";
import { api, type ConfigItem, type ConfigSchemaItem } from "../api.js";
import { ErrorNote, Loading } from "../components.js";
import { formatTime } from "../format.js";
import { useLoad } from "../hooks.js";
import { t } from "../i18n/index.js";

interface Entry {
  schema: ConfigSchemaItem;
  item: ConfigItem;
}

export function SettingsPage() {
  const data = useLoad(async () => {
    const [schema, items] = await Promise.all([api.config.schema(), api.config.list()]);
    const byKey = new Map(items.map((item) => [item.key, item]));
    const groups = new Map<string, Entry[]>();
    for (const s of [...schema].sort((a, b) => a.order - b.order)) {
      const item = byKey.get(s.key);
      if (!item) continue;
      groups.set(s.category, [...(groups.get(s.category) ?? []), { schema: s, item }]);
    }
    return groups;
  }, []);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const loaded = data.data !== undefined;
  // `/settings#<key>` (e.g. from the analytics page): show that key once the rows exist.
  useEffect(() => {
    if (loaded && location.hash)
      document.getElementById(decodeURIComponent(location.hash.slice(1)))?.scrollIntoView();
  }, [loaded]);

  const reload = async () => {
    setError(null);
    try {
      const result = await api.config.reload();
      setNotice(t("settings.reloaded", { ms: result.duration_ms }));
      data.reload();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <div class="page">
      <div class="page-head">
        <h1>{t("nav.settings")}</h1>
        <div class="actions">
          <button type="button" onClick={reload}>
            {t("settings.reload")}
          </button>
        </div>
      </div>
      <p class="muted">{t("settings.help")}</p>
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <ErrorNote error={error ?? data.error} />
      {!data.data ? (
        <Loading />
      ) : (
        <>
          <nav class="chips" aria-label={t("settings.categories")}>
            {[...data.data.keys()].map((category) => (
              <a key={category} class="chip" href={`#cat-${category}`}>
                {category}
              </a>
            ))}
          </nav>
          {[...data.data.entries()].map(([category, entries]) => (
            <section key={category} class="card" id={`cat-${category}`}>
              <h2>{category}</h2>
              {entries.map((entry) => (
                <SettingRow
                  key={entry.schema.key}
                  entry={entry}
                  onSaved={(message) => {
                    setNotice(message);
                    data.reload();
                  }}
                />
              ))}
            </section>
          ))}
        </>
      )}
    </div>
  );
}

function SettingRow({ entry, onSaved }: { entry: Entry; onSaved: (message: string) => void }) {
  const { schema, item } = entry;
  const pinned = !item.editable;
  const [value, setValue] = useState(schema.is_sensitive ? "" : item.value);
  const [error, setError] = useState<unknown>(null);
  const [showHistory, setShowHistory] = useState(false);
  const changed = schema.is_sensitive ? value !== "" : value !== item.value;
  const id = `setting-${schema.key}`;

  const act = async (work: () => Promise<unknown>, message: string) => {
    setError(null);
    try {
      await work();
      if (schema.is_sensitive) setValue("");
      onSaved(message);
    } catch (err) {
      setError(err);
    }
  };

  return (
    <div class="setting" id={schema.key} data-key={schema.key}>
      <div class="setting-head">
        <label for={id}>
          <code>{schema.key}</code>
        </label>
        <span class="badges">
          <span class={`badge source-${item.source}`} title={t("settings.source")}>
            {t(`settings.source.${item.source}`)}
          </span>
          {schema.requires_restart && <span class="badge expired">{t("settings.restart")}</span>}
        </span>
      </div>
      <p class="muted small">{schema.description}</p>
      <div class="setting-edit">
        <Editor id={id} schema={schema} value={value} disabled={pinned} onChange={setValue} />
        {!pinned && (
          <span class="actions">
            <button
              type="button"
              class="small primary"
              disabled={!changed}
              onClick={() =>
                act(() => api.config.set(schema.key, value), t("settings.saved", { key: schema.key }))
              }
            >
              {t("common.save")}
            </button>
            <button
              type="button"
              class="small"
              onClick={() =>
                act(() => api.config.reset(schema.key), t("settings.resetDone", { key: schema.key }))
              }
            >
              {t("settings.reset")}
            </button>
            {schema.action === "generate_token" && (
              <button
                type="button"
                class="small"
                onClick={() =>
                  confirm(t("settings.generateConfirm", { key: schema.key })) &&
                  act(
                    () => api.config.executeAndSave(schema.key, "generate_token"),
                    t("settings.generated", { key: schema.key }),
                  )
                }
              >
                {t("settings.generate")}
              </button>
            )}
          </span>
        )}
        <button
          type="button"
          class="small quiet"
          aria-expanded={showHistory}
          onClick={() => setShowHistory(!showHistory)}
        >
          {t("settings.history")}
        </button>
      </div>
      {pinned && <p class="small warning">{t("settings.pinned", { source: item.source })}</p>}
      <ErrorNote error={error} />
      {showHistory && <History configKey={schema.key} />}
    </div>
  );
}

function Editor(props: {
  id: string;
  schema: ConfigSchemaItem;
  value: string;
  disabled: boolean;
  onChange: (v: string) => void;
}) {
  const { schema, value, disabled, onChange, id } = props;
  if (schema.is_sensitive) {
    return (
      <input
        id={id}
        type="password"
        autoComplete="new-password"
        placeholder={t("settings.secretPlaceholder")}
        value={value}
        disabled={disabled}
        onInput={(e) => onChange(e.currentTarget.value)}
      />
    );
  }
  switch (schema.value_type) {
    case "bool":
      return (
        <input
          id={id}
          type="checkbox"
          role="switch"
          checked={value === "true"}
          disabled={disabled}
          onChange={(e) => onChange(e.currentTarget.checked ? "true" : "false")}
        />
      );
    case "enum":
      return (
        <select id={id} value={value} disabled={disabled} onChange={(e) => onChange(e.currentTarget.value)}>
          {(schema.enum_options ?? []).map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
      );
    case "enumarray": {
      const chosen = new Set(parseList(value));
      return (
        <span id={id} class="checks" role="group">
          {(schema.enum_options ?? []).map((o) => (
            <label key={o.value} class="inline">
              <input
                type="checkbox"
                checked={chosen.has(o.value)}
                disabled={disabled}
                onChange={(e) => {
                  const next = (schema.enum_options ?? [])
                    .map((x) => x.value)
                    .filter((v) => (v === o.value ? e.currentTarget.checked : chosen.has(v)));
                  onChange(JSON.stringify(next));
                }}
              />{" "}
              {o.label}
            </label>
          ))}
        </span>
      );
    }
    case "stringarray":
      return (
        <textarea
          id={id}
          rows={Math.min(6, Math.max(2, parseList(value).length + 1))}
          placeholder={t("settings.onePerLine")}
          disabled={disabled}
          value={parseList(value).join("\n")}
          onInput={(e) =>
            onChange(
              JSON.stringify(
                e.currentTarget.value
                  .split("\n")
                  .map((line) => line.trim())
                  .filter((line) => line !== ""),
              ),
            )
          }
        />
      );
    case "int":
      return (
        <input
          id={id}
          type="number"
          step={1}
          value={value}
          disabled={disabled}
          onInput={(e) => onChange(e.currentTarget.value)}
        />
      );
    case "float":
      return (
        <input
          id={id}
          type="number"
          step="any"
          value={value}
          disabled={disabled}
          onInput={(e) => onChange(e.currentTarget.value)}
        />
      );
    case "json":
      return (
        <textarea
          id={id}
          rows={4}
          value={value}
          disabled={disabled}
          onInput={(e) => onChange(e.currentTarget.value)}
        />
      );
    default:
      return (
        <input
          id={id}
          type="text"
          value={value}
          disabled={disabled}
          onInput={(e) => onChange(e.currentTarget.value)}
        />
      );
  }
}

function parseList(value: string): string[] {
  try {
    const parsed = JSON.parse(value) as unknown;
    return Array.isArray(parsed) ? parsed.map(String) : [];
  } catch {
    return [];
  }
}

function History({ configKey }: { configKey: string }) {
  const history = useLoad(() => api.config.history(configKey, 20), [configKey]);
  if (history.error) return <ErrorNote error={history.error} />;
  if (!history.data) return <Loading />;
  if (history.data.length === 0) return <p class="muted small">{t("settings.noHistory")}</p>;
  return (
    <table class="compact history" data-testid="history">
      <thead>
        <tr>
          <th>{t("analytics.time")}</th>
          <th>{t("settings.by")}</th>
          <th>{t("settings.old")}</th>
          <th>{t("settings.new")}</th>
        </tr>
      </thead>
      <tbody>
        {history.data.map((h) => (
          <tr key={h.id}>
            <td class="nowrap">{formatTime(h.changed_at)}</td>
            <td>{h.changed_by ?? "—"}</td>
            <td>
              <code>{h.old_value ?? "—"}</code>
            </td>
            <td>
              <code>{h.new_value}</code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
