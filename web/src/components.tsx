/** The panel's building blocks: cards, bar lists, charts, dialogs, pagers. User data is only ever text here. */
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import { messageOf } from "./api.js";
import { formatNumber } from "./format.js";
import { t } from "./i18n/index.js";

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {messageOf(error)}
    </p>
  );
}

export function Loading() {
  return <p class="muted">{t("common.loading")}</p>;
}

export function Card(props: {
  title?: string;
  children: ComponentChildren;
  class?: string;
  actions?: ComponentChildren;
}) {
  return (
    <section class={`card ${props.class ?? ""}`}>
      {(props.title || props.actions) && (
        <header class="card-head">
          {props.title && <h2>{props.title}</h2>}
          {props.actions && <div class="actions">{props.actions}</div>}
        </header>
      )}
      {props.children}
    </section>
  );
}

export function Stat(props: { label: string; value: string; hint?: string; testid?: string }) {
  return (
    <div class="stat" data-testid={props.testid}>
      <div class="stat-label">{props.label}</div>
      <div class="stat-value">{props.value}</div>
      {props.hint && <div class="stat-hint">{props.hint}</div>}
    </div>
  );
}

export interface Bar {
  label: string;
  value: number;
  /** Shown after the value, e.g. a percentage. */
  note?: string;
  onSelect?: () => void;
  href?: string;
}

/** A ranked list with proportional bars (as Plausible and Umami show breakdowns): readable, testable as text. */
export function BarList({ bars, empty, testid }: { bars: Bar[]; empty?: string; testid?: string }) {
  if (bars.length === 0) return <p class="muted">{empty ?? t("common.noData")}</p>;
  const max = Math.max(...bars.map((b) => b.value), 1);
  return (
    <ul class="bars" data-testid={testid}>
      {bars.map((bar) => {
        const label = bar.href ? (
          <a href={bar.href}>{bar.label}</a>
        ) : bar.onSelect ? (
          <button type="button" class="link" onClick={bar.onSelect}>
            {bar.label}
          </button>
        ) : (
          <span>{bar.label}</span>
        );
        return (
          <li key={bar.label}>
            <BarFill ratio={bar.value / max} />
            <span class="bar-label">{label}</span>
            <span class="bar-value">
              {formatNumber(bar.value)}
              {bar.note && <small> {bar.note}</small>}
            </span>
          </li>
        );
      })}
    </ul>
  );
}

/** The bar behind a row; its width is set through the CSSOM (allowed by `style-src 'self'`). */
function BarFill({ ratio }: { ratio: number }) {
  const ref = useRef<HTMLSpanElement>(null);
  useEffect(() => {
    if (ref.current) ref.current.style.width = `${Math.max(0, Math.min(1, ratio)) * 100}%`;
  }, [ratio]);
  return <span class="bar-fill" ref={ref} aria-hidden="true" />;
}

/** A small line of the values, drawn as SVG attributes (no styles, no script). */
export function Sparkline({ values, label }: { values: number[]; label: string }) {
  const width = 160;
  const height = 36;
  const max = Math.max(...values, 1);
  const step = values.length > 1 ? width / (values.length - 1) : width;
  const points = values.map(
    (v, i) => `${(i * step).toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`,
  );
  return (
    <svg
      class="sparkline"
      viewBox={`0 0 ${width} ${height}`}
      width={width}
      height={height}
      role="img"
      aria-label={label}
    >
      <polyline points={points.join(" ")} fill="none" stroke="currentColor" stroke-width="2" />
    </svg>
  );
}

/** Bucket steps between x-axis labels: hours, days, weeks of hours, months of days. */
const TICK_STEPS = [1, 2, 3, 4, 6, 12, 24, 48, 72, 168, 336, 720];

/** The server's bucket labels, shortened for an axis: `2026-12-06 13:00` → `13:00`, `2026-12-06` → `12-06`. */
function shortLabel(label: string): string {
  const hour = /^\d{4}-(\d{2}-\d{2}) (\d{2}:\d{2})/.exec(label);
  if (hour) return hour[2] === "00:00" ? hour[1]! : hour[2]!;
  const day = /^\d{4}-(\d{2}-\d{2})$/.exec(label);
  return day ? day[1]! : label;
}

