/**
 * Admin API v1 — links: list, create, read, replace, delete, QR codes, tags and stats. Thin: parse (schemas),
 * call the link service, wrap in the envelope. Batches are link-batch-routes.ts, CSV files link-files-routes.ts.
 */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyReply, FastifyRequest } from "fastify";
import { Type } from "typebox";
import type { ConfigService } from "../config/service.js";
import { analyticsQueryOf } from "../analytics/queries.js";
import { badRequest } from "../errors.js";
import { type AnalyticsDeps, eraseLinkAnalyticsRoute, linkAnalyticsRoute } from "./analytics-routes.js";
import type { LinkBatches } from "../links/batch.js";
import { etagOf } from "../links/model.js";
import { qrOptions, renderQr, shortUrl } from "../links/qr.js";
import type { LinkService } from "../links/service.js";
import { auditContextOf } from "./context.js";
import { ok, paginated } from "./envelope.js";
import { addLinkBatchRoutes } from "./link-batch-routes.js";
import { addLinkFileRoutes } from "./link-files-routes.js";
import {
  CodeParams,
  CreateBody,
  ListQuery,
  PreconditionHeaders,
  PutQuery,
  QrQuery,
  UpdateBody,
} from "./link-schemas.js";
import { baseUrl, clamp, linkResponse, sortOf, toFilter, writeResponse } from "./link-views.js";
import {
  Envelope,
  LinkSchema,
  MessageData,
  Page,
  StatsSchema,
  TagChangeSchema,
  TagCountSchema,
  WrittenLinkSchema,
} from "./schemas.js";

/** Longest first: `x/analytics/devices` is the devices of `x`, not the analytics of `x/analytics`. */
const ANALYTICS_SUFFIXES = [
  ["/analytics/devices", true],
  ["/analytics", false],
] as const;

/**
 * Whether the request's path itself ends with `suffix`: `/links/a/b/analytics` is the analytics of `a/b`, but
 * `/links/x%2Fanalytics` names the code `x/analytics` (which cannot exist: the suffix is reserved), as the
 * OpenAPI description's `/links/{code}` says.
 */
function literalPathEndsWith(url: string, suffix: string): boolean {
  const question = url.indexOf("?");
  return (question === -1 ? url : url.slice(0, question)).endsWith(suffix);
}

