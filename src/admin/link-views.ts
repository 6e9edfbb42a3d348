/** How the links routes read their queries and answer: response shapes, filters, dates, bounds. */
import type { FastifyRequest } from "fastify";
import type { ConfigService } from "../config/service.js";
import { badRequest, invalidDate } from "../errors.js";
import type { Link } from "../links/model.js";
import { shortUrl } from "../links/qr.js";
import { normalizeTags, settingsResponse } from "../links/settings.js";
import {
  DEFAULT_LINK_SORT,
  type LinkFilter,
  type LinkSort,
  type LinkSortColumn,
} from "../store/link-filter.js";
import { CONTROL_CHARS, REDACTED } from "../text.js";
import { parseRfc3339 } from "../util/time.js";

/** Where short links are served: `features.public_base_url`, else this request's own origin. */
export function baseUrl(request: FastifyRequest, config: ConfigService): string {
  return config.get("features.public_base_url") || `${request.protocol}://${request.host}`;
}

export function linkResponse(link: Link, base: string) {
  return {
    code: link.code,
    short_url: shortUrl(base, link.code),
    target: link.target,
    created_at: new Date(link.createdAt).toISOString(),
    updated_at: new Date(link.updatedAt).toISOString(),
    expires_at: link.expiresAt === null ? null : new Date(link.expiresAt).toISOString(),
    password: link.passwordHash === null ? null : REDACTED,
    click_count: link.clickCount,
    ...settingsResponse(link),
  };
}

/** The create/update `data`: Shortlinker's PostNewLink keys (with `force: null`) plus the stored fields. */
export function writeResponse(link: Link, base: string) {
  return { ...linkResponse(link, base), force: null };
}

export function toFilter(query: {
  search?: string | undefined;
  created_after?: string | undefined;
  created_before?: string | undefined;
  only_expired?: boolean | undefined;
  only_active?: boolean | undefined;
  status?: "active" | "expired" | "disabled" | undefined;
  tags?: string | undefined;
  tags_mode?: "any" | "all" | undefined;
}): LinkFilter {
  if (query.search && CONTROL_CHARS.test(query.search)) {
    throw badRequest("search must not contain control characters");
  }
  let tags: string[] | undefined;
  if (query.tags) {
    try {
      tags = normalizeTags(query.tags.split(","));
    } catch (err) {
      throw badRequest(`tags: ${(err as Error).message}`);
    }
  }
  return {
    tags,
    tagsMode: query.tags_mode,
    search: query.search || undefined,
    createdAfter: dateParam("created_after", query.created_after),
    createdBefore: dateParam("created_before", query.created_before),
    ...stateOf(query),
  };
}

function stateOf(query: {
  only_expired?: boolean | undefined;
  only_active?: boolean | undefined;
  status?: "active" | "expired" | "disabled" | undefined;
}): Pick<LinkFilter, "state" | "enabled"> {
  if ([query.only_expired, query.only_active, query.status].filter(Boolean).length > 1)
    throw badRequest("only_expired, only_active and status are mutually exclusive");
  if (query.status === "active") return { state: "active", enabled: true };
  if (query.status === "disabled") return { enabled: false };
  if (query.status === "expired" || query.only_expired) return { state: "expired" };
  return query.only_active ? { state: "active" } : {};
}

/** `-click_count` → clicks, most first; absent → newest first. */
export function sortOf(sort: string | undefined): LinkSort {
  if (!sort) return DEFAULT_LINK_SORT;
  const descending = sort.startsWith("-");
  return { column: (descending ? sort.slice(1) : sort) as LinkSortColumn, descending };
}

export function dateParam(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  const time = parseRfc3339(value);
  if (time === null) {
    throw invalidDate(`Invalid ${name}: '${value}'. Use RFC3339 (e.g., 2024-01-01T00:00:00Z)`);
  }
  return time;
}

export function clamp(value: number | undefined, min: number, max: number, fallback: number): number {
  return value === undefined ? fallback : Math.min(max, Math.max(min, value));
}
