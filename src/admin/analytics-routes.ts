/**
 * Admin API v1 — analytics: Shortlinker's eight routes (`GET`/`HEAD /analytics/trends|top|referrers|geo|devices|
 * export`, `GET /links/{code}/analytics[/devices]`), scope `analytics:read`. Codes with a `/` reach the per-link
 * routes through the `/links/*` route (links-routes.ts), which calls `linkAnalyticsRoute` below.
 */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Readable } from "node:stream";
import type { FastifyRequest } from "fastify";
import { type TOptional, type TString, Type } from "typebox";
import type { AnalyticsErasure } from "../analytics/erasure.js";
import { type AnalyticsQueries, type AnalyticsQuery, FILTERS } from "../analytics/queries.js";
import { hasScope } from "../auth/scopes.js";
import { insufficientScope, notFound } from "../errors.js";
import { isValidCodeSyntax } from "../links/codes.js";
import { auditContextOf } from "./context.js";
import { GROUP_BY } from "../analytics/range.js";
import { ok } from "./envelope.js";
import {
  ClickPageSchema,
  DevicesSchema,
  Envelope,
  ErasedSchema,
  GeoCountSchema,
  LinkAnalyticsSchema,
  ReferrerSchema,
  SummarySchema,
  TagClicksSchema,
  TopLinkSchema,
  TrendSchema,
} from "./schemas.js";

/** The query of every analytics route (Shortlinker validates `group_by` on each, used or not). */
export const AnalyticsQuerySchema = Type.Object({
  start_date: Type.Optional(
    Type.String({
      maxLength: 64,
      description: "RFC 3339, or YYYY-MM-DD (00:00Z of that day). Default: end − 30 days",
    }),
  ),
  end_date: Type.Optional(
    Type.String({
      maxLength: 64,
      description: "RFC 3339 (inclusive), or YYYY-MM-DD (the whole day). Default: now",
    }),
  ),
  group_by: Type.Optional(
    Type.Union(
      GROUP_BY.map((value) => Type.Literal(value)),
      { default: "day" },
    ),
  ),
  limit: Type.Optional(Type.Integer({ minimum: 0, maximum: 2_147_483_647 })),
  tz: Type.Optional(
    Type.String({
      maxLength: 64,
      description: "jmp: IANA time zone of day/week/month buckets and date-only bounds (default UTC)",
    }),
  ),
  exclude_bots: Type.Optional(
    Type.Boolean({ description: "jmp: leave out clicks flagged as bots (default false)" }),
  ),
  ...(Object.fromEntries(
    FILTERS.map((name) => [
      name,
      Type.Optional(
        Type.String({
          maxLength: 255,
          description: `jmp: only recorded clicks whose ${name === "tag" ? "link has this tag" : `${name} is this`} (needs detailed logging)`,
        }),
      ),
    ]),
  ) as Record<(typeof FILTERS)[number], TOptional<TString>>),
});

/** The click listing's query: the analytics query and its page. */
const ClicksQuerySchema = Type.Object({
  ...AnalyticsQuerySchema.properties,
  cursor: Type.Optional(Type.String({ maxLength: 20, description: "next_cursor of the previous page" })),
  page_size: Type.Optional(
    Type.Integer({ minimum: 0, maximum: 2_147_483_647, description: "default 50, at most 1000" }),
  ),
});

const scope = { scope: "analytics:read" } as const;
const tags = ["analytics"];

export interface AnalyticsDeps {
  queries: AnalyticsQueries;
  erasure: AnalyticsErasure;
}

/** Erasing a link's analytics destroys data: the `admin` scope, checked again where `/links/*` routes here. */
export async function eraseLinkAnalyticsRoute(
  analytics: AnalyticsDeps,
  request: FastifyRequest,
  code: string,
) {
  if (!hasScope(request.principal!.scopes, "admin"))
    throw insufficientScope("This requires the scope 'admin'");
  if (!isValidCodeSyntax(code)) throw notFound();
  return ok(await analytics.erasure.eraseLink(code, auditContextOf(request)), "Analytics erased");
}

/** The per-link answers, for both routes that reach them. */
export async function linkAnalyticsRoute(
  analytics: AnalyticsQueries,
  code: string,
  devices: boolean,
  query: AnalyticsQuery,
) {
  // A code that cannot exist (empty: `/links//analytics`) is not found; an unknown valid one answers zeros.
  if (!isValidCodeSyntax(code)) throw notFound();
  return ok(devices ? await analytics.linkDevices(code, query) : await analytics.link(code, query));
}

