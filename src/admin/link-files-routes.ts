/** Admin API v1 — links as CSV files: the streaming export and the multipart import. */
import { Readable } from "node:stream";
import type {} from "@fastify/multipart";
import { Type } from "typebox";
import { hasScope } from "../auth/scopes.js";
import { badRequest, csvMissing, fileTooLarge, insufficientScope, invalidMultipart } from "../errors.js";
import { releaseMemorySoon } from "../event-loop.js";
import type { LinkBatches } from "../links/batch.js";
import { csvHeader, csvRows, type ImportMode, parseImportCsv } from "../links/csv.js";
import { isPeerFormat, PEER_FORMATS, parsePeerExport } from "../links/peer-import.js";
import type { LinkService } from "../links/service.js";
import { auditContextOf } from "./context.js";
import { ok } from "./envelope.js";
import { FilterQuery, type LinksApp } from "./link-schemas.js";
import { toFilter } from "./link-views.js";
import { Envelope, ImportResultSchema } from "./schemas.js";

const MAX_IMPORT_BYTES = 10 * 1024 * 1024;

/** Added inline by linksRoutes, so the routes keep their place in the OpenAPI document. */
export function addLinkFileRoutes(app: LinksApp, links: LinkService, batches: LinkBatches): void {
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
        summary:
          "Import links from CSV (multipart/form-data: file, mode=skip|overwrite|error, " +
          "from=jmp|yourls|shlink|kutt|bitly for another shortener's export)",
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
      let from = "jmp";
      let file: Buffer | null = null;
      try {
        for await (const part of request.parts({
          limits: { fileSize: MAX_IMPORT_BYTES, files: 1, fields: 10 },
        })) {
          if (part.type === "file") {
            const content = await part.toBuffer();
            if (part.fieldname === "file") file = content;
          } else if (part.fieldname === "from") {
            from = String(part.value).trim().toLowerCase();
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
      if (from !== "jmp" && !isPeerFormat(from)) {
        throw badRequest(`from must be one of jmp, ${PEER_FORMATS.join(", ")}`);
      }
      if (!file || file.length === 0) {
        throw csvMissing();
      }
      try {
        const parsed = from === "jmp" ? await parseImportCsv(file) : await parsePeerExport(from, file);
        return ok(await batches.import(parsed.rows, mode, parsed.failures, auditContextOf(request)));
      } finally {
        releaseMemorySoon();
      }
    },
  );
}
