/**
 * Admin API v1 — links, batches, CSV import/export and stats. Thin: parse (schemas), call the link service,
 * wrap in the envelope.
 */
import { Readable } from "node:stream";
import type {} from "@fastify/multipart";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { ConfigService } from "../config/service.js";
import { QR_LIMITS, qrOptions, renderQr, shortUrl } from "../links/qr.js";
import { Type } from "typebox";
import {
  badRequest,
  csvMissing,
  fileTooLarge,
  insufficientScope,
  invalidDate,
  invalidMultipart,
} from "../errors.js";
import { hasScope } from "../auth/scopes.js";
import { releaseMemorySoon } from "../event-loop.js";
import { csvHeader, csvRows, parseImportCsv } from "../links/csv.js";
import { parseRfc3339 } from "../util/time.js";
import { etagOf, type Link } from "../links/model.js";
import { normalizeTags, settingsResponse } from "../links/settings.js";
import { SettingsInputProperties } from "../links/settings-schema.js";
import type { ImportMode } from "../links/csv.js";
import type { LinkBatches } from "../links/batch.js";
import type { LinkService } from "../links/service.js";
import type { LinkFilter } from "../store/links-store.js";
import { CONTROL_CHARS, REDACTED } from "../text.js";
import { auditContextOf } from "./context.js";
import { ok, paginated } from "./envelope.js";
import {
  BatchResultSchema,
  Envelope,
  ImportResultSchema,
  LinkSchema,
  MessageData,
  Page,
  StatsSchema,
  TagChangeSchema,
  TagCountSchema,
  WrittenLinkSchema,
} from "./schemas.js";

const MAX_IMPORT_BYTES = 10 * 1024 * 1024;
/** Batches of 5000 links with long targets need more than the default body limit. */
const BATCH_BODY_LIMIT = 8 * 1024 * 1024;

const NullableString = (maxLength: number) =>
  Type.Optional(Type.Union([Type.String({ maxLength }), Type.Null()]));

const CreateBody = Type.Object(
  {
    code: NullableString(1024),
    target: Type.String({ maxLength: 65536 }),
    expires_at: NullableString(256),
    password: NullableString(1024),
    force: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
    ...SettingsInputProperties,
  },
  { additionalProperties: false },
);

/** `code` and `force` are accepted (Shortlinker clients send the create shape) and ignored. */
const UpdateBody = Type.Object(
  {
    target: Type.String({ maxLength: 65536 }),
    expires_at: NullableString(256),
    password: NullableString(1024),
    code: NullableString(1024),
    force: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
    ...SettingsInputProperties,
  },
  { additionalProperties: false },
);

const FilterQuery = {
  search: Type.Optional(Type.String({ maxLength: 512 })),
  created_after: Type.Optional(Type.String({ maxLength: 64 })),
  created_before: Type.Optional(Type.String({ maxLength: 64 })),
  only_expired: Type.Optional(Type.Boolean()),
  only_active: Type.Optional(Type.Boolean()),
  tags: Type.Optional(Type.String({ maxLength: 4096, description: "comma-separated tags" })),
  tags_mode: Type.Optional(
    Type.Union([Type.Literal("any"), Type.Literal("all")], {
      description: "any (default) or all of the tags",
    }),
  ),
};

const ListQuery = Type.Object({
  page: Type.Optional(Type.Integer()),
  page_size: Type.Optional(Type.Integer()),
  ...FilterQuery,
});

const CodeParams = Type.Object({ "*": Type.String() });

const QrQuery = Type.Object({
  format: Type.Optional(Type.Union([Type.Literal("svg"), Type.Literal("png")])),
  size: Type.Optional(Type.Integer({ minimum: QR_LIMITS.minSize, maximum: QR_LIMITS.maxSize })),
  margin: Type.Optional(Type.Integer({ minimum: 0, maximum: QR_LIMITS.maxMargin })),
  ecc: Type.Optional(Type.Union(["L", "M", "Q", "H"].map((l) => Type.Literal(l)))),
});

const PutQuery = Type.Object({ upsert: Type.Optional(Type.Boolean()) });

const PreconditionHeaders = Type.Object({
  "if-match": Type.Optional(Type.String({ maxLength: 1024 })),
  "if-none-match": Type.Optional(Type.String({ maxLength: 1024 })),
});

