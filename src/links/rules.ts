/**
 * Redirect rules: an ordered list of `{conditions, target}` per link. The first rule whose conditions all match
 * the visit picks the target; no match → the link's own target. Conditions:
 *
 * - `device`: `ios`, `android`, `mobile` (any phone or tablet) or `desktop` (from the User-Agent);
 * - `language`: the visitor's preferred language (first of Accept-Language by q) — `de` matches `de` and
 *   `de-CH`, `de-CH` only `de-CH`;
 * - `country`: the visitor's country (ISO 3166-1 alpha-2, e.g. `DE`) from the GeoIP database
 *   (`JMP_GEOIP_DATABASE`); without one it never matches;
 * - `query`: the visit's query string has parameter `name` (with `value`: equal to it);
 * - `before` / `after`: the visit happens before / at or after an RFC 3339 time.
 *
 * Pure functions: checked once when a link is written, evaluated on the redirect path without allocation beyond
 * what the conditions need.
 */
import { CONTROL_CHARS } from "../text.js";
import { parseRfc3339 } from "../util/time.js";
import { checkTarget } from "./target.js";

export const MAX_RULES = 20;
export const MAX_CONDITIONS = 10;
export const DEVICES = ["ios", "android", "mobile", "desktop"] as const;
export type Device = (typeof DEVICES)[number];

export type Condition =
  | { type: "device"; value: Device }
  | { type: "language"; value: string }
  | { type: "country"; value: string }
  | { type: "query"; name: string; value?: string }
  | { type: "before"; value: string }
  | { type: "after"; value: string };

export interface Rule {
  conditions: Condition[];
  target: string;
}

/** What a client sends (checked by checkRules; the HTTP schema already fixed the shape). */
export interface RuleInput {
  conditions: readonly { type: string; value?: string | undefined; name?: string | undefined }[];
  target: string;
}

export type RulesCheck = { ok: true; rules: Rule[] } | { ok: false; reason: string };

const LANGUAGE = /^[a-z]{2,3}(-[a-z0-9]{1,8})*$/i;

/**
 * Checks rules from any source. The HTTP schemas fix their shape already, but a CSV cell holds any JSON, so the
 * shape is checked here too: a wrong one is a reason, never an exception.
 */
export function checkRules(input: unknown): RulesCheck {
  if (!Array.isArray(input)) return { ok: false, reason: "rules must be an array" };
  if (input.length > MAX_RULES) return { ok: false, reason: `at most ${MAX_RULES} rules` };
  const rules: Rule[] = [];
  for (const [i, rule] of (input as unknown[]).entries()) {
    const at = `rule ${i + 1}`;
    if (!isRuleShape(rule)) {
      return {
        ok: false,
        reason: `${at}: must be {"conditions": [{"type", "value"?, "name"?}, …], "target": "<url>"} with string values`,
      };
    }
    const target = checkTarget(rule.target);
    if (!target.ok) return { ok: false, reason: `${at}: ${target.reason}` };
    if (rule.conditions.length === 0 || rule.conditions.length > MAX_CONDITIONS) {
      return { ok: false, reason: `${at}: needs 1 to ${MAX_CONDITIONS} conditions` };
    }
    const conditions: Condition[] = [];
    for (const condition of rule.conditions) {
      const checked = checkCondition(condition);
      if (typeof checked === "string") return { ok: false, reason: `${at}: ${checked}` };
      conditions.push(checked);
    }
    rules.push({ conditions, target: target.target });
  }
  return { ok: true, rules };
}

function isRuleShape(rule: unknown): rule is RuleInput {
  if (typeof rule !== "object" || rule === null) return false;
  const { conditions, target } = rule as Record<string, unknown>;
  if (typeof target !== "string" || !Array.isArray(conditions)) return false;
  return conditions.every((c: unknown) => {
    if (typeof c !== "object" || c === null) return false;
    const { type, value, name } = c as Record<string, unknown>;
    return (
      typeof type === "string" &&
      (value === undefined || typeof value === "string") &&
      (name === undefined || typeof name === "string")
    );
  });
}

