/**
 * Which links a listing, an export or a batch by filter takes, and in what order: the filter and sort types of
 * the admin API's link lists, and the query that applies a filter (links-store.ts selects from it).
 */
import { sql } from "kysely";
import type { Db } from "./db.js";
import { likePattern } from "./link-rows.js";

export interface LinkFilter {
  search?: string | undefined;
  createdAfter?: number | undefined;
  createdBefore?: number | undefined;
  /** active: not past its expiry (Shortlinker's `only_active`); expired: past it. */
  state?: "active" | "expired" | undefined;
  /** Only enabled (true) or only disabled (false) links. */
  enabled?: boolean | undefined;
  /** Links with any (or, with `tagsMode: "all"`, every one) of these tags. */
  tags?: readonly string[] | undefined;
  tagsMode?: "any" | "all" | undefined;
}

/** The orders a page of links can be listed in: a column, ascending or (with a leading `-`) descending. */
export const LINK_SORTS = [
  "created_at",
  "updated_at",
  "code",
  "target",
  "expires_at",
  "click_count",
] as const;
export type LinkSortColumn = (typeof LINK_SORTS)[number];
export interface LinkSort {
  column: LinkSortColumn;
  descending: boolean;
}
/** Newest first: the Shortlinker order. */
export const DEFAULT_LINK_SORT: LinkSort = { column: "created_at", descending: true };

/** The links `filter` matches at `now`, as a query to select from. */
export function filteredLinks(db: Db, filter: LinkFilter, now: number) {
  let query = db.selectFrom("links");
  if (filter.search) {
    const pattern = likePattern(filter.search);
    query = query.where((eb) =>
      eb.or([
        eb(eb.fn("lower", ["code"]), "like", sql<string>`${pattern} escape '!'`),
        eb(eb.fn("lower", ["target"]), "like", sql<string>`${pattern} escape '!'`),
      ]),
    );
  }
  if (filter.tags && filter.tags.length > 0) {
    const tags = [...filter.tags];
    query =
      filter.tagsMode === "all"
        ? query.where("code", "in", (eb) =>
            eb
              .selectFrom("link_tags")
              .select("code")
              .where("tag", "in", tags)
              .groupBy("code")
              .having((h) => h.fn.count("tag").distinct(), "=", tags.length),
          )
        : query.where("code", "in", (eb) =>
            eb.selectFrom("link_tags").select("code").where("tag", "in", tags),
          );
  }
  if (filter.createdAfter !== undefined) query = query.where("created_at", ">=", filter.createdAfter);
  if (filter.createdBefore !== undefined) query = query.where("created_at", "<=", filter.createdBefore);
  if (filter.state === "expired") {
    query = query.where("expires_at", "is not", null).where("expires_at", "<=", now);
  } else if (filter.state === "active") {
    query = query.where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", now)]));
  }
  if (filter.enabled !== undefined) query = query.where("enabled", "=", filter.enabled ? 1 : 0);
  return query;
}