/** Where short links are served: `features.public_base_url`, else this request's own origin. */
function baseUrl(request: FastifyRequest, config: ConfigService): string {
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
function writeResponse(link: Link, base: string) {
  return { ...linkResponse(link, base), force: null };
}

function toFilter(query: {
  search?: string | undefined;
  created_after?: string | undefined;
  created_before?: string | undefined;
  only_expired?: boolean | undefined;
  only_active?: boolean | undefined;
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
    state: query.only_expired ? "expired" : query.only_active ? "active" : undefined,
  };
}

function dateParam(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  const time = parseRfc3339(value);
  if (time === null) {
    throw invalidDate(`Invalid ${name}: '${value}'. Use RFC3339 (e.g., 2024-01-01T00:00:00Z)`);
  }
  return time;
}

function clamp(value: number | undefined, min: number, max: number, fallback: number): number {
  return value === undefined ? fallback : Math.min(max, Math.max(min, value));
}

export function linksRoutes(
  links: LinkService,
  batches: LinkBatches,
  config: ConfigService,
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
        if (q.only_expired && q.only_active)
          throw badRequest("only_expired and only_active are mutually exclusive");
        const page = clamp(q.page, 1, Number.MAX_SAFE_INTEGER, 1);
        const pageSize = clamp(q.page_size, 1, 100, 20);
        const { links: rows, total } = await links.list({ ...toFilter(q), page, pageSize });
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

    app.get(
      "/links/export",
      {
        config: { scope: "links:read" },
        schema: {
          summary: "Export links as CSV",
          operationId: "exportLinksCsv",
          tags: ["links"],
          querystring: Type.Object({ ...FilterQuery, include_secrets: Type.Optional(Type.Boolean()) }),
          response: {
            200: {
              description: "CSV (Shortlinker's columns)",
              content: { "text/csv": { schema: Type.Unsafe<Readable>({ type: "string" }) } },
            },
          },
        },
      },
      async (request, reply) => {
        const filter = toFilter(request.query);
        const withHashes = request.query.include_secrets === true;
        if (withHashes && !hasScope(request.principal?.scopes ?? [], "admin")) {
          throw insufficientScope("include_secrets requires the scope 'admin'");
        }
        const stamp = new Date().toISOString().replace(/[-:]/g, "").replace("T", "_").slice(0, 15);
        reply
          .header("Content-Type", "text/csv; charset=utf-8")
          .header("Content-Disposition", `attachment; filename="shortlinks_export_${stamp}.csv"`);
        async function* csv() {
          yield csvHeader();
          for await (const batch of links.scan(filter)) yield csvRows(batch, withHashes);
        }
        return reply.send(Readable.from(csv()));
      },
    );

    app.post(
      "/links/import",
      {
        config: { scope: "links:write" },
        schema: {
          summary: "Import links from CSV (multipart/form-data: file, mode=skip|overwrite|error)",
          operationId: "importLinksCsv",
          tags: ["links"],
          consumes: ["multipart/form-data"],
          response: { 200: Envelope(ImportResultSchema) },
        },
      },
      async (request) => {
        if (!request.isMultipart()) {
          throw invalidMultipart("Expected multipart/form-data with a file field");
        }
        let mode: ImportMode = "skip";
        let file: Buffer | null = null;
        try {
          for await (const part of request.parts({
            limits: { fileSize: MAX_IMPORT_BYTES, files: 1, fields: 10 },
          })) {
            if (part.type === "file") {
              const content = await part.toBuffer();
              if (part.fieldname === "file") file = content;
            } else if (part.fieldname === "mode") {
              const value = String(part.value).toLowerCase();
              mode = value === "overwrite" || value === "error" ? value : "skip";
            }
          }
        } catch (err) {
          const code = (err as { code?: string }).code;
          if (code === "FST_REQ_FILE_TOO_LARGE") {
            throw fileTooLarge("File size exceeds maximum 10 MB");
          }
          throw invalidMultipart("Invalid multipart data");
        }
        if (!file || file.length === 0) {
          throw csvMissing();
        }
        try {
          const parsed = await parseImportCsv(file);
          return ok(await batches.import(parsed.rows, mode, parsed.failures, auditContextOf(request)));
        } finally {
          releaseMemorySoon();
        }
      },
    );

    app.post(
      "/links/batch",
      {
        config: { scope: "links:write" },
        bodyLimit: BATCH_BODY_LIMIT,
        schema: {
          summary: "Create links in a batch",
          operationId: "batchCreateLinks",
          tags: ["links"],
          body: Type.Object({ links: Type.Array(CreateBody) }, { additionalProperties: false }),
          response: { 200: Envelope(BatchResultSchema) },
        },
      },
      async (request) => ok(await batches.batchCreate(request.body.links, auditContextOf(request))),
    );

    app.put(
      "/links/batch",
      {
        config: { scope: "links:write" },
        bodyLimit: BATCH_BODY_LIMIT,
        schema: {
          summary: "Update links in a batch",
          operationId: "batchUpdateLinks",
          tags: ["links"],
          response: { 200: Envelope(BatchResultSchema) },
          body: Type.Object(
            {
              updates: Type.Array(
                Type.Object(
                  { code: Type.String({ maxLength: 1024 }), payload: UpdateBody },
                  { additionalProperties: false },
                ),
              ),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (request) => ok(await batches.batchUpdate(request.body.updates, auditContextOf(request))),
    );

    app.delete(
      "/links/batch",
      {
        config: { scope: "links:write" },
        bodyLimit: BATCH_BODY_LIMIT,
        schema: {
          summary: "Delete links in a batch",
          operationId: "batchDeleteLinks",
          tags: ["links"],
          response: { 200: Envelope(BatchResultSchema) },
          body: Type.Object(
            { codes: Type.Array(Type.String({ maxLength: 1024 })) },
            { additionalProperties: false },
          ),
        },
      },
      async (request) => ok(await batches.batchDelete(request.body.codes, auditContextOf(request))),
    );

    app.get(
      "/links/*",
      {
        config: { scope: "links:read" },
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
        // Codes never end in /qr (reserved), so this is the QR code of a link whose code has a slash.
        if (code.endsWith("/qr")) return sendQr(request, reply, code.slice(0, -3));
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
      async (request) => {
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