function checkCondition(input: RuleInput["conditions"][number]): Condition | string {
  const value = input.value ?? "";
  switch (input.type) {
    case "device":
      return (DEVICES as readonly string[]).includes(value)
        ? { type: "device", value: value as Device }
        : `device must be one of ${DEVICES.join(", ")}`;
    case "language":
      return LANGUAGE.test(value)
        ? { type: "language", value: value.toLowerCase() }
        : "language must be a language tag such as en or de-CH";
    case "country":
      return /^[A-Za-z]{2}$/.test(value)
        ? { type: "country", value: value.toUpperCase() }
        : "country must be an ISO 3166-1 alpha-2 code such as DE";
    case "query": {
      const name = input.name ?? "";
      if (name === "" || name.length > 128 || CONTROL_CHARS.test(name)) {
        return "query needs a parameter name (1-128 characters)";
      }
      if (input.value === undefined) return { type: "query", name };
      if (value.length > 1024 || CONTROL_CHARS.test(value))
        return "query value must be at most 1024 characters";
      return { type: "query", name, value };
    }
    case "before":
    case "after": {
      const time = parseRfc3339(value);
      if (time === null) return `${input.type} must be an RFC 3339 time`;
      return { type: input.type, value: new Date(time).toISOString() };
    }
    default:
      return `unknown condition type '${String(input.type).slice(0, 32)}'`;
  }
}

/** The parts of a visit that rules look at. */
export interface Visit {
  userAgent: string | undefined;
  acceptLanguage: string | undefined;
  /** The raw query string (after `?`), or "" */
  query: string;
  now: number;
  /** The visitor's country code, looked up only if a rule asks. */
  country(): string | undefined;
}

/** The index of the first rule whose conditions all match, or -1. */
export function matchRule(rules: readonly Rule[], visit: Visit): number {
  let params: URLSearchParams | undefined;
  const query = () => (params ??= new URLSearchParams(visit.query));
  return rules.findIndex((rule) => rule.conditions.every((c) => matches(c, visit, query)));
}

function matches(condition: Condition, visit: Visit, query: () => URLSearchParams): boolean {
  switch (condition.type) {
    case "device":
      return deviceMatches(condition.value, visit.userAgent ?? "");
    case "language": {
      const preferred = preferredLanguage(visit.acceptLanguage);
      return (
        preferred !== undefined &&
        (preferred === condition.value || preferred.startsWith(`${condition.value}-`))
      );
    }
    case "country":
      return visit.country() === condition.value;
    case "query": {
      const params = query();
      if (condition.value === undefined) return params.has(condition.name);
      return params.getAll(condition.name).includes(condition.value);
    }
    case "before":
      return visit.now < Date.parse(condition.value);
    case "after":
      return visit.now >= Date.parse(condition.value);
  }
}

const IOS = /\b(iPhone|iPad|iPod)\b/;
const ANDROID = /\bAndroid\b/;
const MOBILE = /\b(Mobi|Mobile|Android|iPhone|iPad|iPod|Tablet)\b/;

function deviceMatches(device: Device, userAgent: string): boolean {
  switch (device) {
    case "ios":
      return IOS.test(userAgent);
    case "android":
      return ANDROID.test(userAgent);
    case "mobile":
      return MOBILE.test(userAgent);
    case "desktop":
      return userAgent !== "" && !MOBILE.test(userAgent);
  }
}

/** The language with the highest q (the first of equals), lower-cased; `*` and q=0 entries are skipped. */
export function preferredLanguage(header: string | undefined): string | undefined {
  if (!header) return undefined;
  let best: string | undefined;
  let bestQ = 0;
  for (const part of header.split(",")) {
    const [tag = "", ...params] = part.trim().split(";");
    let q = 1;
    for (const param of params) {
      const [name, value] = param.trim().split("=");
      if (name === "q") q = Number(value);
    }
    if (!LANGUAGE.test(tag) || !(q > bestQ)) continue;
    best = tag.toLowerCase();
    bestQ = q;
  }
  return best;
}
