/**
 * The time range of an analytics view, kept in the URL: a preset (24 h … 1 y) or a custom pair of days, the
 * bucket size, and the browser's time zone (sent as `tz`, so "a day" is the reader's day).
 */
import { Field } from "../components.js";
import { browserTimeZone } from "../format.js";
import { t } from "../i18n/index.js";
import { setQuery } from "../router.js";

export const PRESETS = { "24h": 1, "7d": 7, "30d": 30, "90d": 90, "1y": 365 } as const;
type Preset = keyof typeof PRESETS;
type GroupBy = "hour" | "day" | "week" | "month";
const GROUPS: GroupBy[] = ["hour", "day", "week", "month"];

export interface Range {
  preset: Preset | "custom";
  from: string;
  to: string;
  group_by: GroupBy;
  /** The query the analytics routes take. */
  query: { start_date: string; end_date: string; group_by: GroupBy; tz: string };
}

function defaultGroup(days: number): GroupBy {
  return days <= 2 ? "hour" : days <= 92 ? "day" : "month";
}

/**
 * The end of a preset range: the next whole minute, so re-rendering does not change the query (and reload) every
 * millisecond, while the clicks of the current minute are in.
 */
function rangeEnd(): number {
  return Math.ceil((Date.now() + 1) / 60_000) * 60_000;
}

export function rangeOf(query: URLSearchParams, fallback: Preset = "7d"): Range {
  const asked = query.get("range");
  const from = query.get("from") ?? "";
  const to = query.get("to") ?? "";
  const custom = asked === "custom" && /^\d{4}-\d{2}-\d{2}$/.test(from) && /^\d{4}-\d{2}-\d{2}$/.test(to);
  const preset: Preset | "custom" = custom
    ? "custom"
    : asked && asked in PRESETS
      ? (asked as Preset)
      : fallback;
  let start: Date;
  let end: Date;
  if (preset === "custom") {
    start = new Date(`${from}T00:00:00`);
    end = new Date(`${to}T00:00:00`);
    end.setDate(end.getDate() + 1);
  } else {
    end = new Date(rangeEnd());
    start = new Date(end.getTime() - PRESETS[preset] * 86_400_000);
  }
  const days = (end.getTime() - start.getTime()) / 86_400_000;
  const groupAsked = query.get("group_by") as GroupBy | null;
  const group_by = groupAsked && GROUPS.includes(groupAsked) ? groupAsked : defaultGroup(days);
  return {
    preset,
    from,
    to,
    group_by,
    query: { start_date: start.toISOString(), end_date: end.toISOString(), group_by, tz: browserTimeZone() },
  };
}

export function RangeControls({ range }: { range: Range }) {
  return (
    <div class="range" role="group" aria-label={t("range.label")}>
      <div class="segmented">
        {(Object.keys(PRESETS) as Preset[]).map((preset) => (
          <button
            key={preset}
            type="button"
            aria-pressed={range.preset === preset}
            onClick={() => setQuery({ range: preset, from: undefined, to: undefined, group_by: undefined })}
          >
            {t(`range.${preset}`)}
          </button>
        ))}
        <button
          type="button"
          aria-pressed={range.preset === "custom"}
          onClick={() => setQuery({ range: "custom" })}
        >
          {t("range.custom")}
        </button>
      </div>
      {(range.preset === "custom" || (range.from && range.to)) && (
        <>
          <Field label={t("range.from")} class="inline">
            <input
              type="date"
              value={range.from}
              onChange={(e) => setQuery({ range: "custom", from: e.currentTarget.value })}
            />
          </Field>
          <Field label={t("range.to")} class="inline">
            <input
              type="date"
              value={range.to}
              onChange={(e) => setQuery({ range: "custom", to: e.currentTarget.value })}
            />
          </Field>
        </>
      )}
      <Field label={t("range.groupBy")} class="inline">
        <select value={range.group_by} onChange={(e) => setQuery({ group_by: e.currentTarget.value })}>
          {GROUPS.map((g) => (
            <option key={g} value={g}>
              {t(`range.group.${g}`)}
            </option>
          ))}
        </select>
      </Field>
    </div>
  );
}
