/** CSV import (or another shortener's export): upload progress, then the per-row result. */
import { useState } from "preact/hooks";
import { type ImportResult, upload } from "../api.js";
import { ErrorNote, Field } from "../components.js";
import { formatNumber } from "../format.js";
import { t } from "../i18n/index.js";

const MODES = ["skip", "overwrite", "error"] as const;
const SOURCES = ["jmp", "yourls", "shlink", "kutt", "bitly"] as const;

export function ImportDialog({ onDone }: { onDone: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [mode, setMode] = useState<(typeof MODES)[number]>("skip");
  const [from, setFrom] = useState<(typeof SOURCES)[number]>("jmp");
  const [progress, setProgress] = useState<number | null>(null);
  const [result, setResult] = useState<ImportResult | null>(null);
  const [error, setError] = useState<unknown>(null);

  const submit = async (event: Event) => {
    event.preventDefault();
    if (!file) return;
    setError(null);
    setResult(null);
    setProgress(0);
    const form = new FormData();
    form.set("mode", mode);
    if (from !== "jmp") form.set("from", from);
    form.set("file", file);
    try {
      setResult(
        await upload<ImportResult>("/links/import", form, (sent, total) =>
          setProgress(total ? sent / total : 0),
        ),
      );
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setProgress(null);
    }
  };

  return (
    <form onSubmit={submit} data-testid="import">
      <div class="form-grid">
        <Field label={t("import.file")} class="span2">
          <input
            type="file"
            name="file"
            accept=".csv,.sql,.json,text/csv,application/json"
            required
            onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)}
          />
        </Field>
        <Field label={t("import.mode")} hint={t(`import.mode.${mode}`)}>
          <select name="mode" value={mode} onChange={(e) => setMode(e.currentTarget.value as typeof mode)}>
            {MODES.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </Field>
        <Field label={t("import.from")}>
          <select name="from" value={from} onChange={(e) => setFrom(e.currentTarget.value as typeof from)}>
            {SOURCES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </Field>
      </div>
      {progress !== null && (
        <p>
          <progress value={progress} max={1} aria-label={t("import.progress")} />{" "}
          {progress < 1
            ? t("import.uploading", { percent: Math.round(progress * 100) })
            : t("import.processing")}
        </p>
      )}
      <ErrorNote error={error} />
      {result && (
        <div data-testid="import-result" role="status">
          <p>
            {t("import.result", {
              total: formatNumber(result.total_rows),
              ok: formatNumber(result.success_count),
              skipped: formatNumber(result.skipped_count),
              failed: formatNumber(result.failed_count),
            })}
          </p>
          {result.failed_items.length > 0 && (
            <table class="compact">
              <thead>
                <tr>
                  <th>{t("import.row")}</th>
                  <th>{t("links.code")}</th>
                  <th>{t("import.error")}</th>
                </tr>
              </thead>
              <tbody>
                {result.failed_items.map((item, i) => (
                  <tr key={i}>
                    <td class="num">{item.row ?? "—"}</td>
                    <td>{item.code}</td>
                    <td>{item.error}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
      <div class="form-actions">
        <button type="submit" class="primary" disabled={!file || progress !== null}>
          {t("links.import")}
        </button>
      </div>
    </form>
  );
}
