/**
 * A link's settings beyond Shortlinker's code/target/expiry/password: redirect status, state and limits
 * (`enabled`, `max_clicks`, `valid_from`, `fallback_url`), metadata (`title`, `notes`, `tags`), query forwarding,
 * crawlability and redirect rules. One place turns API input into settings (the same for single writes, batches,
 * imports and apply documents) and settings back into the API's snake_case fields.
 *
 * Input semantics follow the write: on a Shortlinker-style update an absent field keeps the stored value and
 * `null` clears it; a create or a whole-link replace (upsert, apply) starts from the defaults.
 */
import { AppError, type FieldError, validationFailed } from "../errors.js";
import { CONTROL_CHARS } from "../text.js";
import { parseRfc3339 } from "../util/time.js";
import { checkRules, type Rule, type RuleInput } from "./rules.js";
import { checkTarget } from "./target.js";

export const REDIRECT_STATUSES = [301, 302, 307, 308] as const;
export type RedirectStatus = (typeof REDIRECT_STATUSES)[number];

export const MAX_TAGS = 50;
export const MAX_TAG_LENGTH = 64;
export const MAX_TITLE_LENGTH = 512;
export const MAX_NOTES_LENGTH = 10_000;
export const MAX_CLICKS_LIMIT = 1_000_000_000_000;

export interface LinkSettings {
  /** null: the runtime default (`features.default_redirect_status`). */
  redirectStatus: RedirectStatus | null;
  enabled: boolean;
  /** Redirects allowed in all; counted exactly (an atomic database update per visit). */
  maxClicks: number | null;
  /** Epoch ms before which the link is not yet served. */
  validFrom: number | null;
  /** Where a disabled, not-yet-valid, expired or exhausted link sends visitors instead of a 404. */
  fallbackUrl: string | null;
  title: string | null;
  notes: string | null;
  /** Sorted, unique. */
  tags: string[];
  /** Append the visitor's query string to the target. */
  forwardQuery: boolean;
  /** Let search engines index the redirect (no `X-Robots-Tag: noindex`, allowed in robots.txt). */
  crawlable: boolean;
  /** Ordered; the first rule whose conditions all match picks the target. */
  rules: Rule[];
}

export const DEFAULT_SETTINGS: Readonly<LinkSettings> = Object.freeze({
  redirectStatus: null,
  enabled: true,
  maxClicks: null,
  validFrom: null,
  fallbackUrl: null,
  title: null,
  notes: null,
  tags: [],
  forwardQuery: false,
  crawlable: false,
  rules: [],
});

/** The settings fields as the API, CSV and apply documents carry them. */
export interface SettingsInput {
  redirect_status?: number | null | undefined;
  enabled?: boolean | null | undefined;
  max_clicks?: number | null | undefined;
  valid_from?: string | null | undefined;
  fallback_url?: string | null | undefined;
  title?: string | null | undefined;
  notes?: string | null | undefined;
  tags?: readonly string[] | null | undefined;
  forward_query?: boolean | null | undefined;
  crawlable?: boolean | null | undefined;
  rules?: readonly RuleInput[] | null | undefined;
}

export const SETTINGS_FIELDS = [
  "redirect_status",
  "enabled",
  "max_clicks",
  "valid_from",
  "fallback_url",
  "title",
  "notes",
  "tags",
  "forward_query",
  "crawlable",
  "rules",
] as const satisfies readonly (keyof SettingsInput)[];

/**
 * `input` applied on top of `base`: absent keeps, `null` resets to the default. Every invalid field is reported
 * (400 `validation_failed` with `fields`); nothing is half-applied.
 */
export function resolveSettings(input: SettingsInput, base: Readonly<LinkSettings>): LinkSettings {
  const errors: FieldError[] = [];
  const out: LinkSettings = { ...base, tags: [...base.tags], rules: [...base.rules] };
  const pick = <K extends keyof SettingsInput>(
    key: K,
    apply: (value: NonNullable<SettingsInput[K]>) => void,
  ) => {
    const value = input[key];
    if (value === undefined) return;
    try {
      if (value === null) resetField(out, key);
      else apply(value as NonNullable<SettingsInput[K]>);
    } catch (err) {
      if (!(err instanceof FieldProblem)) throw err;
      errors.push({ field: key, message: err.message });
    }
  };
  pick("redirect_status", (v) => {
    if (!REDIRECT_STATUSES.includes(v as RedirectStatus))
      throw new FieldProblem("must be 301, 302, 307 or 308");
    out.redirectStatus = v as RedirectStatus;
  });
  pick("enabled", (v) => (out.enabled = v));
  pick("max_clicks", (v) => {
    if (!Number.isSafeInteger(v) || v < 1 || v > MAX_CLICKS_LIMIT) {
      throw new FieldProblem(`must be an integer from 1 to ${MAX_CLICKS_LIMIT}`);
    }
    out.maxClicks = v;
  });
  pick("valid_from", (v) => {
    if (v === "") return void (out.validFrom = null);
    const time = parseRfc3339(v);
    if (time === null) throw new FieldProblem("must be an RFC 3339 time (e.g. 2030-01-01T00:00:00Z)");
    out.validFrom = time;
  });
  pick("fallback_url", (v) => {
    if (v === "") return void (out.fallbackUrl = null);
    const check = checkTarget(v);
    if (!check.ok) throw new FieldProblem(check.reason.replace("target URL", "fallback URL"));
    out.fallbackUrl = check.target;
  });
  pick("title", (v) => (out.title = text(v, MAX_TITLE_LENGTH, false)));
  pick("notes", (v) => (out.notes = text(v, MAX_NOTES_LENGTH, true)));
  pick("tags", (v) => (out.tags = normalizeTags(v)));
  pick("forward_query", (v) => (out.forwardQuery = v));
  pick("crawlable", (v) => (out.crawlable = v));
  pick("rules", (v) => {
    const checked = checkRules(v);
    if (!checked.ok) throw new FieldProblem(checked.reason);
    out.rules = checked.rules;
  });
  if (errors.length > 0) throw invalidSettings(errors);
  return out;
}

