/** How numbers, times and changes are shown, in the reader's language. */
import { language } from "./i18n/index.js";

const locale = () => (language() === "zh" ? "zh-CN" : "en");

export function formatNumber(n: number): string {
  return new Intl.NumberFormat(locale()).format(n);
}

export function formatPercent(n: number, digits = 1): string {
  return `${n.toFixed(digits)} %`;
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? iso
    : date.toLocaleString(locale(), { dateStyle: "medium", timeStyle: "short" });
}

export function formatDay(iso: string): string {
  return new Date(iso).toLocaleDateString(locale(), { dateStyle: "medium" });
}

/** `+12.5 %`, `−3 %`, or `—` when there was nothing before. */
export function formatChange(percentage: number | null): string {
  if (percentage === null) return "—";
  const sign = percentage > 0 ? "+" : percentage < 0 ? "−" : "±";
  return `${sign}${Math.abs(percentage).toFixed(1)} %`;
}

/** A `datetime-local` input's value for an RFC 3339 time (local time, minutes). */
export function toLocalInput(iso: string | null | undefined): string {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** A `datetime-local` value as RFC 3339 (UTC), or null when empty. */
export function fromLocalInput(value: string): string | null {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** The browser's IANA time zone, sent as `tz` so days and weeks are the reader's. */
export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}