export function linksRoutes(
  links: LinkService,
  batches: LinkBatches,
  config: ConfigService,
  analytics: AnalyticsDeps,
): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/links",
      {
        config: { scope: "links:read" },
        schema: {
          summary: "List links",
          operationId: "listLinks",
          tags: ["links"],
          querystring: ListQuery,
          response: { 200: Page(LinkSchema) },
        },
      },
      async (request) => {
        const q = request.query;
        const page = clamp(q.page, 1, Number.MAX_SAFE_INTEGER, 1);
        const pageSize = clamp(q.page_size, 1, 100, 20);
        const { links: rows, total } = await links.list({
          ...toFilter(q),
          page,
          pageSize,
          sort: sortOf(q.sort),
        });
        const base = baseUrl(request, config);
        return paginated(
          rows.map((link) => linkResponse(link, base)),
          page,
          pageSize,
          total,
        );
      },
    );

    app.post(
      "/links",
      {
        config: { scope: "links:write" },
        schema: {
          summary: "Create a link",
          operationId: "createLink",
          tags: ["links"],
          body: CreateBody,
          response: { 201: Envelope(WrittenLinkSchema) },
        },
      },
      async (request, reply) => {
        const link = await links.create(request.body, auditContextOf(request));
        reply.code(201).header("ETag", etagOf(link));
        return ok(writeResponse(link, baseUrl(request, config)), "Link created");
      },
    );

    app.get(
      "/tags",
      {
        config: { scope: "links:read" },
        schema: {
          summary: "Tags in use, with how many links carry each",
          operationId: "listTags",
          tags: ["links"],
          response: { 200: Envelope(Type.Array(TagCountSchema)) },
        },
      },
      async () => ok(await links.tags()),
    );

    app.put(
      "/tags/:tag",
      {
        config: { scope: "links:write" },
        schema: {
          summary: "Rename a tag on every link (merging into an existing tag of that name)",
          operationId: "renameTag",
          tags: ["links"],
          params: Type.Object({ tag: Type.String({ maxLength: 1024 }) }),
          body: Type.Object({ name: Type.String({ maxLength: 1024 }) }, { additionalProperties: false }),
          response: { 200: Envelope(TagChangeSchema) },
        },
      },
      async (request) =>
        ok(await links.renameTag(request.params.tag, request.body.name, auditContextOf(request))),
    );

    app.delete(
      "/tags/:tag",
      {
        config: { scope: "links:write" },
        schema: {
          summary: "Remove a tag from every link",
          operationId: "deleteTag",
          tags: ["links"],
          params: Type.Object({ tag: Type.String({ maxLength: 1024 }) }),
          response: { 200: Envelope(TagChangeSchema) },
        },
      },
      async (request) => ok(await links.renameTag(request.params.tag, null, auditContextOf(request))),
    );

    app.get(
      "/stats",
      {
        config: { scope: "links:read" },
        schema: {
          summary: "Link statistics",
          operationId: "getStats",
          tags: ["links"],
          response: { 200: Envelope(StatsSchema) },
        },
      },
      async () => {
        const stats = await links.stats();
        return ok({
          total_links: stats.totalLinks,
          total_clicks: stats.totalClicks,
          active_links: stats.activeLinks,
        });
      },
    );

    addLinkFileRoutes(app, links, batches);
    addLinkBatchRoutes(app, batches);

    app.get(
      "/links/*",
      {
        config: {
          scope: "links:read",
          // The analytics of a code with a `/` (below) need what the analytics routes need, not links:read.
          scopeOf: (request) =>
            ANALYTICS_SUFFIXES.some(([suffix]) => literalPathEndsWith(request.url, suffix))
              ? "analytics:read"
              : "links:read",
        },
        schema: {
          summary: "Get a link",
          operationId: "getLink",
          tags: ["links"],
          params: CodeParams,
          response: { 200: Envelope(LinkSchema) },
        },
      },
      async (request, reply) => {
        const code = request.params["*"];
        // Codes never end in /qr, /analytics or /analytics/devices (reserved), so these are the QR code and the
        // analytics of a link whose code has a slash (one-segment codes have routes of their own).
        if (code.endsWith("/qr")) return sendQr(request, reply, code.slice(0, -3));
        for (const [suffix, devices] of ANALYTICS_SUFFIXES) {
          if (!literalPathEndsWith(request.url, suffix)) continue;
          const query = analyticsQueryOf(request.query as Record<string, unknown>);
          const answer = await linkAnalyticsRoute(
            analytics.queries,
            code.slice(0, -suffix.length),
            devices,
            query,
          );
          return (reply as FastifyReply).send(answer);
        }
        const link = await links.get(code);
        reply.header("ETag", etagOf(link));
        return ok(linkResponse(link, baseUrl(request, config)));
      },
    );

    app.get(
      "/links/:code/qr",
      {
        config: { scope: "links:read" },
        schema: {
          summary: "The QR code of a link's short URL (SVG or PNG)",
          operationId: "getLinkQr",
          tags: ["links"],
          params: Type.Object({ code: Type.String({ description: "The link code (may contain '/')" }) }),
          querystring: QrQuery,
          response: {
            200: {
              description: "The image",
              content: {
                "image/svg+xml": { schema: Type.String() },
                "image/png": { schema: Type.String({ contentEncoding: "binary" }) },
              },
            },
          },
        },
      },
      (request, reply) => sendQr(request, reply, request.params.code),
    );

    /** The QR code of `code`'s short URL, in the format and size the query asks for. */
    async function sendQr(request: FastifyRequest, reply: FastifyReply, code: string) {
      const options = qrOptions(request.query as Record<string, string | undefined>);
      if (typeof options === "string") throw badRequest(options);
      const link = await links.get(code);
      const image = await renderQr(shortUrl(baseUrl(request, config), link.code), options);
      return reply.header("Cache-Control", "private, max-age=300").type(image.type).send(image.body);
    }

    app.put(
      "/links/*",
      {
        config: { scope: "links:write" },
        schema: {
          summary: "Update a link (with ?upsert=true: create or replace)",
          operationId: "putLink",
          tags: ["links"],
          params: CodeParams,
          querystring: PutQuery,
          body: UpdateBody,
          headers: PreconditionHeaders,
          response: { 200: Envelope(WrittenLinkSchema), 201: Envelope(WrittenLinkSchema) },
        },
      },
      async (request, reply) => {
        const noneMatch = request.headers["if-none-match"];
        if (noneMatch !== undefined && noneMatch.trim() !== "*") {
          throw badRequest("If-None-Match supports only '*' (create only)");
        }
        const { link, created } = await links.put(
          request.params["*"],
          request.body,
          {
            upsert: request.query.upsert === true,
            createOnly: noneMatch !== undefined,
            ifMatch: request.headers["if-match"],
          },
          auditContextOf(request),
        );
        reply.header("ETag", etagOf(link)).code(created ? 201 : 200);
        return ok(writeResponse(link, baseUrl(request, config)), created ? "Link created" : "OK");
      },
    );

    app.delete(
      "/links/*",
      {
        config: { scope: "links:write" },
        schema: {
          summary: "Delete a link",
          operationId: "deleteLink",
          tags: ["links"],
          params: CodeParams,
          headers: PreconditionHeaders,
          response: { 200: Envelope(MessageData) },
        },
      },
      async (request, reply) => {
        // Codes never end in /analytics (reserved): this erases the analytics of a code with a slash.
        if (literalPathEndsWith(request.url, "/analytics")) {
          const code = request.params["*"].slice(0, -"/analytics".length);
          return (reply as FastifyReply).send(await eraseLinkAnalyticsRoute(analytics, request, code));
        }
        await links.remove(
          request.params["*"],
          { ifMatch: request.headers["if-match"] },
          auditContextOf(request),
        );
        return ok({ message: "Link deleted successfully" });
      },
    );
  };
}