/** A tag: 1–64 characters, no control characters, no commas (lists of tags are comma-separated in CSV). */
export function checkTag(tag: string): string {
  const trimmed = tag.trim();
  if (trimmed === "") throw new FieldProblem("tags must not be empty");
  if (trimmed.length > MAX_TAG_LENGTH)
    throw new FieldProblem(`tags are at most ${MAX_TAG_LENGTH} characters`);
  if (CONTROL_CHARS.test(trimmed) || trimmed.includes(",")) {
    throw new FieldProblem("tags must not contain control characters or commas");
  }
  return trimmed;
}

export function normalizeTags(tags: readonly string[]): string[] {
  if (tags.length > MAX_TAGS) throw new FieldProblem(`at most ${MAX_TAGS} tags`);
  return [...new Set(tags.map(checkTag))].sort();
}

/** Settings as the API shows them (snake_case, RFC 3339 times). */
export function settingsResponse(settings: LinkSettings) {
  return {
    redirect_status: settings.redirectStatus,
    enabled: settings.enabled,
    max_clicks: settings.maxClicks,
    valid_from: settings.validFrom === null ? null : new Date(settings.validFrom).toISOString(),
    fallback_url: settings.fallbackUrl,
    title: settings.title,
    notes: settings.notes,
    tags: settings.tags,
    forward_query: settings.forwardQuery,
    crawlable: settings.crawlable,
    rules: settings.rules,
  };
}

/** The fields whose values differ, as `{field: {from, to}}` in API form (for plans). */
export function settingsDiff(
  from: LinkSettings,
  to: LinkSettings,
): Record<string, { from: unknown; to: unknown }> {
  const before = settingsResponse(from);
  const after = settingsResponse(to);
  const diff: Record<string, { from: unknown; to: unknown }> = {};
  for (const field of SETTINGS_FIELDS) {
    if (JSON.stringify(before[field]) !== JSON.stringify(after[field])) {
      diff[field] = { from: before[field], to: after[field] };
    }
  }
  return diff;
}

export function pickSettings(link: LinkSettings): LinkSettings {
  return {
    redirectStatus: link.redirectStatus,
    enabled: link.enabled,
    maxClicks: link.maxClicks,
    validFrom: link.validFrom,
    fallbackUrl: link.fallbackUrl,
    title: link.title,
    notes: link.notes,
    tags: link.tags,
    forwardQuery: link.forwardQuery,
    crawlable: link.crawlable,
    rules: link.rules,
  };
}

class FieldProblem extends Error {}

function text(value: string, max: number, multiline: boolean): string | null {
  if (value.length > max) throw new FieldProblem(`must be at most ${max} characters`);
  const forbidden = multiline ? /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/ : CONTROL_CHARS;
  if (forbidden.test(value)) throw new FieldProblem("must not contain control characters");
  return value === "" ? null : value;
}

function resetField(settings: LinkSettings, field: keyof SettingsInput): void {
  const key = {
    redirect_status: "redirectStatus",
    enabled: "enabled",
    max_clicks: "maxClicks",
    valid_from: "validFrom",
    fallback_url: "fallbackUrl",
    title: "title",
    notes: "notes",
    tags: "tags",
    forward_query: "forwardQuery",
    crawlable: "crawlable",
    rules: "rules",
  }[field] as keyof LinkSettings;
  (settings as unknown as Record<string, unknown>)[key] = DEFAULT_SETTINGS[key];
}

export function invalidSettings(fields: FieldError[]): AppError {
  return validationFailed(`Invalid link: ${fields.map((f) => `${f.field} ${f.message}`).join("; ")}`, fields);
}
