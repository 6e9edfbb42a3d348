/**
 * The panel's language: which catalogue speaks (en.ts, zh.ts: one per language) and `t()`, which reads it.
 * The Chinese table must have every English key (a missing one fails the type-check). `{name}` in a string is
 * replaced by the value given for it. The language comes from the browser, or from the switch (remembered).
 */
import { en, type MessageKey } from "./en.js";
import { zh } from "./zh.js";

export type { MessageKey };

export type Language = "en" | "zh";
export const LANGUAGES: [Language, string][] = [
  ["en", "English"],
  ["zh", "简体中文"],
];
const CATALOGUES: Record<Language, Record<MessageKey, string>> = { en, zh };
const STORAGE = "jmp.lang";

let current: Language = "en";

export function language(): Language {
  return current;
}

/** The remembered choice, else the browser's first language we have. */
export function applyLanguage(): void {
  const saved = localStorage.getItem(STORAGE);
  if (saved === "en" || saved === "zh") current = saved;
  else {
    const first = navigator.languages
      .map((l) => l.toLowerCase().slice(0, 2))
      .find((l) => l === "zh" || l === "en");
    current = first === "zh" ? "zh" : "en";
  }
  document.documentElement.lang = current === "zh" ? "zh-CN" : "en";
}

export function setLanguage(next: Language): void {
  localStorage.setItem(STORAGE, next);
  applyLanguage();
}

export function t(key: MessageKey, values: Record<string, string | number> = {}): string {
  const text = CATALOGUES[current][key] ?? en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? String(values[name]) : whole));
}