/** `rgb(r, g, b)` → the same colour at 15 % opacity (the area under the line). */
function translucent(rgb: string): string {
  const [r, g, b] = rgb.match(/\d+/g) ?? ["36", "87", "214"];
  return `rgba(${r}, ${g}, ${b}, 0.15)`;
}

/** The time chart of a page (uPlot): one series over the range's buckets, labelled as the server labels them. */
export function TimeChart({
  labels,
  values,
  testid,
}: {
  labels: string[];
  values: number[];
  testid?: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    // The theme's colours, resolved by the browser (styles.css sets them on .chart).
    const css = getComputedStyle(element);
    const stroke = css.color;
    const grid = css.borderTopColor;
    const text = css.outlineColor;
    const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const chart = new uPlot(
      {
        width: Math.max(280, element.clientWidth),
        height: 240,
        scales: { x: { time: false } },
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        axes: [
          {
            ...axis,
            space: 56,
            incrs: TICK_STEPS,
            values: (_u, splits) => splits.map((i) => shortLabel(labels[Math.round(i)] ?? "")),
          },
          { ...axis, size: 56 },
        ],
        series: [
          {},
          {
            label: t("analytics.clicks"),
            stroke,
            width: 2,
            fill: translucent(stroke),
            points: { show: values.length < 40 },
          },
        ],
      },
      [labels.map((_, i) => i), values],
      element,
    );
    const resize = new ResizeObserver(() =>
      chart.setSize({ width: Math.max(280, element.clientWidth), height: 240 }),
    );
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [labels.join("\n"), values.join(",")]);
  return (
    <div
      class="chart"
      data-testid={testid}
      ref={box}
      role="img"
      aria-label={t("analytics.chartLabel", { n: values.reduce((a, b) => a + b, 0) })}
    />
  );
}

/** A modal dialog (the native `<dialog>`: focus trap, Escape and backdrop for free). */
export function Modal(props: {
  title: string;
  open: boolean;
  onClose: () => void;
  children: ComponentChildren;
  wide?: boolean;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (props.open && !dialog.open) dialog.showModal();
    if (!props.open && dialog.open) dialog.close();
  }, [props.open]);
  return (
    <dialog ref={ref} class={props.wide ? "wide" : ""} onClose={props.onClose} aria-label={props.title}>
      {props.open && (
        <>
          <header class="dialog-head">
            <h2>{props.title}</h2>
            <button type="button" class="icon" onClick={props.onClose} aria-label={t("common.close")}>
              ×
            </button>
          </header>
          {props.children}
        </>
      )}
    </dialog>
  );
}

export function Pager(props: { page: number; pages: number; total: number; onPage: (page: number) => void }) {
  return (
    <nav class="pager" aria-label={t("common.pages")}>
      <button type="button" disabled={props.page <= 1} onClick={() => props.onPage(props.page - 1)}>
        ‹ {t("common.previous")}
      </button>
      <span>
        {t("common.pageOf", { page: props.page, pages: Math.max(1, props.pages), total: props.total })}
      </span>
      <button type="button" disabled={props.page >= props.pages} onClick={() => props.onPage(props.page + 1)}>
        {t("common.next")} ›
      </button>
    </nav>
  );
}

export function CopyButton({ text, label }: { text: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // Clipboard refused (no secure context): select-and-copy stays possible by hand.
      return;
    }
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  };
  return (
    <button type="button" class="small" onClick={copy}>
      {copied ? t("common.copied") : (label ?? t("common.copy"))}
    </button>
  );
}

/** A labelled form control: the label wraps the control, so a click or a screen reader finds it. */
export function Field(props: { label: string; hint?: string; children: ComponentChildren; class?: string }) {
  return (
    <label class={`field ${props.class ?? ""}`}>
      <span class="field-label">{props.label}</span>
      {props.children}
      {props.hint && <small class="muted">{props.hint}</small>}
    </label>
  );
}