export function analyticsRoutes(deps: AnalyticsDeps): FastifyPluginAsyncTypebox {
  const analytics = deps.queries;
  return async (app) => {
    const read = (summary: string, operationId: string, data: Parameters<typeof Envelope>[0]) => ({
      config: scope,
      schema: {
        summary,
        operationId,
        tags,
        querystring: AnalyticsQuerySchema,
        response: { 200: Envelope(data) },
      },
    });

    app.get(
      "/analytics/trends",
      read("Clicks over time, every bucket of the range (zero-filled)", "getAnalyticsTrends", TrendSchema),
      async (request) => ok(await analytics.trends(request.query)),
    );
    app.get(
      "/analytics/top",
      read("The most clicked links (limit 10, at most 100)", "getAnalyticsTop", Type.Array(TopLinkSchema)),
      async (request) => ok(await analytics.top(request.query)),
    );
    app.get(
      "/analytics/tags",
      read(
        "Clicks by tag, most first (limit 10, at most 100; each link counts under every tag it has now) (jmp)",
        "getAnalyticsTags",
        Type.Array(TagClicksSchema),
      ),
      async (request) => ok(await analytics.tags(request.query)),
    );
    app.get(
      "/analytics/referrers",
      read("Click sources (needs detailed logging)", "getAnalyticsReferrers", Type.Array(ReferrerSchema)),
      async (request) => ok(await analytics.referrers(request.query)),
    );
    app.get(
      "/analytics/geo",
      read("Countries and cities (needs detailed logging)", "getAnalyticsGeo", Type.Array(GeoCountSchema)),
      async (request) => ok(await analytics.geo(request.query)),
    );
    app.get(
      "/analytics/devices",
      read(
        "Browsers, systems, device types and bots (needs detailed logging)",
        "getAnalyticsDevices",
        DevicesSchema,
      ),
      async (request) => ok(await analytics.devices(request.query)),
    );
    app.get(
      "/analytics/export",
      {
        config: scope,
        schema: {
          summary: "Detailed clicks as CSV (needs detailed logging; the header is always there)",
          operationId: "exportAnalytics",
          tags,
          querystring: AnalyticsQuerySchema,
          response: {
            200: {
              description: "CSV",
              content: { "text/csv": { schema: Type.Unsafe<Readable>({ type: "string" }) } },
            },
          },
        },
      },
      async (request, reply) => {
        const filename = analytics.exportFilename(request.query);
        return reply
          .type("text/csv; charset=utf-8")
          .header("Content-Disposition", `attachment; filename="${filename}"`)
          .send(Readable.from(analytics.exportCsv(request.query)));
      },
    );

    const perLink = (devices: boolean) => ({
      config: scope,
      schema: {
        summary: devices
          ? "One link's devices (needs detailed logging)"
          : "One link's clicks, trend and sources",
        operationId: devices ? "getLinkAnalyticsDevices" : "getLinkAnalytics",
        tags,
        params: Type.Object({ code: Type.String({ description: "The link code (may contain '/')" }) }),
        querystring: AnalyticsQuerySchema,
        response: { 200: Envelope(devices ? DevicesSchema : LinkAnalyticsSchema) },
      },
    });
    app.get("/links/:code/analytics", perLink(false), async (request) =>
      linkAnalyticsRoute(analytics, request.params.code, false, request.query),
    );
    app.get(
      "/analytics/summary",
      read(
        "Clicks and links clicked in the range and in the range of the same length before it (jmp)",
        "getAnalyticsSummary",
        SummarySchema,
      ),
      async (request) => ok(await analytics.summary(request.query)),
    );
    app.get(
      "/analytics/clicks",
      {
        config: scope,
        schema: {
          summary: "Recorded clicks, newest first, a page at a time (needs detailed logging) (jmp)",
          operationId: "listAnalyticsClicks",
          tags,
          querystring: ClicksQuerySchema,
          response: { 200: Envelope(ClickPageSchema) },
        },
      },
      async (request) => ok(await analytics.clicks(request.query)),
    );
    app.delete(
      "/links/:code/analytics",
      {
        config: { scope: "admin" },
        schema: {
          summary: "Erase a link's analytics (its own counts; audited) (jmp)",
          operationId: "eraseLinkAnalytics",
          tags,
          params: Type.Object({ code: Type.String({ description: "The link code (may contain '/')" }) }),
          response: { 200: Envelope(ErasedSchema) },
        },
      },
      async (request) => eraseLinkAnalyticsRoute(deps, request, request.params.code),
    );
    app.get("/links/:code/analytics/devices", perLink(true), async (request) =>
      linkAnalyticsRoute(analytics, request.params.code, true, request.query),
    );
  };
}
