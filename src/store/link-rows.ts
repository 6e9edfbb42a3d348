/**
 * How links map to rows: the column lists, the row ⇄ model conversions and the small helpers every links query
 * shares. Settings columns are named like the API's settings fields, on purpose.
 */
import type { Selectable } from "kysely";
import { yieldToEventLoop } from "../event-loop.js";
import type { Link, LinkWrite, RedirectFields } from "../links/model.js";
import type { Rule } from "../links/rules.js";
import { type LinkSettings, type RedirectStatus, SETTINGS_FIELDS } from "../links/settings.js";
import type { LinksTable } from "./schema.js";

/** Keeps statements well under every engine's bound-parameter limit. */
export const CHUNK = 400;

/**
 * `items` in slices of CHUNK, giving the event loop back between slices: SQLite writes synchronously, and a bulk
 * job's statements would otherwise hold every request queued meanwhile.
 */
export async function* chunksOf<T>(items: readonly T[]): AsyncGenerator<T[]> {
  for (let i = 0; i < items.length; i += CHUNK) {
    if (i > 0) await yieldToEventLoop();
    yield items.slice(i, i + CHUNK);
  }
}

/**
 * The settings columns a write sets; they are named like the API's settings fields (tags live in link_tags).
 */
export const SETTINGS_COLUMNS = SETTINGS_FIELDS.filter(
  (field): field is Exclude<(typeof SETTINGS_FIELDS)[number], "tags"> => field !== "tags",
) satisfies readonly (keyof LinksTable)[];

export const LINK_COLUMNS = [
  "code",
  "target",
  "created_at",
  "updated_at",
  "expires_at",
  "password_hash",
  "click_count",
  "revision",
  "managed_by",
  ...SETTINGS_COLUMNS,
] as const;

/** The columns behind `RedirectFields`: a cache miss reads these and nothing else. */
export const REDIRECT_COLUMNS = [
  "target",
  "expires_at",
  "password_hash",
  "redirect_status",
  "enabled",
  "max_clicks",
  "valid_from",
  "fallback_url",
  "forward_query",
  "crawlable",
  "rules",
] as const satisfies readonly (typeof LINK_COLUMNS)[number][];

/**
 * `isPlain` (links/model.ts) in SQL: no setting beyond code, target and expiry. An empty rules list is stored as
 * NULL (see settingsColumns).
 */
export const PLAIN_LINK_SQL =
  "(redirect_status IS NULL AND enabled = 1 AND max_clicks IS NULL AND valid_from IS NULL AND " +
  "password_hash IS NULL AND fallback_url IS NULL AND forward_query = 0 AND crawlable = 0 AND rules IS NULL)";

export type RedirectRow = Pick<Selectable<LinksTable>, (typeof REDIRECT_COLUMNS)[number]>;

export function settingsColumns(link: LinkSettings) {
  return {
    redirect_status: link.redirectStatus,
    enabled: link.enabled ? 1 : 0,
    max_clicks: link.maxClicks,
    valid_from: link.validFrom,
    fallback_url: link.fallbackUrl,
    title: link.title,
    notes: link.notes,
    forward_query: link.forwardQuery ? 1 : 0,
    crawlable: link.crawlable ? 1 : 0,
    rules: link.rules.length === 0 ? null : JSON.stringify(link.rules),
  };
}

/** A row as a link; `tags` are filled in by `withTags` where the caller needs them. */
export function toLink(row: Pick<Selectable<LinksTable>, (typeof LINK_COLUMNS)[number]>): Link {
  return {
    redirectStatus: row.redirect_status === null ? null : (Number(row.redirect_status) as RedirectStatus),
    enabled: Number(row.enabled) === 1,
    maxClicks: row.max_clicks === null ? null : Number(row.max_clicks),
    validFrom: row.valid_from === null ? null : Number(row.valid_from),
    fallbackUrl: row.fallback_url,
    title: row.title,
    notes: row.notes,
    tags: [],
    forwardQuery: Number(row.forward_query) === 1,
    crawlable: Number(row.crawlable) === 1,
    rules: row.rules === null ? [] : (JSON.parse(row.rules) as Rule[]),
    code: row.code,
    target: row.target,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    passwordHash: row.password_hash,
    clickCount: Number(row.click_count),
    revision: Number(row.revision),
    managedBy: row.managed_by,
  };
}

export function toRedirectFields(row: RedirectRow): RedirectFields {
  return {
    target: row.target,
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    passwordHash: row.password_hash,
    redirectStatus: row.redirect_status === null ? null : (Number(row.redirect_status) as RedirectStatus),
    enabled: Number(row.enabled) === 1,
    maxClicks: row.max_clicks === null ? null : Number(row.max_clicks),
    validFrom: row.valid_from === null ? null : Number(row.valid_from),
    fallbackUrl: row.fallback_url,
    forwardQuery: Number(row.forward_query) === 1,
    crawlable: Number(row.crawlable) === 1,
    rules: row.rules === null ? [] : (JSON.parse(row.rules) as Rule[]),
  };
}

/** Code order as every engine sorts codes byte-wise (the lock order of multi-row writes). */
export function compareCodes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `%` and `_` in user input match literally; `!` is the escape character on every engine. */
export function likePattern(term: string): string {
  return `%${term.toLowerCase().replace(/[!%_]/g, (c) => `!${c}`)}%`;
}

/** The columns a write sets (`managed_by` only when the write says who owns the link). */
export function linkRow(link: LinkWrite, now: number) {
  return {
    code: link.code,
    target: link.target,
    created_at: link.createdAt,
    updated_at: now,
    expires_at: link.expiresAt,
    password_hash: link.passwordHash,
    ...settingsColumns(link),
    click_count: link.clickCount,
    ...(link.managedBy === undefined ? {} : { managed_by: link.managedBy }),
  };
}

/** The columns an update writes (the owner only when the write names one). */
export function writableColumns(link: LinkWrite) {
  return {
    target: link.target,
    expires_at: link.expiresAt,
    password_hash: link.passwordHash,
    ...settingsColumns(link),
    ...(link.managedBy === undefined ? {} : { managed_by: link.managedBy }),
  };
}

/** The entries of `after` whose value differs from `before`'s. */
export function changedColumns<T extends Record<string, unknown>>(after: T, before: Partial<T>): Partial<T> {
  const changed: Partial<T> = {};
  for (const key of Object.keys(after) as (keyof T)[]) {
    if (after[key] !== before[key]) changed[key] = after[key];
  }
  return changed;
}
